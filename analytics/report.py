"""The report of a training run, as one JSON-ready document (the seed's ReinforcementAnalytics).

Consumes the catalog (the run's config, its outcome document from `train`, its policy, its span
session) and the span's recording; produces a dict that says first whether learning helped — the
verdict: the learned policy against every baseline, aggregated over the folds' test windows — then
each fold (its windows, the configuration chosen on validation, every strategy on its test
window), the aggregate with each baseline's bootstrap interval of the Sharpe difference, the seed's
criteria (win rate always beside ROI), every configuration tried with its validation figures, the
policy, and the span as the topology traded it (per model shadow books, gaps, the LLM's notes).
Wall-clock fields live only under `span_session.started_at/ended_at` and `generated_at`, so two
runs of the same training give documents equal apart from them.
"""

from __future__ import annotations

import time

import msgspec

from analytics.evaluation import evaluate
from analytics.outcome import Outcome
from analytics.recording import Recording, read_recording
from common.times import iso
from config.schema import PeperConfig
from config.topology import topology_of
from messages.errors import ReportError
from storage.catalog import Catalog
from storage.policies import get_policy
from storage.sessions import SessionRecord

LEARNED = "learned"
WIN_RATE_WITHOUT_PROFIT = 0.5  # a win rate at or above this with a loss is bought, not earned
TRADES_FACTOR = 2  # the seed: at least twice the initial-weights baseline's trades
COMPARED = ("roi", "sharpe", "max_drawdown", "win_rate", "trades", "turnover", "exposure")
JUDGED_AGAINST = ("cash", "buy_and_hold", "equal_weights", "initial_weights", "seed")  # and every model alone


def build_report(catalog: Catalog, run: int | None = None) -> tuple[dict[str, object], Recording | None]:
    """The document, and the span's recording it was computed from (for the plots)."""
    run = pick_run(catalog, run)
    config = catalog.run_config(run)
    outcome = catalog.result(run, Outcome)
    if outcome is None:
        raise ReportError(f"run {run} in {catalog.path} was interrupted before it was judged: nothing to report")
    session = next(s for s in catalog.sessions(run) if s.kind == "span")
    recording = read_recording(catalog.path.parent / session.recording)
    policy = get_policy(catalog.store, outcome.policy)
    found = msgspec.to_builtins(outcome)
    aggregate = found["aggregate"]
    models = topology_of(config).models
    document = {
        "run": run,
        "source": session.source,
        "interval": config.feed.interval,
        "decision_interval": config.feed.decision_interval,
        "symbols": list(config.test.symbols),
        "config_hash": session.config_hash,
        "metric": outcome.metric,
        "span": found["span"],
        "verdict": verdict(aggregate, found["intervals"], config, models),
        "configurations_tried": len(outcome.tried),
        "trials": outcome.trials,
        "deflated_sharpe": outcome.deflated_sharpe,
        "folds": found["folds"],
        "aggregate": aggregate,
        "intervals": found["intervals"],
        "criteria": criteria(aggregate, config),
        "iterations": found["iterations"],
        "stopped_early": outcome.stopped_early,
        "target_win_rate": config.test.target_win_rate,
        "max_drawdown": config.test.max_drawdown,
        "tried": found["tried"],
        "policy": None
        if policy is None
        else {
            "id": policy.id,
            "weights_version": policy.weights_version,
            "weights": policy.weights,
            "lgbm_version": policy.lgbm_version,
            "changes": policy.changes,
            "learned_upto": iso(policy.created_at),
        },
        "policy_weights": found["policy_weights"],
        "daily": found["daily"],
        "span_session": span_section(session, recording, config),
        "generated_at": time.time(),
    }
    return document, recording


def pick_run(catalog: Catalog, run: int | None) -> int:
    runs = catalog.runs()
    if not runs:
        raise ReportError(f"{catalog.path} holds no training run yet (run `python -m supervisor train`)")
    if run is not None and run not in runs:
        raise ReportError(f"{catalog.path} has no run {run}; it has runs {', '.join(map(str, runs))}")
    return runs[-1] if run is None else run


