"""The trading desk: the ensemble and the paper broker over ready chunks, with the weights by version.

Consumes ready chunks (`trading.assembly.Ready`) and weights versions (`Weights`, applied from
their `effective_from`); produces per decided part of a chunk the rows' scores, the version each
row was decided with, and the broker's trades and marked-to-market equity; `decision_batch` turns
a decided chunk into the `DecisionBatch` the trader publishes. The trader actor runs it on the
bus; the offline simulations (`learning.simulate`: baselines, configuration choices in `train`)
run the very same object on recorded chunks, so what is chosen offline is what the topology trades.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import msgspec
import numpy as np

from config.schema import TraderConfig
from messages.learning import Weights
from messages.trading import DecisionBatch, ModelVote
from signals.model import ACTION_NAMES, BUY, SELL
from trading.assembly import Ready
from trading.broker import BookResult, BookRules, BookState, PaperBroker
from trading.ensemble import action_names, scores


@dataclass
class Decided:
    lo: int                  # first row
    hi: int                  # end row
    score: np.ndarray
    versions: np.ndarray     # the weights version each row was decided with
    result: BookResult


REFERENCE_VOTES = {"cash": SELL, "hold": BUY}  # a reference expert's constant vote, at full confidence


class DeskState(msgspec.Struct):
    """What a desk needs to go on exactly where it was: its book and the versions that can still apply."""
    book: BookState
    versions: list[Weights]


class Desk:
    """`models` vote in the ready chunks; `experts` are the models plus the reference experts the
    ensemble hears (`cash` always SELL, `hold` always BUY), weighed like any model."""

    def __init__(self, models: list[str], config: TraderConfig, symbols: list[str], initial: Weights,
                 rules: BookRules | None = None, experts: list[str] | None = None):
        self.models = list(models)
        self.experts = list(experts or models)
        self.config = config
        self.broker = PaperBroker(rules or BookRules.of(config), config.initial_equity, symbols)
        self.versions: list[tuple[int, int, Weights]] = [(initial.effective_from, initial.version, initial)]

    def add_version(self, weights: Weights) -> None:
        if all(version != weights.version for _, version, _ in self.versions):
            bisect.insort(self.versions, (weights.effective_from, weights.version, weights),
                          key=lambda item: (item[0], item[1]))

    def has_version_from(self, tick: int) -> bool:
        return any(effective == tick for effective, _, _ in self.versions)

    def decide(self, ready: Ready, first_tick: int, end_tick: int) -> Decided:
        """Decide ticks [first_tick, end_tick) of a ready chunk, each with its newest effective version."""
        chunk, ticks = ready.chunk, ready.ticks
        lo = int(np.searchsorted(chunk.open_time, ticks[first_tick], "left"))
        hi = int(np.searchsorted(chunk.open_time, ticks[end_tick], "left")) if end_tick < len(ticks) else len(chunk)
        part_ticks = ticks[first_tick:end_tick]
        row_versions = self._versions_for(part_ticks)[np.searchsorted(part_ticks, chunk.open_time[lo:hi])]
        action, confidence = self._votes(ready, lo, hi)
        score = scores(action, confidence, self._weight_matrix(row_versions))
        result = self.broker.run(chunk.rows(lo, hi), part_ticks, score,
                                 lambda row: votes_at(self.experts, action, confidence, row))
        return Decided(lo, hi, score, row_versions, result)

    def _votes(self, ready: Ready, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """[expert, row] action codes and confidences: the models' votes, then the reference experts'."""
        extra = [REFERENCE_VOTES[e] for e in self.experts[len(self.models):]]
        action = np.concatenate([ready.action[:, lo:hi], np.repeat(np.array(extra, np.int8)[:, None], hi - lo, 1)])
        confidence = np.concatenate([ready.confidence[:, lo:hi], np.ones((len(extra), hi - lo))])
        return action, confidence

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(DeskState(self.broker.state, [weights for _, _, weights in self.versions]))

    def restore(self, raw: bytes) -> None:
        state = msgspec.msgpack.decode(raw, type=DeskState)
        self.broker.state = state.book
        self.versions = sorted(((w.effective_from, w.version, w) for w in state.versions), key=lambda item: item[:2])

    def forget_versions(self, last_tick: int) -> None:
        """Keep only the versions that can still apply: the newest effective one and those after it."""
        current = max(version for effective, version, _ in self.versions if effective <= last_tick)
        self.versions = [entry for entry in self.versions if entry[1] >= current or entry[0] > last_tick]

    def _versions_for(self, ticks: np.ndarray) -> np.ndarray:
        effective = np.array([entry[0] for entry in self.versions], np.int64)
        newest = np.maximum.accumulate(np.array([entry[1] for entry in self.versions], np.int64))
        return newest[np.searchsorted(effective, ticks, "right") - 1]

    def _weight_matrix(self, row_versions: np.ndarray) -> np.ndarray:
        by_version = {version: weights for _, version, weights in self.versions}
        distinct, inverse = np.unique(row_versions, return_inverse=True)
        table = np.array([[by_version[int(v)].weights.get(expert, 0.0) for v in distinct] for expert in self.experts])
        return table[:, inverse]

    def decision_batch(self, ready: Ready, parts: list[Decided]) -> DecisionBatch:
        batch = ready.batch
        score = np.concatenate([part.score for part in parts]) if parts else np.empty(0)
        versions = np.concatenate([part.versions for part in parts]) if parts else np.empty(0, np.int64)
        names = np.array(ACTION_NAMES, dtype=object)
        enter = self.config.entry_threshold if self.broker.rules.entries else math.inf  # standing aside: no BUY
        action, confidence = self._votes(ready, 0, len(ready.chunk))
        return DecisionBatch(
            symbol=batch.symbol, bar_time=batch.open_time.tolist(), weights_version=versions.tolist(), score=score.tolist(),
            action=action_names(score, enter, self.config.exit_threshold), models=self.experts,
            vote_action=[names[row.astype(np.int64) + 1].tolist() for row in action],
            vote_confidence=confidence.tolist(), ts_event=batch.ts_event,
        )


def votes_at(experts: list[str], action: np.ndarray, confidence: np.ndarray, row: int) -> list[ModelVote]:
    return [ModelVote(expert, ACTION_NAMES[int(action[e, row]) + 1], float(confidence[e, row]))
            for e, expert in enumerate(experts)]
