"""lgbm_ai's labels: does a long held over the next `horizon` decision bars pay its round trip?

Consumes the samples' open times, symbols and closes (decision bars) and the horizon in bars;
produces per sample the label — 1 when the close `horizon` bars later is above the close now by
more than both fees and both slippages, else 0; NaN when those bars are not all there — and the
time the label becomes known: the close of the last bar of its window. A model trained at time T
learns only from labels known by T (walk-forward, purged: no label reaches past T).
"""

from __future__ import annotations

import numpy as np


def forward_labels(
    open_time: np.ndarray, symbol: np.ndarray, close: np.ndarray, horizon: int, decision_ms: int, cost: float
) -> tuple[np.ndarray, np.ndarray]:
    """(label, known at) per sample; NaN and the largest int64 where the window is incomplete."""
    label = np.full(len(open_time), np.nan)
    known = np.full(len(open_time), np.iinfo(np.int64).max, np.int64)
    order = np.lexsort((open_time, symbol))
    for sym in np.unique(symbol):
        rows = order[symbol[order] == sym]
        if len(rows) <= horizon:
            continue
        times, closes = open_time[rows], close[rows]
        now, later = np.arange(len(rows) - horizon), np.arange(horizon, len(rows))
        complete = times[later] - times[now] == horizon * decision_ms
        net = np.log(closes[later] / closes[now]) - cost
        label[rows[now[complete]]] = (net[complete] > 0).astype(float)
        known[rows[now[complete]]] = times[later[complete]] + decision_ms
    return label, known
