"""The configurations `train` tries, each run over the recorded votes, and the one each fold keeps.

Consumes the run's config, `[training] grid` (every combination of its values is a configuration:
a learner, its parameters, the ensemble's thresholds, ...; `[[training.grid]]` tables: the
configurations of each, one after another, so a learner's own parameters combine only with it), the recorded chunks of the whole span
(bars and every model's votes: they do not depend on the weights) and the folds; produces, per
configuration, one continuous offline run — the trader's `Desk` and rl_learner's `ShadowBooks`
and `Learner`, the very objects the topology runs (`learning.simulate`), on the votes it would have
recorded (a configuration that changes trading_ai's or lava_ai's settings has them cast again by
the model's own class, `training.revote`) — reduced to what is kept
of it (`Tried`): its figures on every validation window, its part of every test window, where its
learner ended; and, per fold, the configuration whose validation window scored best (`[training]
metric`). `choose` reads the validation figures only: a run is causal (every weight, vote and
fill uses only bars before it), so what a test window holds cannot change a validation score.
With `[training] evidence` above 0 a fold trades only when the best of all the configurations tried
is at least that sure to have beaten cash on its validation days for having tried them all (White's
reality check, `family_evidence`), and then chooses only among the configurations at least that
sure on their own (a block bootstrap of their validation days); otherwise it chooses the one more
configuration added to the grid, the run's own standing aside (`trader.stand_aside`: it opens
nothing, so it keeps the cash) — learning that finds no evidence does not trade.
Votes depend only on the models' settings and shadow books only on the votes and the trader's
rules, so each set of settings votes once and each set of settings and rules computes its books once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from analytics.bootstrap import best_above_zero, chance_above_zero
from config.build import configured
from config.schema import PeperConfig
from config.topology import topology_of
from learning.simulate import ShadowCredit, shadow_credit, simulate
from messages.errors import ConfigError
from trading.assembly import Ready
from trading.broker import BookRules
from trading.shadow import shadow_rules
from training.evaluate import Part, run_part, summarize
from training.revote import check_grid_key, revoted, vote_settings
from training.windows import Fold

STAND_ASIDE = {"trader.stand_aside": True}


@dataclass(frozen=True)
class Candidate:
    number: int
    changes: dict[str, object]   # grid key -> value
    config: PeperConfig

    def describe(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.changes.items()) or "the run's own configuration"


@dataclass
class Tried:
    candidate: Candidate
    validation: list[dict[str, float | int | None]]   # per fold
    tests: list[Part]                                  # per fold
    learner_state: bytes                               # where its learner ended, at the span's end
    final_weights: dict[str, float]
    final_version: int
    weights_path: list[tuple[int, dict[str, float]]]   # (effective from, weights) of every version
    validation_daily: list[np.ndarray] = field(default_factory=list)   # per fold: the validation window's daily returns


def candidates(config: PeperConfig) -> list[Candidate]:
    """Every combination of `[training] grid`'s values applied to `config`, each validated like a
    file (a bad key or value is a ConfigError naming it); the run's own config when the grid is empty."""
    grid = config.training.grid
    products = grid if isinstance(grid, list) else [grid]
    combinations = [dict(zip(sorted(product), values))
                    for product in products for values in itertools.product(*(product[key] for key in sorted(product)))]
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
    if config.training.evidence > 0:
        found.append(Candidate(len(found) + 1, dict(STAND_ASIDE), configured(config, **sections_of(STAND_ASIDE))))
    return found


def stands_aside(candidate: Candidate) -> bool:
    return candidate.changes == STAND_ASIDE


def sections_of(changes: dict[str, object]) -> dict[str, dict[str, object]]:
    """{"learning.hedge_eta": 20} -> {"learning": {"hedge_eta": 20}}."""
    sections: dict[str, dict[str, object]] = {}
    for key, value in changes.items():
        section, _, name = key.partition(".")
        if not name:
            raise ConfigError(f"[training.grid] key {key!r}: expected section.key, e.g. \"learning.hedge_eta\"")
        sections.setdefault(section, {})[name] = value
    return sections


