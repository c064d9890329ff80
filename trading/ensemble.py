"""Weigh the models' votes into one score per row: the seed's MultiAIOrchestrator, over whole chunks.

score = sum(w_m * direction_m * confidence_m) / sum(w_m) over the models that voted on the row
(BUY +1, SELL -1, HOLD 0; abstentions and missing votes are left out and the weights renormalised
over the rest); 0 when no model voted or the voters' weights sum to 0. The broker turns scores
into actions with its thresholds (`trading.broker`); `action_names` gives the actions a decision
reports: BUY at >= entry_threshold, SELL at <= exit_threshold (hysteresis: exit_threshold lies
below), else HOLD.
"""

from __future__ import annotations

import numpy as np

from signals.model import ABSTAIN


def scores(action: np.ndarray, confidence: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """action, confidence: [model, row] codes and 0..1; weights: [model] or [model, row] -> score per row."""
    voted = action != ABSTAIN
    weight = np.where(voted, weights if weights.ndim == 2 else weights[:, None], 0.0)
    total = weight.sum(axis=0)
    signed = (weight * np.where(voted, action, 0) * confidence).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0.0, signed / np.where(total > 0.0, total, 1.0), 0.0)


def action_names(score: np.ndarray, enter: float, exit_: float) -> list[str]:
    """What each score asks for: BUY at >= `enter`, SELL (close a long) at <= `exit_`, else HOLD."""
    names = np.array(["SELL", "HOLD", "BUY"], dtype=object)
    return names[np.where(score >= enter, 2, np.where(score <= exit_, 0, 1))].tolist()
