"""Weigh one bar's votes into a score and an action.

score = sum(w_m * direction_m * confidence_m) / sum(w_m) over the models that voted (BUY +1,
SELL -1, HOLD 0; abstentions and missing votes are left out and the weights renormalised over the
rest). BUY when score >= threshold, SELL when score <= -threshold, else HOLD. No vote at all, or
voters with zero total weight, is HOLD with score 0.
"""

from __future__ import annotations

from messages.signals import Action
from messages.trading import ModelVote

DIRECTION = {"BUY": 1.0, "SELL": -1.0, "HOLD": 0.0}


def combine(votes: list[ModelVote], weights: dict[str, float], threshold: float) -> tuple[float, Action]:
    voted = [vote for vote in votes if vote.action is not None]
    total = sum(weights.get(vote.model, 0.0) for vote in voted)
    if total <= 0.0:
        return 0.0, "HOLD"
    score = sum(weights.get(v.model, 0.0) * DIRECTION[v.action] * v.confidence for v in voted) / total
    action: Action = "BUY" if score >= threshold else "SELL" if score <= -threshold else "HOLD"
    return score, action