class OfflineInputs:
    """What a configuration's offline run reads: the chunks with its models' votes and every expert's
    shadow-book returns per chunk, each made once per set of model settings (and trader rules)."""

    def __init__(self, chunks: list[Ready], recorded: PeperConfig):
        self.recorded = recorded
        self._chunks: dict[bytes, list[Ready]] = {vote_settings(recorded): chunks}
        self._credit: dict[tuple[bytes, BookRules], ShadowCredit] = {}

    def chunks(self, config: PeperConfig) -> list[Ready]:
        key = vote_settings(config)
        if key not in self._chunks:
            self._chunks[key] = revoted(self._chunks[vote_settings(self.recorded)], self.recorded, config)
        return self._chunks[key]

    def credit(self, config: PeperConfig) -> ShadowCredit:
        key = (vote_settings(config), shadow_rules(config.trader))
        if key not in self._credit:
            self._credit[key] = shadow_credit(self.chunks(config), config)
        return self._credit[key]


def try_candidate(candidate: Candidate, inputs: OfflineInputs, interval_ms: int, folds: list[Fold]) -> Tried:
    """One continuous offline run of a configuration over every chunk, learning as the topology would."""
    config = candidate.config
    run = simulate(inputs.chunks(config), config, interval_ms, learn=True, credit=inputs.credit(config))
    current = run.learner.current
    validation = [validation_figures(run_part(run, fold.validate), config) for fold in folds]
    return Tried(candidate, validation=[figures for figures, _ in validation],
                 tests=[run_part(run, fold.test) for fold in folds], learner_state=run.learner.snapshot(),
                 final_weights=current.weights, final_version=current.version,
                 weights_path=[(version.effective_from, dict(version.weights)) for version in run.versions],
                 validation_daily=[daily for _, daily in validation])


def validation_figures(part: Part, config: PeperConfig) -> tuple[dict[str, float | int | None], np.ndarray]:
    """The five figures of a validation window and `evidence`: the share of block-bootstrap resamples
    of its days in which the configuration's Sharpe is above cash's 0; and its daily returns."""
    figures, daily = summarize([part])
    training = config.training
    figures["evidence"] = chance_above_zero(daily, block_days=training.bootstrap_block_days,
                                            samples=training.bootstrap_samples, seed=config.learning.seed)
    return figures, daily


def family_evidence(tried: list[Tried], fold: int, config: PeperConfig) -> float:
    """How sure the validation days of fold `fold` (0-based) are that the best trading configuration
    beats cash, for all of them having been tried (`analytics.bootstrap.best_above_zero`)."""
    daily = [one.validation_daily[fold] for one in tried if not stands_aside(one.candidate)]
    if not daily:
        return 0.0
    training = config.training
    return best_above_zero(np.array(daily), block_days=training.bootstrap_block_days,
                           samples=training.bootstrap_samples, seed=config.learning.seed)


def choose(tried: list[Tried], fold: int, metric: str, evidence: float = 0.0, family: float = 1.0) -> Tried:
    """The configuration whose validation window of fold `fold` (0-based) scores best on `metric`,
    then on ROI, then the lower number, among those with at least `evidence` (all when 0); standing
    aside when none has it, or when the family's evidence (`family_evidence`) is below `evidence` —
    the test windows are never read here."""

    def key(one: Tried) -> tuple[float, float, int]:
        found = one.validation[fold]
        value = found[metric] if found[metric] is not None else float("-inf")
        return value, found["roi"], -one.candidate.number

    trading = [one for one in tried if not stands_aside(one.candidate)]
    sure = [one for one in trading if one.validation[fold]["evidence"] >= evidence] if evidence > 0 else trading
    if not sure or evidence > 0 and family < evidence:
        return next(one for one in tried if stands_aside(one.candidate))
    return max(sure, key=key)
