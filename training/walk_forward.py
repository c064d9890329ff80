"""A training run's judgement over recorded votes: what was chosen on validation, and how it did on test.

Consumes the recorded chunks of the run's span (bars, decision bars and every model's votes), the
run's config and its `Plan` (folds of train → validate → test); produces an `Outcome`: every
configuration tried (`training.search`, on its own models' votes), per fold the one chosen on its
validation window (and Hansen's SPA p-value of the best of all against cash there) and, on its
test window, the learned policy (that choice) beside every baseline — `cash`, `buy_and_hold`
(equal parts bought at the window's first open, fully invested), `buy_and_hold_at_exposure` (the
same at the learned policy's mean exposure), `equal_weights`, `initial_weights`, `seed` (the seed's
rule learning with the run's `[learning]`), each model alone — then the aggregate over the test
windows one after another, each baseline's block-bootstrap 95 % interval of the learned Sharpe
minus its own, the deflated Sharpe ratio of the learned policy for every configuration the catalog
has tried, and the last fold's choice (learned through the whole span): the policy. Every baseline
is a continuous run over the same chunks through the same code, sliced the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analytics.baselines import fixed_weight_sets
from analytics.outcome import DailyDoc, FoldDoc, Interval, Outcome, TriedDoc, WeightsDay, WindowDoc
from analytics.parts import at_exposure, buy_and_hold_part, cash_part, run_part
from analytics.performance import Part, daily_sharpe, deflated_sharpe, reality_check, sharpe_difference, summarize
from common.times import DAY_MS, iso
from config.build import configured
from config.schema import PeperConfig
from config.topology import topology_of
from learning.offline import simulate
from trading.assembly import VotedChunk
from training.search import OfflineInputs, Tried, candidates, choose, edges, try_candidate
from training.windows import Plan, Window

LEARNED = "learned"
AT_EXPOSURE = "buy_and_hold_at_exposure"


@dataclass
class Judged:
    outcome: Outcome
    policy: Tried  # the last fold's choice
    trial_sharpes: list[float]  # every configuration's daily Sharpe on its validation windows (the DSR's trials)


def evaluate_plan(
    chunks: list[VotedChunk],
    config: PeperConfig,
    plan: Plan,
    earlier_trials: list[float] = (),
    advance: Callable[[str], None] = lambda step: None,
) -> Judged:
    """advance(step) is called after each configuration or baseline run (progress); `earlier_trials`:
    the daily Sharpe ratios of the configurations the catalog tried before this run."""
    inputs = OfflineInputs(chunks, config)
    tried = []
    for candidate in candidates(config):
        tried.append(try_candidate(candidate, inputs, plan.folds))
        advance(f"configuration {candidate.number}: {candidate.describe()}")
    baselines = baseline_parts(chunks, config, plan, inputs, advance)
    training = config.training
    parts: dict[str, list[Part]] = {LEARNED: []}
    chosen_per_fold = []
    for index in range(len(plan.folds)):
        chosen = choose(tried, index, training.metric)
        chosen_per_fold.append(chosen)
        parts[LEARNED].append(chosen.tests[index])
    for name, found in baselines.items():
        parts[name] = found
    exposure = summarize(parts[LEARNED])[0].exposure
    parts[AT_EXPOSURE] = [at_exposure(hold, exposure) for hold in baselines["buy_and_hold"]]
    folds = []
    for index, (fold, chosen) in enumerate(zip(plan.folds, chosen_per_fold)):
        validation_days = np.array([one.validation_daily[index] for one in tried])
        folds.append(
            FoldDoc(
                number=fold.number,
                train=window_doc(fold.train),
                validate=window_doc(fold.validate),
                test=window_doc(fold.test),
                chosen=chosen.candidate.number,
                chosen_changes=chosen.candidate.changes,
                validation=chosen.validation[index],
                strategies={name: summarize([found[index]])[0] for name, found in parts.items()},
                reality_check=reality_check(
                    validation_days,
                    block_days=training.bootstrap_block_days,
                    samples=training.bootstrap_samples,
                    seed=config.learning.seed,
                ),
            )
        )
    aggregate, daily = {}, {}
    for name, found in parts.items():
        aggregate[name], daily[name] = summarize(found)
    intervals = {
        name: Interval(
            **sharpe_difference(
                daily[LEARNED],
                returns,
                block_days=training.bootstrap_block_days,
                samples=training.bootstrap_samples,
                seed=config.learning.seed,
            )
        )
        for name, returns in daily.items()
        if name != LEARNED
    }
    trial_sharpes = [daily_sharpe(np.concatenate(one.validation_daily)) for one in tried]
    trials = [*earlier_trials, *trial_sharpes]
    policy = chosen_per_fold[-1]
    outcome = Outcome(
        metric=training.metric,
        span=window_doc(plan.span),
        tried=[TriedDoc(one.candidate.number, one.candidate.changes, one.validation) for one in tried],
        folds=folds,
        aggregate=aggregate,
        intervals=intervals,
        daily=DailyDoc(test_days(parts[LEARNED]), {name: returns.tolist() for name, returns in daily.items()}),
        policy_weights=daily_path(policy.weights_path, plan.span.start),
        trials=len(trials),
        deflated_sharpe=deflated_sharpe(daily[LEARNED], len(trials), float(np.var(trials)) if trials else 0.0),
    )
    return Judged(outcome, policy, trial_sharpes)


def baseline_parts(
    chunks: list[VotedChunk], config: PeperConfig, plan: Plan, inputs: OfflineInputs, advance: Callable[[str], None]
) -> dict[str, list[Part]]:
    """Every baseline's part of every fold's test window, in the report's order."""
    ticks = np.unique(np.concatenate([voted.ticks for voted in chunks])) if chunks else np.empty(0, np.int64)
    tests = [fold.test for fold in plan.folds]
    found: dict[str, list[Part]] = {
        "cash": [cash_part(ticks, window.start, window.end, config.trader.initial_equity) for window in tests],
        "buy_and_hold": [buy_and_hold_part(chunks, window.start, window.end, config.trader) for window in tests],
    }
    topology = topology_of(config)
    fixed = fixed_weight_sets(config, topology.models, topology.initial_weights(config))
    seed = configured(config, learning={"algorithm": "seed"})
    cuts = edges(plan.folds)
    for name in ("equal_weights", "initial_weights", "seed", *topology.models):
        if name == "seed":
            run = simulate(chunks, seed, learn=True, credit=inputs.credit(seed), cuts=cuts)
        else:
            run = simulate(chunks, config, learn=False, weights=fixed[name], cuts=cuts)
        found[name] = [run_part(run, window.start, window.end) for window in tests]
        advance(f"baseline {name}")
    return found


def baseline_count(config: PeperConfig) -> int:
    """How many baseline runs `evaluate_plan` makes (for a progress bar's total)."""
    return 3 + len(topology_of(config).models)


def test_days(parts: list[Part]) -> list[str]:
    """The UTC dates of the daily returns, in order."""
    days = []
    for part in parts:
        if len(part.times):
            days.extend(iso(int(day) * DAY_MS)[:10] for day in np.unique(part.times // DAY_MS))
    return days


def daily_path(path: list[tuple[int, dict[str, float]]], span_start: int) -> list[WeightsDay]:
    """The weights in force at the end of each UTC day that had a new version; the versions in force
    before the span (the first is effective from time 0) count on its first day."""
    by_day: dict[int, dict[str, float]] = {}
    for start, weights in path:
        by_day[max(start, span_start) // DAY_MS] = weights
    return [WeightsDay(iso(day * DAY_MS)[:10], weights) for day, weights in by_day.items()]


def window_doc(window: Window) -> WindowDoc:
    return WindowDoc(iso(window.start), iso(window.end), window.days)
