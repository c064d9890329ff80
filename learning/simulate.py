"""Recorded chunks through the learner and the desk in one process: the topology's result, offline.

Consumes ready chunks (bars and every model's votes, `trading.assembly.Ready`, e.g. rebuilt from a
recording) and a configuration; produces the trades, the equity marked to market at every tick and
the weights versions — exactly what the trader and rl_learner would have produced on the bus from
the same votes: the same `ShadowBooks`, `Learner` and `Desk` objects applied in the same order (a
chunk's credit and versions first, then its decisions, each tick with its newest effective
version). With `learn=False` the weights stay fixed (`weights` as given — a model alone weighs 1,
the others 0 — default the projected initial ones): the baselines; with `versions`, a recorded session's versions are applied instead: that session as it
traded. Votes do not depend on the weights, so one recording serves every configuration of weights,
learner and thresholds; `credit` (the shadow books' returns and closed trades per chunk, for these
votes and trader rules) may be handed in when several runs share it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from config.schema import PeperConfig
from config.topology import topology_of
from learning.learner import Learner, first_version
from messages.learning import Weights
from messages.trading import TradeClosed
from trading.assembly import Ready
from trading.desk import Desk
from trading.shadow import ShadowBooks


@dataclass
class Simulation:
    initial_equity: float
    times: list[np.ndarray] = field(default_factory=list)       # tick times, per chunk
    equity: list[np.ndarray] = field(default_factory=list)      # marked to market at each tick, per chunk
    trades: list[TradeClosed] = field(default_factory=list)
    versions: list[Weights] = field(default_factory=list)
    learner: Learner | None = None

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.times:
            return np.empty(0, np.int64), np.empty(0)
        return np.concatenate(self.times), np.concatenate(self.equity)


@dataclass(frozen=True)
class ShadowCredit:
    """What the learner reads, per chunk, for one set of trader rules."""

    experts: list[str]
    returns: list[np.ndarray]   # [expert, tick] shadow-book net returns
    closed: list[np.ndarray]    # [tick] shadow trades closed


def shadow_credit(chunks: Iterable[Ready], config: PeperConfig) -> ShadowCredit:
    """Every expert's shadow-book returns and the books' closed trades, per chunk, for the config's trader rules."""
    books = ShadowBooks(topology_of(config).models, config.trader, config.test.symbols)
    runs = [books.run(ready) for ready in chunks]
    return ShadowCredit(books.experts, [run.returns for run in runs], [run.closed for run in runs])


def simulate(chunks: Iterable[Ready], config: PeperConfig, interval_ms: int, *, learn: bool,
             weights: dict[str, float] | None = None, versions: Iterable[Weights] = (),
             credit: ShadowCredit | None = None) -> Simulation:
    topology = topology_of(config)
    experts = topology.experts(config)
    prior = topology.initial_weights(config)
    start = first_version(config)
    if weights is not None:
        start = Weights(version=start.version, effective_from=0, weights=dict(weights), cause=["fixed"])
    desk = Desk(topology.models, config.trader, config.test.symbols, start, experts=experts)
    for version in versions:
        desk.add_version(version)
    result = Simulation(config.trader.initial_equity, versions=[start])
    books = ShadowBooks(topology.models, config.trader, config.test.symbols) if learn and credit is None else None
    if learn:
        result.learner = Learner(config.learning, experts, prior, interval_ms, start)
        names = credit.experts if credit is not None else books.experts
        rows = [names.index(expert) for expert in experts]
    for index, ready in enumerate(chunks):
        if learn:
            if credit is not None:
                returns, closed = credit.returns[index], credit.closed[index]
            else:
                shadow = books.run(ready)
                returns, closed = shadow.returns, shadow.closed
            for version in result.learner.observe(ready.ticks, returns[rows], closed):
                desk.add_version(version)
                result.versions.append(version)
        decided = desk.decide(ready, 0, len(ready.ticks))
        result.trades.extend(decided.result.closed)
        result.times.append(ready.ticks)
        result.equity.append(decided.result.equity)
        desk.forget_versions(int(ready.ticks[-1]))
    return result
