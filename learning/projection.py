"""Euclidean projection onto the capped simplex {w : sum(w) = 1, lo <= w_i <= hi}.

normalize_weights(v) = argmin ||w - v|| over that set, which is w_i = clip(v_i - tau, lo, hi) for
the tau that makes the sum 1. The sum is piecewise linear in tau with its kinks at v_i - hi and
v_i - lo: between the two kinks where it crosses 1, the weights strictly inside their bounds give
tau exactly; the last rounding error is then moved onto a weight strictly inside its bounds.
Unlike clip-then-divide it never pushes a weight out of its bounds, and it keeps the order of the
weights.
"""

from __future__ import annotations

import math


def normalize_weights(values: list[float], lo: float, hi: float) -> list[float]:
    n = len(values)
    if not n * lo <= 1.0 <= n * hi:
        raise ValueError(f"no {n} weights in [{lo}, {hi}] sum to 1")
    if any(not math.isfinite(v) for v in values):
        raise ValueError(f"weights must be finite, got {values}")
    kinks = sorted({v - hi for v in values} | {v - lo for v in values})
    left = kinks[0]
    for right in kinks[1:]:
        if _total(values, right, lo, hi) <= 1.0:
            break
        left = right
    middle = (left + right) / 2 if len(kinks) > 1 else left
    free = [v for v in values if lo < v - middle < hi]
    bound = sum(hi if v - middle >= hi else lo for v in values if not lo < v - middle < hi)
    tau = (math.fsum(free) + bound - 1.0) / len(free) if free else left
    weights = [min(hi, max(lo, v - tau)) for v in values]
    residual = 1.0 - math.fsum(weights)
    for i in sorted(range(n), key=lambda i: -weights[i]):
        adjusted = weights[i] + residual
        if lo <= adjusted <= hi:
            weights[i] = adjusted
            break
    return weights


def _total(values: list[float], tau: float, lo: float, hi: float) -> float:
    return sum(min(hi, max(lo, v - tau)) for v in values)
