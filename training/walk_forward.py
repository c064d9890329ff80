"""A training run's judgement over recorded votes: what was chosen on validation, and how it did on test.

Consumes the recorded chunks of the run's span (bars and every model's votes), the run's config and
its `Plan` (folds of train → validate → test); produces an `Outcome`: every configuration tried
(`training.search`, on its own models' votes), per fold the one chosen on its validation window
(with its evidence and that of the best of all, `family_evidence`) and, on its test window,
the learned policy (that choice) beside every baseline — `cash`, `buy_and_hold` (equal parts
bought at the window's first open), `equal_weights`, `initial_weights`, `seed` (the seed's rule
learning with the run's `[learning]`), each model alone — then the aggregate over the test
windows one after another, each baseline's block-bootstrap 95 % interval of the learned Sharpe
minus its own, and the last fold's choice (learned through the whole span): the policy.
Every baseline is a continuous run over the same chunks through the same code, sliced the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analytics.bootstrap import sharpe_difference
from analytics.simulate import fixed_weight_sets
from config.build import configured
from config.schema import PeperConfig
from config.times import DAY_MS, iso
from config.topology import topology_of
from learning.simulate import simulate
from trading.assembly import Ready
from training.evaluate import Part, buy_and_hold_part, cash_part, run_part, summarize
from training.search import OfflineInputs, Tried, candidates, choose, family_evidence, stands_aside, try_candidate
from training.windows import Plan, Window

LEARNED = "learned"


@dataclass
class Outcome:
    document: dict[str, object]   # JSON-ready: tried, folds, aggregate, intervals, daily
    policy: Tried                 # the last fold's choice


def evaluate_plan(chunks: list[Ready], config: PeperConfig, plan: Plan, interval_ms: int,
                  advance: Callable[[str], None] = lambda step: None) -> Outcome:
    """advance(step) is called after each configuration or baseline run (progress)."""
    inputs = OfflineInputs(chunks, config)
    tried = []
    for candidate in candidates(config):
        tried.append(try_candidate(candidate, inputs, interval_ms, plan.folds))
        advance(f"configuration {candidate.number}: {candidate.describe()}")
    baselines = baseline_parts(chunks, config, plan, interval_ms, inputs, advance)
    parts: dict[str, list[Part]] = {LEARNED: []}
    folds = []
    for index, fold in enumerate(plan.folds):
        family = family_evidence(tried, index, config)
        chosen = choose(tried, index, config.training.metric, config.training.evidence, family)
        parts[LEARNED].append(chosen.tests[index])
        for name, found in baselines.items():
            parts.setdefault(name, []).append(found[index])
        folds.append({
            "number": fold.number, "train": window_doc(fold.train), "validate": window_doc(fold.validate),
            "test": window_doc(fold.test), "chosen": chosen.candidate.number, "chosen_changes": chosen.candidate.changes,
            "validation": chosen.validation[index], "stood_aside": stands_aside(chosen.candidate),
            "surest": surest(tried, index), "family_evidence": family,
            "strategies": {name: summarize([found[index]])[0] for name, found in parts.items()},
        })
    aggregate, daily = {}, {}
    for name, found in parts.items():
        aggregate[name], daily[name] = summarize(found)
    training = config.training
    intervals = {name: sharpe_difference(daily[LEARNED], returns, block_days=training.bootstrap_block_days,
                                         samples=training.bootstrap_samples, seed=config.learning.seed)
                 for name, returns in daily.items() if name != LEARNED}
    policy = next(one for one in tried if one.candidate.number == folds[-1]["chosen"])
    document = {
        "metric": training.metric,
        "evidence": training.evidence,
        "span": window_doc(plan.span),
        "tried": [{"number": one.candidate.number, "changes": one.candidate.changes,
                   "validation": one.validation} for one in tried],
        "folds": folds,
        "aggregate": aggregate,
        "intervals": intervals,
        "daily": {"day": test_days(parts[LEARNED]), **{name: returns.tolist() for name, returns in daily.items()}},
        "policy_weights": daily_path(policy.weights_path),
    }
    return Outcome(document, policy)


def surest(tried: list[Tried], fold: int) -> dict[str, object] | None:
    """The trading configuration whose validation days beat cash most surely in fold `fold` (0-based)."""
    trading = [one for one in tried if not stands_aside(one.candidate)]
    if not trading:
        return None
    best = max(trading, key=lambda one: (one.validation[fold]["evidence"], -one.candidate.number))
    return {"number": best.candidate.number, "evidence": best.validation[fold]["evidence"]}


def baseline_parts(chunks: list[Ready], config: PeperConfig, plan: Plan, interval_ms: int, inputs: OfflineInputs,
                   advance: Callable[[str], None]) -> dict[str, list[Part]]:
    """Every baseline's part of every fold's test window, in the report's order."""
    ticks = np.unique(np.concatenate([ready.ticks for ready in chunks])) if chunks else np.empty(0, np.int64)
    tests = [fold.test for fold in plan.folds]
    found: dict[str, list[Part]] = {
        "cash": [cash_part(ticks, window, config.trader.initial_equity) for window in tests],
        "buy_and_hold": [buy_and_hold_part(chunks, window, config.trader) for window in tests],
    }
    topology = topology_of(config)
    fixed = fixed_weight_sets(config, topology.models, topology.initial_weights(config))
    seed = configured(config, learning={"algorithm": "seed"})
    for name in ("equal_weights", "initial_weights", "seed", *topology.models):
        if name == "seed":
            run = simulate(chunks, seed, interval_ms, learn=True, credit=inputs.credit(seed))
        else:
            run = simulate(chunks, config, interval_ms, learn=False, weights=fixed[name])
        found[name] = [run_part(run, window) for window in tests]
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


def daily_path(path: list[tuple[int, dict[str, float]]]) -> list[dict[str, object]]:
    """The weights in force at the end of each UTC day that had a new version."""
    by_day: dict[int, dict[str, float]] = {}
    for start, weights in path:
        by_day[start // DAY_MS] = weights
    return [{"day": iso(day * DAY_MS)[:10], "weights": weights} for day, weights in by_day.items()]


def window_doc(window: Window) -> dict[str, object]:
    return {"start": iso(window.start), "end": iso(window.end), "days": window.days}
