"""The configurations `train` tries, each run over the recorded votes, and the one each fold keeps.

Consumes the run's config, `[training] grid` (every combination of its values is a configuration:
a learner, its parameters, the trader's sizing, a model's settings, ...; `[[training.grid]]` tables:
the configurations of each, one after another, so a learner's own parameters combine only with
it), the recorded chunks of the whole span (bars, decision bars and every model's votes: they do
not depend on the weights) and the folds; produces, per configuration, one continuous offline run —
the trader's `Desk` and rl_learner's `ShadowBooks` and `Learner`, the very objects the topology runs
(`learning.offline`), on the votes it would have recorded (a configuration that changes a model's
settings has them cast again by the model's own class, `training.revote`) — reduced to what is kept
of it (`Tried`): its figures and daily returns on every validation window, its part of every test
window, where its learner ended; and, per fold, the configuration whose validation window scored
best (`[training] metric`). `choose` reads the validation figures only: a run is causal (every
weight, vote and fill uses only bars before it), so what a test window holds cannot change a
validation score. Standing aside is not a configuration: it is what the learner does when it moves
the weight to `cash`. Votes depend only on the models' settings and shadow books only on the votes
and the trader's settings, so each set of settings votes once and each pair computes its books once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import msgspec
import numpy as np

from analytics.parts import run_part
from analytics.performance import Figures, Part, summarize
from config.build import configured
from config.schema import PeperConfig
from config.topology import topology_of
from learning.offline import ShadowCredit, shadow_credit, simulate
from messages.errors import ConfigError
from trading.assembly import VotedChunk
from training.revote import check_grid_key, revoted, vote_settings
from training.windows import Fold


@dataclass(frozen=True)
class Candidate:
    number: int
    changes: dict[str, object]  # grid key -> value
    config: PeperConfig

    def describe(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.changes.items()) or "the run's own configuration"


@dataclass
class Tried:
    candidate: Candidate
    validation: list[Figures]  # per fold
    tests: list[Part]  # per fold
    learner_state: bytes  # where its learner ended, at the span's end
    final_weights: dict[str, float]
    final_version: int
    weights_path: list[tuple[int, dict[str, float]]]  # (effective from, weights) of every version
    validation_daily: list[np.ndarray] = field(default_factory=list)  # per fold: the validation window's daily returns


def candidates(config: PeperConfig) -> list[Candidate]:
    """Every combination of `[training] grid`'s values applied to `config`, each validated like a
    file (a bad key or value is a ConfigError naming it); the run's own config when the grid is empty."""
    grid = config.training.grid
    products = grid if isinstance(grid, list) else [grid]
    combinations = [
        dict(zip(sorted(product), values))
        for product in products
        for values in itertools.product(*(product[key] for key in sorted(product)))
    ]
    found = []
    for number, changes in enumerate(combinations or [{}], start=1):
        try:
            candidate = configured(config, **sections_of(changes))
            for key in changes:
                check_grid_key(key, config)
            topology_of(candidate)
        except ConfigError as exc:
            raise ConfigError(f"[training.grid] {', '.join(f'{k}={v}' for k, v in changes.items())}: {exc}") from exc
        found.append(Candidate(number, changes, candidate))
    return found


def sections_of(changes: dict[str, object]) -> dict[str, dict[str, object]]:
    """{"learning.hedge_eta": 20} -> {"learning": {"hedge_eta": 20}}."""
    sections: dict[str, dict[str, object]] = {}
    for key, value in changes.items():
        section, _, name = key.partition(".")
        if not name:
            raise ConfigError(f'[training.grid] key {key!r}: expected section.key, e.g. "learning.hedge_eta"')
        sections.setdefault(section, {})[name] = value
    return sections


class OfflineInputs:
    """What a configuration's offline run reads: the chunks with its models' votes and every expert's
    shadow-book returns per chunk, each made once per set of model settings (and trader rules)."""

    def __init__(self, chunks: list[VotedChunk], recorded: PeperConfig):
        self.recorded = recorded
        self._chunks: dict[bytes, list[VotedChunk]] = {vote_settings(recorded): chunks}
        self._credit: dict[tuple[bytes, bytes], ShadowCredit] = {}

    def chunks(self, config: PeperConfig) -> list[VotedChunk]:
        key = vote_settings(config)
        if key not in self._chunks:
            self._chunks[key] = revoted(self._chunks[vote_settings(self.recorded)], self.recorded, config)
        return self._chunks[key]

    def credit(self, config: PeperConfig) -> ShadowCredit:
        key = (vote_settings(config), msgspec.msgpack.encode(config.trader))
        if key not in self._credit:
            self._credit[key] = shadow_credit(self.chunks(config), config)
        return self._credit[key]


def edges(folds: list[Fold]) -> list[int]:
    """Every window's edges: where a run keeps its open trades' PnL so far."""
    return sorted({t for fold in folds for window in (fold.validate, fold.test) for t in (window.start, window.end)})


def try_candidate(candidate: Candidate, inputs: OfflineInputs, folds: list[Fold]) -> Tried:
    """One continuous offline run of a configuration over every chunk, learning as the topology would."""
    config = candidate.config
    run = simulate(inputs.chunks(config), config, learn=True, credit=inputs.credit(config), cuts=edges(folds))
    current = run.learner.current
    validation = [summarize([run_part(run, fold.validate.start, fold.validate.end)]) for fold in folds]
    return Tried(
        candidate,
        validation=[figures for figures, _ in validation],
        tests=[run_part(run, fold.test.start, fold.test.end) for fold in folds],
        learner_state=run.learner.snapshot(),
        final_weights=current.weights,
        final_version=current.version,
        weights_path=[(version.effective_from, dict(version.weights)) for version in run.versions],
        validation_daily=[daily for _, daily in validation],
    )


def choose(tried: list[Tried], fold: int, metric: str) -> Tried:
    """The configuration whose validation window of fold `fold` (0-based) scores best on `metric`,
    then on ROI, then the lower number — the test windows are never read here."""

    def key(one: Tried) -> tuple[float, float, int]:
        found = one.validation[fold]
        value = getattr(found, metric)
        return (value if value is not None else float("-inf")), found.roi, -one.candidate.number

    return max(tried, key=key)
