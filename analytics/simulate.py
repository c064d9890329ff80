"""What other weights would have done on the same bars and votes: the baselines of every report.

Consumes a `Recording` (its kline batches and every model's votes — the votes do not depend on the
weights, so they are the same for any weights) and fixed weights; produces the trades and the
marked-to-market equity the trader would have had, through `learning.simulate` — the trader's own
`Desk` on the recording's own chunks, so with the weights of a frozen session it reproduces that
session's trades exactly. Also buy-and-hold: an equal-weight portfolio of the symbols, bought at
each one's first open in a window and marked at every close, fees and slippage paid on both sides.
"""

from __future__ import annotations

import numpy as np

from analytics.recording import Recording
from config.schema import PeperConfig, TraderConfig
from config.topology import topology_of
from learning.engine import project
from learning.simulate import Simulation, simulate
from trading.assembly import Ready
from trading.shadow import ShadowBooks


def with_weights(recording: Recording, weights: dict[str, float], config: PeperConfig, models: list[str],
                 chunks=None) -> Simulation:
    return simulate(chunks if chunks is not None else recording.chunks(models, config.test.symbols), config,
                    recording.interval_ms, learn=False, weights=weights)


def as_traded(recording: Recording, config: PeperConfig, chunks=None) -> Simulation:
    """The session again, with the versions it recorded: its trades and its marked-to-market equity."""
    models = topology_of(config).models
    return simulate(chunks if chunks is not None else recording.chunks(models, config.test.symbols), config,
                    recording.interval_ms, learn=False, versions=recording.published)


def shadow_equity(recording: Recording, config: PeperConfig, models: list[str], chunks=None) -> tuple[list[int], dict[str, list[float]]]:
    """Every expert's shadow book (each model alone, cash, hold) over the recording: (the bar time
    ending each chunk, expert -> equity then) — whether or not a learner ran in the session."""
    books = ShadowBooks(models, config.trader, config.test.symbols)
    times: list[int] = []
    series: dict[str, list[float]] = {expert: [] for expert in books.experts}
    for ready in chunks if chunks is not None else recording.chunks(models, config.test.symbols):
        equity = books.run(ready).equity
        times.append(int(ready.ticks[-1]))
        for expert, value in zip(books.experts, equity.tolist()):
            series[expert].append(value)
    return times, series


def fixed_weight_sets(config: PeperConfig, models: list[str], initial: dict[str, float]) -> dict[str, dict[str, float]]:
    """The fixed-weights baselines: equal weights, the initial weights, each model alone (the
    reference experts, when configured, weigh nothing in them)."""
    experts = [e for e in initial if e not in models]
    return {
        "equal_weights": {**{m: 1.0 / len(models) for m in models}, **dict.fromkeys(experts, 0.0)},
        "initial_weights": project(initial, config.learning),
        **{model: {m: float(m == model) for m in initial} for model in models},
    }


def buy_and_hold(chunks: list[Ready], trader: TraderConfig, start: int = 0,
                 end: int = 2**63 - 1) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(tick times, portfolio value at each tick's close, each symbol's PnL at the end) over ticks in
    [start, end): equal parts of the initial equity in every symbol, bought at its first open there,
    marked at every close as if sold there (fees and slippage on both sides); cash until its first bar."""
    ticks = np.unique(np.concatenate([ready.ticks for ready in chunks])) if chunks else np.empty(0, np.int64)
    lo, hi = np.searchsorted(ticks, [start, end])
    ticks = ticks[lo:hi]
    columns: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for ready in chunks:
        if not len(ready.ticks) or ready.ticks[-1] < start or ready.ticks[0] >= end:
            continue
        chunk = ready.chunk
        for symbol, rows in chunk.rows_by_symbol():
            inside = rows[(chunk.open_time[rows] >= start) & (chunk.open_time[rows] < end)]
            if len(inside):
                columns.setdefault(symbol, []).append((chunk.open_time[inside], chunk.open[inside], chunk.close[inside]))
    if not columns:
        return ticks, np.full(len(ticks), trader.initial_equity), []
    share = trader.initial_equity / len(columns)
    cost, proceeds = 1 + trader.fee_rate + trader.slippage, 1 - trader.fee_rate - trader.slippage
    value = np.zeros(len(ticks))
    pnls = []
    for symbol in sorted(columns):
        times, opens, closes = (np.concatenate(parts) for parts in zip(*columns[symbol]))
        marked = share / (opens[0] * cost) * closes * proceeds
        at = np.searchsorted(times, ticks, side="right") - 1   # the symbol's last bar at or before each tick
        value += np.where(at >= 0, marked[np.maximum(at, 0)], share)
        pnls.append(float(marked[-1] - share))
    return ticks, value, pnls
