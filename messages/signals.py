"""Model votes (topic `sig.<model>`), batched exactly like the klines they answer.

Row i is the vote of `model` on (symbol[i], bar_time[i]). Columns travel as array bytes
(`messages.columns`): `action_code` is int8 — BUY 1, SELL -1, HOLD 0, ABSTAIN 2 (no vote; the
row's reason says why) — and `action` gives the same as "BUY", "SELL", "HOLD" or None; symbols and
reasons travel as their distinct values and a code per row. Build one with
`VoteBatch.of(model=..., version=..., symbol=[...], bar_time=[...], action=[...], confidence=[...], reason=[...])`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec
import numpy as np

from messages.base import Message
from messages.columns import CODE, FLOAT, INT, SMALL, check_rows, factorized, names, packed, view

Action = Literal["BUY", "SELL", "HOLD"]
BUY, SELL, HOLD, ABSTAIN = 1, -1, 0, 2
ACTION_NAMES: tuple[Action | None, ...] = ("SELL", "HOLD", "BUY", None)  # indexed by code + 1
ACTION_CODES = {"BUY": BUY, "SELL": SELL, "HOLD": HOLD, None: ABSTAIN}
VALID_ACTION_BYTES = np.array([SELL, HOLD, BUY, ABSTAIN], SMALL).tobytes()


class VoteBatch(Message, frozen=True, tag="VoteBatch/3"):
    model: str
    version: str
    symbols: list[str]  # the distinct symbols of the rows
    raw_symbol: bytes = msgspec.field(name="symbol_code")  # uint16 a row: index into `symbols`
    raw_bar_time: bytes = msgspec.field(name="bar_time")  # int64 ms UTC, the bar voted on
    raw_action: bytes = msgspec.field(name="action")  # int8 action codes
    raw_confidence: bytes = msgspec.field(name="confidence")  # float64, 0..1
    reasons: list[str]  # the distinct reasons of the rows
    raw_reason: bytes = msgspec.field(name="reason_code")  # uint16 a row: index into `reasons`

    symbol_index = property(lambda self: view(self.raw_symbol, CODE))
    bar_time = property(lambda self: view(self.raw_bar_time, INT))
    action_code = property(lambda self: view(self.raw_action, SMALL))
    confidence = property(lambda self: view(self.raw_confidence, FLOAT))

    def __post_init__(self) -> None:
        check_rows(
            "VoteBatch",
            {"symbol": (self.symbols, self.raw_symbol), "reason": (self.reasons, self.raw_reason)},
            {
                "bar_time": (self.raw_bar_time, INT),
                "action": (self.raw_action, SMALL),
                "confidence": (self.raw_confidence, FLOAT),
            },
        )
        if self.raw_action.translate(None, VALID_ACTION_BYTES):
            raise ValueError("VoteBatch: an action code outside -1..2")

    @classmethod
    def of(
        cls,
        *,
        model: str,
        version: str,
        symbol: Sequence[str] | np.ndarray,
        bar_time: Sequence[int] | np.ndarray,
        action: Sequence[str | None] | np.ndarray,
        confidence: Sequence[float] | np.ndarray,
        reason: Sequence[str] | np.ndarray,
        **envelope: Any,
    ) -> VoteBatch:
        """A batch from per-row values; `action` as names ("BUY", None, ...) or as an int8 array of codes."""
        codes = action if isinstance(action, np.ndarray) else [ACTION_CODES[name] for name in action]
        symbols, raw_symbol = factorized(symbol)
        reasons, raw_reason = factorized(reason)
        return cls(
            model=model,
            version=version,
            symbols=symbols,
            raw_symbol=raw_symbol,
            raw_bar_time=packed(bar_time, INT),
            raw_action=packed(codes, SMALL),
            raw_confidence=packed(confidence, FLOAT),
            reasons=reasons,
            raw_reason=raw_reason,
            **envelope,
        )

    @property
    def rows(self) -> int:
        return len(self.raw_bar_time) // INT.itemsize

    @property
    def symbol(self) -> list[str]:
        return names(self.symbols, self.raw_symbol)

    @property
    def action(self) -> list[str | None]:
        found: list[str | None] = np.array(ACTION_NAMES, dtype=object)[self.action_code.astype(np.int64) + 1].tolist()
        return found

    @property
    def reason(self) -> list[str]:
        return names(self.reasons, self.raw_reason)

    def columns(self) -> dict[str, list[Any]]:
        """Every column as a plain list, for exports."""
        return {
            "symbol": self.symbol,
            "bar_time": self.bar_time.tolist(),
            "action": self.action,
            "confidence": self.confidence.tolist(),
            "reason": self.reason,
        }
