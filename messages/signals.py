"""Model votes (topic `sig.<model>`), batched exactly like the klines they answer.

Row i is the vote of `model` on (symbol[i], bar_time[i]); `action[i]` is None when the model
abstains, and `reason[i]` then says why.
"""

from __future__ import annotations

from typing import Literal

from messages.base import Message

Action = Literal["BUY", "SELL", "HOLD"]


class VoteBatch(Message, frozen=True):
    model: str
    version: str
    symbol: list[str]
    bar_time: list[int]
    action: list[Action | None]
    confidence: list[float]  # 0..1
    reason: list[str]
