"""The learner's schedule: a new weights version at every update tick, from the credit before it.

Consumes, chunk by chunk, every expert's shadow-book net return over each tick and the chunk's
update ticks (`update_ticks`: the decision ticks that close a `[learning] update_every` period,
epoch-aligned — with the default "1d" and daily decisions, every decision); produces `Weights`
versions. At an update tick the rule is fed each expert's compound return over the ticks since the
last update, that tick included, and the new version is effective from that tick: the decision
taken at its close already uses it, and no version ever uses a bar after the one it is first applied
to. The trader, which knows the schedule, waits for it exactly there (`actors.trader`). Version 0
is the projected initial weights. Each version carries the rule's state after it, so a rollback to V
appends a new version equal to V and learning goes on from V's state. State (a Struct, for
checkpoints): the current version, its weights, the credit accumulated since, and the rule's own
state.
"""

from __future__ import annotations

import base64
import math

import msgspec
import numpy as np

from common.times import duration_ms
from config.schema import LearningConfig, PeperConfig
from config.topology import topology_of
from learning.engine import make_rule, project
from messages.learning import Weights
from trading.assembly import VotedChunk

COMPACT_AFTER = 4096  # credit values kept per expert before they are folded into their exact partials


class LearnerState(msgspec.Struct):
    version: int
    weights: dict[str, float]
    effective_from: int
    growth: dict[str, list[float]] = {}  # log(1 + return) per expert and tick since the last update
    updates: int = 0
    rule: bytes = b""
    held: str = ""  # "rollback:<V>" until the next update tick, which keeps V's weights instead of learning


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


def update_ticks(voted: VotedChunk, update_ms: int) -> list[int]:
    """The chunk's ticks (indices) where the learner makes a version: decision ticks that close an
    update period."""
    bars, ticks = voted.bars, []
    for tick, rows in voted.decisions():
        closes = int(bars.open_time[rows].max()) + bars.interval_ms
        if closes % update_ms == 0:
            ticks.append(tick)
    return ticks


class Learner:
    def __init__(
        self, config: LearningConfig, experts: list[str], initial: dict[str, float], start: Weights | None = None
    ):
        self.config = config
        self.experts = list(experts)
        self.update_ms = duration_ms(config.update_every)
        self.rule = make_rule(config, project(initial, config))
        if start is None:
            start = Weights(version=0, effective_from=0, weights=project(initial, config), cause=["initial"])
        self.state = LearnerState(
            start.version, dict(start.weights), start.effective_from, growth={e: [] for e in self.experts}
        )
        if config.start_state:  # a policy's learner, carried on from where training left it
            self.restore(base64.b64decode(config.start_state))
            self.state.version, self.state.weights = start.version, dict(start.weights)
            self.state.effective_from = start.effective_from

    @property
    def current(self) -> Weights:
        state = self.state
        return Weights(
            version=state.version, effective_from=state.effective_from, weights=dict(state.weights), cause=["current"]
        )

    def observe(self, ticks: np.ndarray, returns: np.ndarray, updates: list[int]) -> list[Weights]:
        """ticks: bar times ascending; returns: [expert, tick]; updates: the update ticks (indices),
        ascending. The versions due, oldest first."""
        versions: list[Weights] = []
        growth = np.log1p(returns)
        start = 0
        for tick in updates:
            self._accumulate(growth[:, start : tick + 1])
            start = tick + 1
            versions.append(self._update(int(ticks[tick])))
        self._accumulate(growth[:, start:])
        return versions

    def _accumulate(self, growth: np.ndarray) -> None:
        for e, expert in enumerate(self.experts):
            series = self.state.growth.setdefault(expert, [])
            series.extend(growth[e].tolist())
            if len(series) > COMPACT_AFTER and all(map(math.isfinite, series)):  # held over many ticks
                self.state.growth[expert] = exact_partials(series)

    def _update(self, effective_from: int) -> Weights:
        state = self.state
        if state.held:  # the period a rollback fell in is not learned: its credit began mid-period
            cause, state.held = [state.held, "held"], ""
            state.growth = {expert: [] for expert in self.experts}
            state.updates += 1
            return self._new_version(dict(state.weights), effective_from, cause)
        # fsum is exactly rounded, so the credit is the same however the ticks came in chunks
        credit = {expert: math.expm1(math.fsum(state.growth.get(expert, []))) for expert in self.experts}
        weights = self.rule.update(dict(state.weights), {e: c for e, c in credit.items() if e in state.weights})
        state.growth = {expert: [] for expert in self.experts}
        state.updates += 1
        return self._new_version(weights, effective_from, ["update"])

    def rollback(self, target: Weights, effective_from: int, request_id: str) -> Weights:
        """A new version equal to `target`, from `effective_from`: its weights, and its rule state when it
        carries one, so learning goes on from there; the credit gathered since the last update is dropped,
        and the next update tick makes a version with the same weights (cause "held"), so a trader that
        is already past `effective_from` (it runs ahead of the learner) still decides with them."""
        if target.state:
            self.rule.restore(target.state)
        self.state.growth = {expert: [] for expert in self.experts}
        self.state.held = f"rollback:{target.version}"
        return self._new_version(dict(target.weights), effective_from, [f"rollback:{target.version}", request_id])

    def _new_version(self, weights: dict[str, float], effective_from: int, cause: list[str]) -> Weights:
        state = self.state
        state.version += 1
        state.weights, state.effective_from = weights, effective_from
        return Weights(
            version=state.version,
            effective_from=effective_from,
            weights=dict(weights),
            cause=cause,
            state=self.rule.snapshot(),
            ts_event=effective_from,
        )

    def snapshot(self) -> bytes:
        self.state.rule = self.rule.snapshot()
        return msgspec.msgpack.encode(self.state)

    def restore(self, raw: bytes) -> None:
        self.state = msgspec.msgpack.decode(raw, type=LearnerState)
        self.rule.restore(self.state.rule)
