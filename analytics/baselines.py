"""What other weights would have done on the same bars and votes: the baselines of every report.

Consumes voted chunks (the bars, decision bars and every model's votes — the votes do not depend on
the weights, so they are the same for any weights) and fixed weights; produces the trades, the
marked-to-market equity, the fills and the exposure the trader would have had, through
`learning.offline` — the trader's own `Desk` on the recording's own chunks, so with the weights of a
frozen session it reproduces that session's trades exactly. Also buy-and-hold: an equal-weight
portfolio of the symbols, bought at each one's first open in a window and marked at every close,
fees and slippage paid on both sides; and each expert's shadow book over a recording.
"""

from __future__ import annotations

import numpy as np

from analytics.recording import Recording
from common.times import INTERVAL_MS
from config.schema import PeperConfig, TraderConfig
from config.topology import topology_of
from learning.engine import project
from learning.offline import Simulation, simulate
from trading.assembly import VotedChunk
from trading.shadow import ShadowBooks


def recorded_chunks(recording: Recording, config: PeperConfig) -> list[VotedChunk]:
    return recording.chunks(
        topology_of(config).models, list(config.test.symbols), INTERVAL_MS[config.feed.decision_interval]
    )


def with_weights(
    chunks: list[VotedChunk], weights: dict[str, float], config: PeperConfig, cuts: list[int] = ()
) -> Simulation:
    return simulate(chunks, config, learn=False, weights=weights, cuts=cuts)


def as_traded(
    recording: Recording, config: PeperConfig, chunks: list[VotedChunk] | None = None, cuts: list[int] = ()
) -> Simulation:
    """The session again, with the versions it recorded: its trades and its marked-to-market equity."""
    return simulate(
        chunks if chunks is not None else recorded_chunks(recording, config),
        config,
        learn=False,
        versions=recording.published,
        cuts=cuts,
    )


def shadow_equity(chunks: list[VotedChunk], config: PeperConfig) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every expert's shadow book (each model alone, cash, hold, hold_vt) over the chunks: (every tick,
    expert -> its equity at each tick's close) — whether or not a learner ran in the session."""
    books = ShadowBooks(
        topology_of(config).models, config.trader, config.test.symbols, INTERVAL_MS[config.feed.decision_interval]
    )
    initial = np.full(len(books.experts), config.trader.initial_equity)
    times, paths = [], []
    for voted in chunks:
        returns = books.run(voted).returns
        paths.append(initial[:, None] * np.cumprod(1 + returns, axis=1))
        initial = paths[-1][:, -1]
        times.append(voted.ticks)
    if not times:
        return np.empty(0, np.int64), {expert: np.empty(0) for expert in books.experts}
    path = np.concatenate(paths, axis=1)
    return np.concatenate(times), {expert: path[e] for e, expert in enumerate(books.experts)}


def fixed_weight_sets(config: PeperConfig, models: list[str], initial: dict[str, float]) -> dict[str, dict[str, float]]:
    """The fixed-weights baselines: equal weights over the models, the initial weights, each model
    alone (the reference experts weigh nothing in the first and the last)."""
    experts = [e for e in initial if e not in models]
    return {
        "equal_weights": {**{m: 1.0 / len(models) for m in models}, **dict.fromkeys(experts, 0.0)},
        "initial_weights": project(initial, config.learning),
        **{model: {m: float(m == model) for m in initial} for model in models},
    }


def buy_and_hold(
    chunks: list[VotedChunk], trader: TraderConfig, start: int = 0, end: int = 2**63 - 1
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(tick times, portfolio value at each tick's close, each symbol's PnL at the end) over ticks in
    [start, end): equal parts of the initial equity in every symbol, bought at its first open there,
    marked at every close as if sold there (fees and slippage on both sides); cash until its first bar."""
    ticks = np.unique(np.concatenate([voted.ticks for voted in chunks])) if chunks else np.empty(0, np.int64)
    lo, hi = np.searchsorted(ticks, [start, end])
    ticks = ticks[lo:hi]
    columns: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for voted in chunks:
        if not len(voted.ticks) or voted.ticks[-1] < start or voted.ticks[0] >= end:
            continue
        chunk = voted.chunk
        for symbol, rows in chunk.rows_by_symbol():
            inside = rows[(chunk.open_time[rows] >= start) & (chunk.open_time[rows] < end)]
            if len(inside):
                columns.setdefault(symbol, []).append(
                    (chunk.open_time[inside], chunk.open[inside], chunk.close[inside])
                )
    if not columns:
        return ticks, np.full(len(ticks), trader.initial_equity), []
    share = trader.initial_equity / len(columns)
    cost, proceeds = 1 + trader.fee_rate + trader.slippage, 1 - trader.fee_rate - trader.slippage
    value = np.zeros(len(ticks))
    pnls = []
    for symbol in sorted(columns):
        times, opens, closes = (np.concatenate(parts) for parts in zip(*columns[symbol]))
        marked = share / (opens[0] * cost) * closes * proceeds
        at = np.searchsorted(times, ticks, side="right") - 1  # the symbol's last bar at or before each tick
        value += np.where(at >= 0, marked[np.maximum(at, 0)], share)
        pnls.append(float(marked[-1] - share))
    return ticks, value, pnls
