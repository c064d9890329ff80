"""Euclidean projection onto the capped simplex {w : sum(w) = 1, lo <= w_i <= hi}.

normalize_weights(v) = argmin ||w - v|| over that set, which is w_i = clip(v_i - tau, lo, hi) for
the tau that makes the sum 1 (found by bisection, then the last rounding error moved onto a
weight strictly inside its bounds). Unlike clip-then-divide it never pushes a weight out of its
bounds, and it keeps the order of the weights.
"""

from __future__ import annotations

import math


def normalize_weights(values: list[float], lo: float, hi: float) -> list[float]:
    n = len(values)
    if not n * lo <= 1.0 <= n * hi:
        raise ValueError(f"no {n} weights in [{lo}, {hi}] sum to 1")
    if any(not math.isfinite(v) for v in values):
        raise ValueError(f"weights must be finite, got {values}")
    low, high = min(values) - hi, max(values) - lo  # tau in [low, high]: sums go from n*hi to n*lo
    for _ in range(200):
        tau = (low + high) / 2
        total = sum(min(hi, max(lo, v - tau)) for v in values)
        if total > 1.0:
            low = tau
        else:
            high = tau
        if high - low <= 1e-17 * max(1.0, abs(tau)):
            break
    weights = [min(hi, max(lo, v - (low + high) / 2)) for v in values]
    residual = 1.0 - math.fsum(weights)
    for i in sorted(range(n), key=lambda i: -weights[i]):
        adjusted = weights[i] + residual
        if lo <= adjusted <= hi:
            weights[i] = adjusted
            break
    return weights
