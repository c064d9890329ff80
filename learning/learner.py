"""The learner's schedule: one new weights version at the first bar of every period, from the credit before it.

Consumes, tick by tick, every expert's shadow-book net return (`observe`); produces `Weights`
versions. A period is `update_every_bars` bars long and aligned to the epoch (bar time //
period): at the first tick of a new period the rule is fed each expert's compound return over the
ticks of the periods since the last update, and the new version is effective from that tick — so
a version never uses a bar at or after the one it is first applied to, and the trader, which knows
the schedule, applies it exactly there (`actors.trader`). With `update_every_trades` K > 0 the rule
runs only once the shadow books have closed K trades since its last run (counted over the ticks
before the period's first): a period with fewer carries the weights into its version unchanged
and keeps the credit for the next — every K shadow trades, on the periods' schedule the trader
knows. Version 0 is the projected initial
weights; a rollback to V appends a new version equal to V. State (a Struct, for checkpoints): the
current version, its weights and period, the credit and shadow trades accumulated since, and the
rule's own state.
"""

from __future__ import annotations

import base64
import math

import msgspec
import numpy as np

from config.schema import LearningConfig, PeperConfig
from config.topology import topology_of
from learning.engine import make_rule, project
from messages.learning import Weights

COMPACT_AFTER = 4096   # credit values kept per expert before they are folded into their exact partials


class LearnerState(msgspec.Struct):
    version: int
    weights: dict[str, float]
    effective_from: int
    period: int | None = None              # the period of the newest tick observed
    growth: dict[str, list[float]] = {}    # log(1 + return) per expert and tick since the last update
    updates: int = 0
    rule: bytes = b""
    trades: int = 0                        # shadow trades closed since the last update


def first_version(config: PeperConfig) -> Weights:
    """Version `start_version`: `start_weights` when given (a policy's, or the store's newest), else
    the projected initial weights — what the trader and the learner start from."""
    learning = config.learning
    weights = learning.start_weights or project(topology_of(config).initial_weights(config), learning)
    return Weights(version=learning.start_version, effective_from=0, weights=dict(weights), cause=["initial"])


def exact_partials(values: list[float]) -> list[float]:
    """A few floats whose exact sum is the exact sum of `values` (Shewchuk's non-overlapping
    partials, what `math.fsum` keeps inside): `fsum` of them is `fsum(values)`, bit for bit."""
    partials: list[float] = []
    for x in values:
        kept = 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                partials[kept] = low
                kept += 1
            x = high
        partials[kept:] = [x]
    return partials


def period_of(bar_time: int, period_ms: int) -> int:
    return bar_time // period_ms


class Learner:
    def __init__(self, config: LearningConfig, experts: list[str], initial: dict[str, float], interval_ms: int,
                 start: Weights | None = None):
        self.config = config
        self.experts = list(experts)
        self.period_ms = config.update_every_bars * interval_ms
        self.rule = make_rule(config, project(initial, config))
        if start is None:
            start = Weights(version=0, effective_from=0, weights=project(initial, config), cause=["initial"])
        self.state = LearnerState(start.version, dict(start.weights), start.effective_from,
                                  growth={e: [] for e in self.experts})
        if config.start_state:  # a policy's learner, carried on from where training left it
            self.restore(base64.b64decode(config.start_state))
            self.state.version, self.state.weights = start.version, dict(start.weights)
            self.state.effective_from, self.state.period = start.effective_from, None

    @property
    def current(self) -> Weights:
        state = self.state
        return Weights(version=state.version, effective_from=state.effective_from, weights=dict(state.weights),
                       cause=["current"])

    def observe(self, ticks: np.ndarray, returns: np.ndarray, closed: np.ndarray | None = None) -> list[Weights]:
        """ticks: bar times ascending; returns: [expert, tick]; closed: [tick] shadow trades closed (none
        when not given). The versions due, oldest first."""
        state = self.state
        if closed is None:
            if self.config.update_every_trades:
                raise ValueError("update_every_trades needs the shadow trades closed per tick (closed)")
            closed = np.zeros(len(ticks), np.int64)
        periods = ticks // self.period_ms
        versions: list[Weights] = []
        growth = np.log1p(returns)
        start = 0
        for index in range(len(ticks) + 1):
            boundary = index == len(ticks) or (state.period is not None and periods[index] != state.period)
            if not boundary:
                if state.period is None:
                    state.period = int(periods[index])
                continue
            for e, expert in enumerate(self.experts):
                series = state.growth.setdefault(expert, [])
                series.extend(growth[e, start:index].tolist())
                if len(series) > COMPACT_AFTER and all(map(math.isfinite, series)):   # held over many periods
                    state.growth[expert] = exact_partials(series)
            state.trades += int(closed[start:index].sum())
            start = index
            if index == len(ticks):
                break
            versions.append(self._update(int(ticks[index])))
            state.period = int(periods[index])
        return versions

    def _update(self, effective_from: int) -> Weights:
        state = self.state
        wanted = self.config.update_every_trades
        if state.trades < wanted:
            return self._new_version(dict(state.weights), effective_from,
                                     [f"held: {state.trades} of {wanted} shadow trades since the last update"])
        # fsum is exactly rounded, so the credit is the same however the ticks came in chunks
        credit = {expert: math.expm1(math.fsum(state.growth.get(expert, []))) for expert in self.experts}
        weights = self.rule.update(dict(state.weights), {e: c for e, c in credit.items() if e in state.weights})
        state.growth = {expert: [] for expert in self.experts}
        state.trades = 0
        state.updates += 1
        return self._new_version(weights, effective_from, ["update"])

    def rollback(self, target: Weights, effective_from: int, request_id: str) -> Weights:
        return self._new_version(dict(target.weights), effective_from, [f"rollback:{target.version}", request_id])

    def _new_version(self, weights: dict[str, float], effective_from: int, cause: list[str]) -> Weights:
        state = self.state
        state.version += 1
        state.weights, state.effective_from = weights, effective_from
        return Weights(version=state.version, effective_from=effective_from, weights=dict(weights), cause=cause,
                       ts_event=effective_from)

    def snapshot(self) -> bytes:
        self.state.rule = self.rule.snapshot()
        return msgspec.msgpack.encode(self.state)

    def restore(self, raw: bytes) -> None:
        self.state = msgspec.msgpack.decode(raw, type=LearnerState)
        self.rule.restore(self.state.rule)
