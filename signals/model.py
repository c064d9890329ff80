"""The protocol every signal model implements, the columnar votes it returns, and a per-symbol base.

`ChunkModel`: `vote(chunk) -> Votes` (or an awaitable of it, for a model that trains or asks a
server), `version()`, `snapshot() -> bytes`, `restore(bytes, journal)`; a model whose history is
too big to snapshot at every checkpoint hands it over in parts (`take_journal`, `horizon`). Action codes: BUY 1, SELL -1,
HOLD 0, ABSTAIN 2 (no vote; the reason says why). `PerSymbolModel` runs each symbol's usable rows
of a chunk, in time order, through `vote_series` with that symbol's state, and abstains on every
other row with the row's problem as the reason.

    >>> from signals.technical import TechnicalRules
    >>> from config.models import TradingAiConfig
    >>> model = TechnicalRules(TradingAiConfig(), symbols=["BTCUSDT"])
    >>> votes = model.vote(chunk)           # doctest: +SKIP
    >>> votes.action[:3], votes.reason[:3]  # doctest: +SKIP
    (array([2, 2, 2], dtype=int8), array(['warm-up', 'warm-up', 'warm-up'], dtype=object))
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import msgspec
import numpy as np

from marketdata.chunk import PROBLEM_REASONS, BarChunk
from messages.signals import ABSTAIN as ABSTAIN  # the action codes, re-exported for the models
from messages.signals import ACTION_CODES as ACTION_CODES
from messages.signals import ACTION_NAMES as ACTION_NAMES
from messages.signals import BUY as BUY
from messages.signals import HOLD as HOLD
from messages.signals import SELL as SELL

WARM_UP = "warm-up"


@dataclass
class Votes:
    action: np.ndarray  # int8 codes
    confidence: np.ndarray  # float64, 0..1
    reason: np.ndarray  # object array of str
    segments: list[tuple[int, int, str]] | None = None  # (first row, end row, model version); None: one

    @staticmethod
    def abstaining(chunk: BarChunk) -> Votes:
        """Every row an abstention; rows with a problem say which."""
        reasons = np.array(PROBLEM_REASONS, dtype=object)[chunk.problem]
        return Votes(np.full(len(chunk), ABSTAIN, np.int8), np.zeros(len(chunk)), reasons)

    def names(self) -> list[str | None]:
        """The actions as the wire carries them: "BUY", "SELL", "HOLD" or None."""
        return np.array(ACTION_NAMES, dtype=object)[self.action.astype(np.int64) + 1].tolist()


class ChunkModel(Protocol):
    def version(self) -> str: ...
    def vote(self, chunk: BarChunk) -> Votes | Awaitable[Votes]: ...
    def snapshot(self) -> bytes: ...
    def take_journal(self) -> bytes | None: ...  # history added since the last call, or None
    def horizon(self) -> int | None: ...  # journal entries before this bar time are no longer needed
    def restore(self, raw: bytes, journal: list[bytes]) -> None: ...


class PerSymbolModel:
    """Base of the models whose state is one Struct per symbol (`State`), voted symbol by symbol."""

    State: ClassVar[type[msgspec.Struct]]

    def __init__(self, symbols: list[str]):
        self.symbols = list(symbols)
        self.states: dict[int, Any] = {}
        self._decoder = msgspec.msgpack.Decoder(dict[str, self.State])

    def version(self) -> str:
        raise NotImplementedError

    def vote(self, chunk: BarChunk) -> Votes:
        votes = Votes.abstaining(chunk)
        for symbol, rows in chunk.rows_by_symbol():
            state = self.states.get(symbol)
            if state is None:
                state = self.states[symbol] = self.State()
            self.vote_series(state, chunk, rows, votes)
        return votes

    def vote_series(self, state: Any, chunk: BarChunk, rows: np.ndarray, votes: Votes) -> None:
        """Advance `state` over `rows` (one symbol, time order) and write their votes into `votes`."""
        raise NotImplementedError

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode({self.symbols[i]: state for i, state in self.states.items()})

    def take_journal(self) -> bytes | None:
        return None

    def horizon(self) -> int | None:
        return None

    def restore(self, raw: bytes, journal: list[bytes] | None = None) -> None:
        index = {symbol: i for i, symbol in enumerate(self.symbols)}
        self.states = {index[symbol]: state for symbol, state in self._decoder.decode(raw).items() if symbol in index}


def choose(codes: np.ndarray, vocabulary: tuple[str, ...]) -> np.ndarray:
    """Reasons from a fixed vocabulary by code (no string formatting per row)."""
    return np.array(vocabulary, dtype=object)[codes]
