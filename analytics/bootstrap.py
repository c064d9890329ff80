"""How sure a Sharpe difference is: a moving-block bootstrap of paired daily returns.

Consumes two strategies' daily returns over the same days (the learned policy's and a baseline's,
stitched over the folds' test windows), the block length in days, the number of resamples and a
seed; produces the observed difference of annualised Sharpe ratios (first minus second) and its
95 % percentile interval. Days are resampled in blocks of consecutive days, the same blocks for
both strategies, so the dependence between days and between the two strategies is kept.
A strategy with no variance on a resample (cash) has Sharpe 0 there. `chance_above_zero` resamples one
strategy's days alone: the share of resamples where it beats cash (`train`'s evidence on validation).
`best_above_zero` is White's reality check against cash over every strategy tried at once: how sure
the days are that the best of them beats cash, for having tried them all (`train`'s evidence of the
family: with many configurations, one looks good on a short window by chance).
"""

from __future__ import annotations

import math

import numpy as np

LEVEL = 0.95


def annualised_sharpe(returns: np.ndarray, axis: int = -1) -> np.ndarray:
    """mean / sample std of daily returns, times sqrt(365); 0 where the std is 0."""
    std = np.std(returns, axis=axis, ddof=1)
    mean = np.mean(returns, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        found = np.where(std > 0, mean / np.where(std > 0, std, 1.0), 0.0)
    return found * math.sqrt(365)


def block_indices(days: int, block: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    """[samples, days] day indices: random blocks of `block` consecutive days, wrapping round."""
    block = max(1, min(block, days))
    blocks = math.ceil(days / block)
    starts = rng.integers(0, days, size=(samples, blocks))
    return ((starts[:, :, None] + np.arange(block)) % days).reshape(samples, -1)[:, :days]


def sharpe_difference(first: np.ndarray, second: np.ndarray, *, block_days: int, samples: int,
                      seed: int) -> dict[str, float | None]:
    """{difference, low, high}: the observed Sharpe(first) - Sharpe(second) and its 95 % interval
    (None with fewer than two days)."""
    if len(first) != len(second):
        raise ValueError(f"paired returns of different lengths: {len(first)} and {len(second)} days")
    if len(first) < 2:
        return {"difference": None, "low": None, "high": None}
    observed = float(annualised_sharpe(first) - annualised_sharpe(second))
    index = block_indices(len(first), block_days, samples, np.random.default_rng(seed))
    resampled = annualised_sharpe(first[index]) - annualised_sharpe(second[index])
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(resampled, [tail, 100 - tail])
    return {"difference": observed, "low": float(low), "high": float(high)}


def chance_above_zero(returns: np.ndarray, *, block_days: int, samples: int, seed: int) -> float:
    """The share of block-bootstrap resamples of `returns` whose Sharpe is above 0 (0 with fewer than
    two days, and for a flat strategy): how sure the days are that the strategy beats cash."""
    if len(returns) < 2:
        return 0.0
    index = block_indices(len(returns), block_days, samples, np.random.default_rng(seed))
    return float(np.mean(annualised_sharpe(returns[index]) > 0))


def best_above_zero(returns: np.ndarray, *, block_days: int, samples: int, seed: int) -> float:
    """returns: [strategy, day]. The share of block-bootstrap resamples (the same days for every
    strategy) in which the best observed Sharpe exceeds the best that strategies with no edge reach
    by chance — each strategy's resampled Sharpe minus its observed one (White's reality check, its
    1 - p). 0 with no strategy or fewer than two days."""
    strategies, days = returns.shape
    if strategies == 0 or days < 2:
        return 0.0
    observed = annualised_sharpe(returns)
    index = block_indices(days, block_days, samples, np.random.default_rng(seed))
    by_chance = np.max(annualised_sharpe(returns[:, index]) - observed[:, None], axis=0)
    return float(np.mean(by_chance < observed.max()))
