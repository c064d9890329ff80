"""Ensemble decisions and paper trades (topics `decision`, `trade.open`, `trade.closed`).

`DecisionBatch` is columnar: one per chunk in replay (per tick live), row i the ensemble's
decision on the decision bar (symbol[i], bar_time[i]) with the weights version used, the score
(the weights' mixture of the experts' signals, -1..1), the target weight (the mixture of their
sized portfolios, a signed fraction of equity), the order it gave (BUY: the position grows, SELL:
it shrinks, HOLD: none) and every enabled model's vote (`vote_action[m][i]`, None for an
abstention or a missing vote).
`Decision` is the per-row form of schema version 1 recordings: it is never published any more,
only decoded when an old recording is read.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from messages.base import Message
from messages.signals import Action


class ModelVote(msgspec.Struct, frozen=True):
    model: str
    action: Action | None  # None: abstained or missed the deadline
    confidence: float


class DecisionBatch(Message, frozen=True):
    symbol: list[str]
    bar_time: list[int]  # ms UTC, bar open time
    weights_version: list[int]
    score: list[float]  # -1..1
    action: list[Action]
    models: list[str]  # the enabled models, in order
    vote_action: list[list[Action | None]]  # [model][row]
    vote_confidence: list[list[float]]  # [model][row], 0..1
    target: list[float] = msgspec.field(
        default_factory=list
    )  # fraction of equity (signed); [] in recordings before schema 4

    def votes(self, row: int) -> list[ModelVote]:
        return [
            ModelVote(model, actions[row], confidences[row])
            for model, actions, confidences in zip(self.models, self.vote_action, self.vote_confidence)
        ]


class Decision(Message, frozen=True):
    """Schema version 1: one decision per message (read from old recordings only)."""

    symbol: str
    bar_time: int
    weights_version: int
    score: float
    action: Action
    votes: list[ModelVote]


class TradeOpen(Message, frozen=True):
    trade_id: str
    symbol: str
    side: Literal["LONG", "SHORT"]
    entry_time: int
    entry_price: float
    quantity: float
    votes: list[ModelVote]


class TradeClosed(Message, frozen=True):
    trade_id: str
    symbol: str
    side: Literal["LONG", "SHORT"]
    entry_time: int
    entry_price: float
    exit_time: int
    exit_price: float
    quantity: float
    fees: float  # quote currency
    pnl: float  # net of fees, quote currency
    ret: float  # net return, fraction of the entry notional
    exit_reason: str
    votes: list[ModelVote]
    remaining: float = 0.0  # units of the symbol's position still held after this fill (0: flat)
