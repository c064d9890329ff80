"""Recorded chunks through the learner and the desk in one process: the topology's result, offline.

Consumes voted chunks (bars, decision bars and every model's votes, `trading.assembly.VotedChunk`,
e.g. rebuilt from a recording) and a configuration; produces the trades, the equity marked to market at every tick and
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

from common.times import INTERVAL_MS, duration_ms
from config.schema import PeperConfig
from config.topology import topology_of
from learning.learner import Learner, first_version, update_ticks
from messages.learning import Weights
from messages.trading import TradeClosed
from trading.assembly import VotedChunk
from trading.desk import Desk
from trading.shadow import ShadowBooks


@dataclass
class Simulation:
    initial_equity: float
    times: list[np.ndarray] = field(default_factory=list)  # tick times, per chunk
    equity: list[np.ndarray] = field(default_factory=list)  # marked to market at each tick, per chunk
    exposure: list[np.ndarray] = field(default_factory=list)  # gross exposure at each tick, per chunk
    traded: list[np.ndarray] = field(default_factory=list)  # quote notional filled at each tick, per chunk
    trades: list[TradeClosed] = field(default_factory=list)
    open_at: dict[int, dict[str, tuple[float, float]]] = field(
        default_factory=dict
    )  # cut -> lot -> (units, PnL so far)
    versions: list[Weights] = field(default_factory=list)
    learner: Learner | None = None

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.times:
            return np.empty(0, np.int64), np.empty(0)
        return np.concatenate(self.times), np.concatenate(self.equity)

    def exposures(self) -> np.ndarray:
        return np.concatenate(self.exposure) if self.exposure else np.empty(0)

    def fills(self) -> np.ndarray:
        return np.concatenate(self.traded) if self.traded else np.empty(0)


@dataclass(frozen=True)
class ShadowCredit:
    """What the learner reads, per chunk, for one set of trader rules."""

    experts: list[str]
    returns: list[np.ndarray]  # [expert, tick] shadow-book net returns
    closed: list[np.ndarray]  # [tick] shadow trades closed


def shadow_credit(chunks: Iterable[VotedChunk], config: PeperConfig) -> ShadowCredit:
    """Every expert's shadow-book returns and the books' closed trades, per chunk, for the config's trader rules."""
    books = ShadowBooks(topology_of(config).models, config.trader, config.test.symbols, decision_ms(config))
    runs = [books.run(voted) for voted in chunks]
    return ShadowCredit(books.experts, [run.returns for run in runs], [run.closed for run in runs])


def decision_ms(config: PeperConfig) -> int:
    return INTERVAL_MS[config.feed.decision_interval]


def simulate(
    chunks: Iterable[VotedChunk],
    config: PeperConfig,
    *,
    learn: bool,
    weights: dict[str, float] | None = None,
    versions: Iterable[Weights] = (),
    credit: ShadowCredit | None = None,
    cuts: Iterable[int] = (),
) -> Simulation:
    """`cuts`: times (window edges) at which the open round trips' PnL so far is kept (`open_at`)."""
    topology = topology_of(config)
    experts = topology.experts(config)
    prior = topology.initial_weights(config)
    start = first_version(config)
    if weights is not None:
        start = Weights(version=start.version, effective_from=0, weights=dict(weights), cause=["fixed"])
    desk = Desk(topology.models, config.trader, config.test.symbols, start, decision_ms(config), experts=experts)
    for version in versions:
        desk.add_version(version)
    result = Simulation(config.trader.initial_equity, versions=[start])
    cut_times = sorted(set(cuts))
    previous = -(2**62)  # the last tick of the chunk before
    learner = result.learner = Learner(config.learning, experts, prior, start) if learn else None
    books = (
        ShadowBooks(topology.models, config.trader, config.test.symbols, decision_ms(config))
        if learn and credit is None
        else None
    )
    names = credit.experts if credit is not None else books.experts if books is not None else []
    rows = [names.index(expert) for expert in experts] if learn else []
    update_ms = duration_ms(config.learning.update_every)
    for index, voted in enumerate(chunks):
        if learner is not None:
            if credit is not None:
                returns = credit.returns[index]
            else:
                assert books is not None  # learning without recorded credit runs its own books
                returns = books.run(voted).returns
            for version in learner.observe(voted.ticks, returns[rows], update_ticks(voted, update_ms)):
                desk.add_version(version)
                result.versions.append(version)
        inside = [cut for cut in cut_times if previous < cut <= voted.ticks[-1]]
        edges = [0, *np.searchsorted(voted.ticks, inside).tolist()]
        for k, (first, end) in enumerate(zip(edges, [*edges[1:], len(voted.ticks)])):
            if k:  # the book just before the cut
                result.open_at[inside[k - 1]] = desk.book.open_pnl()
            if end > first:
                decided = desk.decide(voted, first, end)
                result.trades.extend(decided.result.closed)
                result.equity.append(decided.result.equity)
                result.exposure.append(decided.result.exposure)
                result.traded.append(decided.result.traded)
        previous = int(voted.ticks[-1])
        result.times.append(voted.ticks)
        desk.forget_versions(previous)
    for cut in cut_times:  # after the last tick: every trade still open at the end
        result.open_at.setdefault(cut, desk.book.open_pnl())
    return result