def verdict(
    aggregate: dict[str, dict], intervals: dict[str, dict], config: PeperConfig, models: list[str]
) -> dict[str, object]:
    """The bar: the learned policy trades, its ROI after fees is above 0, its Sharpe beats cash,
    buy-and-hold, equal weights, initial weights, the seed's rule and every model alone, and its
    max drawdown is within `[test] max_drawdown`."""
    learned = aggregate[LEARNED]
    missed = [] if learned["sharpe"] is not None else ["Sharpe cannot be judged on fewer than two test days"]
    if learned["trades"] == 0:
        missed.append("it made no trade")
    for name in (*JUDGED_AGAINST, *models):
        metrics = aggregate.get(name)
        if metrics is not None and learned["sharpe"] is not None and not _greater(learned["sharpe"], metrics["sharpe"]):
            missed.append(
                f"{name} on Sharpe ({figure_text('sharpe', learned['sharpe'])} vs "
                f"{figure_text('sharpe', metrics['sharpe'])})"
            )
    if learned["roi"] <= 0:
        missed.append(f"ROI after fees is not positive ({figure_text('roi', learned['roi'])})")
    if learned["max_drawdown"] > config.test.max_drawdown:
        missed.append(
            f"max drawdown {figure_text('roi', learned['max_drawdown'])} exceeds "
            f"{figure_text('roi', config.test.max_drawdown)}"
        )
    sure = sorted(name for name, found in intervals.items() if found["low"] is not None and found["low"] > 0)
    summary = (
        f"learned: ROI {figure_text('roi', learned['roi'])}, Sharpe {figure_text('sharpe', learned['sharpe'])}, "
        f"max drawdown {figure_text('roi', learned['max_drawdown'])}, {learned['trades']} trades, win rate "
        f"{figure_text('roi', learned['win_rate'])}, exposure {figure_text('roi', learned['exposure'])}, "
        f"turnover {learned['turnover']:.1f}x, over the folds' test windows"
    )
    return {
        "learning_helped": not missed,
        "passed": not missed,
        "text": (
            "Learning helped: the learned policy traded, earned after fees and beat every baseline's Sharpe "
            "within the drawdown bound: "
            if not missed
            else "Learning did not clear the bar: "
        )
        + summary
        + ("." if not missed else "; missed: " + "; ".join(missed) + "."),
        "missed": missed,
        "sharpe_better_at_95": sure,
    }


def criteria(aggregate: dict[str, dict], config: PeperConfig) -> list[dict[str, object]]:
    """The seed's production criteria on the aggregate, each with its figure and whether it is met
    (None: not judgeable); win rate sits beside ROI, and a win rate bought with a loss is said so."""
    learned = aggregate[LEARNED]
    win_rate, roi = learned["win_rate"], learned["roi"]
    initial_trades = aggregate["initial_weights"]["trades"]
    bought = win_rate is not None and win_rate >= WIN_RATE_WITHOUT_PROFIT and roi <= 0
    return [
        {
            "criterion": f"win rate >= {config.test.target_win_rate:.0%}",
            "value": f"{figure_text('roi', win_rate)} (ROI {figure_text('roi', roi)})",
            "met": None if win_rate is None else win_rate >= config.test.target_win_rate,
        },
        {"criterion": "ROI > 0 after fees", "value": figure_text("roi", roi), "met": roi > 0},
        {
            "criterion": f"max drawdown <= {config.test.max_drawdown:.0%}",
            "value": figure_text("roi", learned["max_drawdown"]),
            "met": learned["max_drawdown"] <= config.test.max_drawdown,
        },
        {
            "criterion": f"trades >= {TRADES_FACTOR}x initial weights ({initial_trades})",
            "value": str(learned["trades"]),
            "met": learned["trades"] >= max(1, TRADES_FACTOR * initial_trades),
        },
        {
            "criterion": "win rate earned, not bought (no win rate >= 50 % with a loss)",
            "value": (
                f"BOUGHT: {figure_text('roi', win_rate)} won while ROI {figure_text('roi', roi)}"
                if bought
                else f"win rate {figure_text('roi', win_rate)}, ROI {figure_text('roi', roi)}"
            ),
            "met": None if win_rate is None else not bought,
        },
    ]


def span_section(session: SessionRecord, recording: Recording, config: PeperConfig) -> dict[str, object]:
    """The span as the topology traded it with the run's own config: its figures, each model's
    shadow book and voting, the gaps, what the LLM did."""
    found = evaluate(recording, config, baselines=False)
    return {
        "session": session.id,
        "window": {
            "start": iso(session.start),
            "end": iso(session.end),
            "days": (session.end - session.start) / 86_400_000,
        },
        "synthetic": found["synthetic"],
        "bars": found["bars"],
        "metrics": found["metrics"],
        "per_model": found["per_model"],
        "gaps": found["gaps"],
        "llm": session.notes,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
    }


def compare(catalog: Catalog, before: int, after: int) -> dict[str, object]:
    """The seed's calculate_improvement_metrics: run `after`'s learned aggregate minus run `before`'s."""
    found = {}
    for run in (before, after):
        outcome = catalog.result(pick_run(catalog, run), Outcome)
        if outcome is None:
            raise ReportError(f"run {run} in {catalog.path} was interrupted before it was judged")
        found[run] = msgspec.to_builtins(outcome.aggregate[LEARNED])
    a, b = found[before], found[after]
    return {
        "before": before,
        "after": after,
        "metrics": {
            key: {
                "before": a[key],
                "after": b[key],
                "change": None if a[key] is None or b[key] is None else b[key] - a[key],
            }
            for key in COMPARED
        },
    }


def _greater(value: float | None, other: float | None) -> bool:
    return value is not None and (other is None or value > other)


def figure_text(key: str, value: object) -> str:
    if value is None:
        return "-"
    if key == "trades":
        return str(value)
    if key == "turnover":
        return f"{float(value):.1f}x"
    return f"{float(value):.2f}" if key == "sharpe" else f"{float(value) * 100:.1f} %"
