"""Ensemble decisions and paper trades (topics `decision`, `trade.open`, `trade.closed`)."""

from __future__ import annotations

from typing import Literal

import msgspec

from messages.base import Message
from messages.signals import Action


class ModelVote(msgspec.Struct, frozen=True):
    model: str
    action: Action | None  # None: abstained or missed the deadline
    confidence: float


class Decision(Message, frozen=True):
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
    fees: float      # quote currency
    pnl: float       # net of fees, quote currency
    ret: float       # net return, fraction of the entry notional
    exit_reason: str
    votes: list[ModelVote]
