"""Recorded chunks through the learner and the desk in one process: the topology's result, offline.

Consumes ready chunks (bars and every model's votes, `trading.assembly.Ready`, e.g. rebuilt from a
recording) and a configuration; produces the trades, the equity marked to market at every tick,
each expert's shadow equity, and the weights versions — exactly what the trader and rl_learner
would have produced on the bus from the same votes (the same `ShadowBooks`, `Learner` and `Desk`
objects, applied in the same order: a chunk's credit and versions first, then its decisions with
each tick's newest effective version). With `learn=False` the weights stay at `initial`: the
fixed-weights baselines; with the versions a session recorded, that session as it traded. Votes
do not depend on the weights, so one recording serves every configuration of weights, learner and
thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from config.schema import LearningConfig, TraderConfig
from learning.learner import Learner
from messages.learning import Weights
from messages.trading import TradeClosed
from trading.assembly import Ready
from trading.broker import BookRules
from trading.desk import Desk
from trading.shadow import ShadowBooks


@dataclass
class Simulation:
    trades: list[TradeClosed] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)       # tick times, per chunk
    equity: list[np.ndarray] = field(default_factory=list)      # marked to market at each tick, per chunk
    versions: list[Weights] = field(default_factory=list)
    expert_equity: dict[str, list[float]] = field(default_factory=dict)  # each expert's equity after each chunk

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.times:
            return np.empty(0, np.int64), np.empty(0)
        return np.concatenate(self.times), np.concatenate(self.equity)


def simulate(chunks: Iterable[Ready], models: list[str], trader: TraderConfig, learning: LearningConfig,
             symbols: list[str], interval_ms: int, initial: Weights, *, learn: bool,
             rules: BookRules | None = None, versions: Iterable[Weights] = ()) -> Simulation:
    """`versions`: weights versions to apply from their `effective_from` (a recorded session's)."""
    desk = Desk(models, trader, symbols, initial, rules)
    for version in versions:
        desk.add_version(version)
    learner = Learner(learning, models, initial.weights, interval_ms, initial) if learn else None
    books = ShadowBooks(models, trader, symbols, rules) if learn else None
    result = Simulation(versions=[initial])
    for ready in chunks:
        if learner is not None:
            returns, equity = books.run(ready)
            for expert, value in zip(books.experts, equity.tolist()):
                result.expert_equity.setdefault(expert, []).append(value)
            for version in learner.observe(ready.ticks, returns[: len(models)]):
                desk.add_version(version)
                result.versions.append(version)
        decided = desk.decide(ready, 0, len(ready.ticks))
        result.trades.extend(decided.result.closed)
        result.times.append(ready.ticks)
        result.equity.append(decided.result.equity)
        desk.forget_versions(int(ready.ticks[-1]))
    return result
