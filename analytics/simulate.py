"""What other weights would have done on the same bars and votes: the baselines of every report.

Consumes a `Recording` (its kline batches and every model's votes — the votes do not depend on the
weights, so they are the same for any weights) and fixed weights; produces the trades and the
marked-to-market equity the trader would have had, through `learning.simulate` — the trader's own
`Desk` on the recording's own chunks, so with the weights of a frozen session it reproduces that
session's trades exactly. Also buy-and-hold: an equal-weight portfolio of the symbols, bought at
each one's first open and marked at every close, fees and slippage paid on both sides.
"""

from __future__ import annotations

import numpy as np

from analytics.recording import Recording
from config.schema import PeperConfig
from learning.engine import project
from learning.simulate import Simulation, simulate
from messages.learning import Weights
from trading.shadow import ShadowBooks


def with_weights(recording: Recording, weights: dict[str, float], config: PeperConfig, models: list[str],
                 chunks=None) -> Simulation:
    initial = Weights(version=0, effective_from=0, weights=weights, cause=["baseline"])
    return simulate(chunks if chunks is not None else recording.chunks(models, config.test.symbols), models,
                    config.trader, config.learning, config.test.symbols, recording.interval_ms, initial, learn=False)


def as_traded(recording: Recording, config: PeperConfig, models: list[str], initial: dict[str, float],
              chunks=None) -> Simulation:
    """The session again, with the versions it recorded: its trades and its marked-to-market equity."""
    start = Weights(version=config.learning.start_version, effective_from=0, weights=project(initial, config.learning),
                    cause=["initial"])
    return simulate(chunks if chunks is not None else recording.chunks(models, config.test.symbols), models,
                    config.trader, config.learning, config.test.symbols, recording.interval_ms, start, learn=False,
                    versions=recording.published)


def shadow_equity(recording: Recording, config: PeperConfig, models: list[str], chunks=None) -> tuple[list[int], dict[str, list[float]]]:
    """Every expert's shadow book (each model alone, cash, hold) over the recording: (the bar time
    ending each chunk, expert -> equity then) — whether or not a learner ran in the session."""
    books = ShadowBooks(models, config.trader, config.test.symbols)
    times: list[int] = []
    series: dict[str, list[float]] = {expert: [] for expert in books.experts}
    for ready in chunks if chunks is not None else recording.chunks(models, config.test.symbols):
        _, equity = books.run(ready)
        times.append(int(ready.ticks[-1]))
        for expert, value in zip(books.experts, equity.tolist()):
            series[expert].append(value)
    return times, series


def fixed_weight_sets(config: PeperConfig, models: list[str], initial: dict[str, float]) -> dict[str, dict[str, float]]:
    """The fixed-weights baselines: equal weights, the initial weights, each model alone."""
    return {
        "equal_weights": {m: 1.0 / len(models) for m in models},
        "initial_weights": project(initial, config.learning),
        **{model: {m: float(m == model) for m in models} for model in models},
    }


def buy_and_hold_equity(recording: Recording, config: PeperConfig) -> tuple[np.ndarray, np.ndarray]:
    """(tick times, portfolio value at each tick's close): equal parts of the initial equity in each
    symbol, bought at its first bar's open and valued at every close as if sold there."""
    trader = config.trader
    cost = 1 + trader.fee_rate + trader.slippage
    proceeds = 1 - trader.fee_rate - trader.slippage
    ticks = recording.ticks()
    symbols = recording.closes()
    share = trader.initial_equity / max(1, len(symbols))
    value = np.zeros(len(ticks))
    for times, opens, closes in symbols.values():
        units = share / (opens[0] * cost)
        index = np.searchsorted(ticks, times)
        marked = np.full(len(ticks), np.nan)
        marked[index] = units * closes * proceeds
        first = index[0]
        marked[:first] = share
        position = np.where(np.isnan(marked), 0, np.arange(len(ticks)))
        np.maximum.accumulate(position, out=position)
        value += marked[position]
    return ticks, value
