"""The seed's loop, made honest: consecutive test windows, the learner carried from one to the next.

Consumes the recorded chunks of a run's span, its config and a `Plan` whose folds are the loop's
iterations (`training.windows.resolve_iterations`: each test window the `[test] test_period_days`
after the one before, validated on the `validation_days` right before it); produces the run's
`Judged` (`training.walk_forward`) with one `IterationDoc` per iteration: the seed's criteria on its
window (win rate beside ROI, trades against the first iteration's, max drawdown), whether it
improved on the iteration before, and whether it met the seed's criterion (win rate ≥
`[test] target_win_rate` and ROI > 0). The loop stops at the first iteration that meets it: the
outcome then covers the iterations up to that one only (`stopped_early`).

Each configuration learns along the whole span in one continuous run, so the weights an iteration
starts from are the ones the iteration before ended with.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from analytics.outcome import IterationDoc
from analytics.performance import Figures
from config.schema import PeperConfig
from trading.assembly import VotedChunk
from training.walk_forward import LEARNED, Judged, evaluate_plan
from training.windows import Plan, Window


def iterate_plan(
    chunks: list[VotedChunk],
    config: PeperConfig,
    plan: Plan,
    earlier_trials: list[float] = (),
    advance: Callable[[str], None] = lambda step: None,
) -> Judged:
    judged = evaluate_plan(chunks, config, plan, earlier_trials, advance)
    iterations = iteration_docs(judged, config.test.target_win_rate)
    stop = next((doc.number for doc in iterations if doc.met), len(iterations))
    if stop < len(plan.folds):
        shortened = Plan(Window("span", plan.span.start, plan.folds[stop - 1].test.end), plan.folds[:stop])
        judged = evaluate_plan(chunks, config, shortened, earlier_trials, advance)
        iterations = iterations[:stop]
    outcome = msgspec.structs.replace(judged.outcome, iterations=iterations, stopped_early=stop < len(plan.folds))
    return Judged(outcome, judged.policy, judged.trial_sharpes)


def iteration_docs(judged: Judged, target_win_rate: float) -> list[IterationDoc]:
    found: list[IterationDoc] = []
    first: Figures | None = None
    for fold in judged.outcome.folds:
        figures = fold.strategies[LEARNED]
        before = found[-1].figures if found else None
        first = first or figures
        found.append(
            IterationDoc(
                number=fold.number,
                window=fold.test,
                figures=figures,
                trades_vs_first=figures.trades / first.trades if first.trades else None,
                improved=None if before is None else improved(figures, before),
                met=met(figures, target_win_rate),
            )
        )
    return found


def improved(now: Figures, before: Figures) -> bool:
    """Better ROI, and a win rate no worse (no trades counts as the worst win rate)."""
    return now.roi > before.roi and (now.win_rate or 0.0) >= (before.win_rate or 0.0)


def met(figures: Figures, target_win_rate: float) -> bool:
    return figures.win_rate is not None and figures.win_rate >= target_win_rate and figures.roi > 0
