"""Versioned model weights (topic `rl.weights`), published by the learner, adopted by the trader;
and commands to the learner (topic `rl.command`), such as a rollback."""

from __future__ import annotations

from messages.base import Message


class Weights(Message, frozen=True):
    version: int
    effective_from: int          # ms UTC: bars at or after this time use these weights
    weights: dict[str, float]    # model -> weight; sums to 1.0
    cause: list[str]             # trade ids, or "rollback:<V>", or "initial"


class WeightsCommand(Message, frozen=True):
    rollback_to: int             # publish a new version equal to this one
    request_id: str              # echoed in the new version's cause, so the sender knows it was done
