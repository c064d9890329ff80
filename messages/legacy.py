"""Message shapes the bus no longer carries but recordings of older schema versions hold.

Produces `KlineBatchV2` and `VoteBatchV2`: schema version 2's list-per-column batches, under the
wire tags they were recorded with ("KlineBatch", "VoteBatch"). `storage.schema.current` turns them
into today's columnar `KlineBatch` and `VoteBatch`. (Version 1's per-row `Decision` is in
`messages.trading`.)
"""

from __future__ import annotations

from messages.base import Message
from messages.signals import Action


class KlineBatchV2(Message, frozen=True, tag="KlineBatch"):
    interval_ms: int
    symbol: list[str]
    open_time: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]
    quote_volume: list[float]
    trades: list[float]
    taker_buy_base: list[float]
    synthetic: bool = False


class VoteBatchV2(Message, frozen=True, tag="VoteBatch"):
    model: str
    version: str
    symbol: list[str]
    bar_time: list[int]
    action: list[Action | None]
    confidence: list[float]
    reason: list[str]
