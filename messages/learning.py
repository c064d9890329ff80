"""Learning messages: versioned weights (`rl.weights`), commands to the learner (`rl.command`),
and each expert's shadow-book credit (`rl.credit`).

`Weights.effective_from` is the first bar (open time) the trader decides with that version: the
learner computes a version from what happened before that bar, and the trader applies it exactly
from there, waiting only if it reaches the bar before the version arrives.
"""

from __future__ import annotations

from messages.base import Message


class Weights(Message, frozen=True):
    version: int
    effective_from: int  # ms UTC: bars at or after this time use these weights
    weights: dict[str, float]  # model -> weight; sums to 1.0
    cause: list[str]  # "initial", "update", "rollback:<V>", "policy:<ID>", ...
    state: bytes = b""  # the learner's rule state after it (a rollback to it restores it too)


class WeightsCommand(Message, frozen=True):
    rollback_to: int  # publish a new version equal to this one
    request_id: str  # echoed in the new version's cause, so the sender knows it was done


class Credit(Message, frozen=True):
    """Per chunk: every expert's shadow-book net return over each tick, and its equity after the chunk."""

    experts: list[str]  # the models, then the reference experts "cash" and "hold"
    bar_time: list[int]  # ms UTC, one per tick of the chunk
    returns: list[list[float]]  # [expert][tick]: net return of that expert's book over the tick (fraction)
    equity: list[float]  # [expert]: book equity after the chunk (quote currency)
