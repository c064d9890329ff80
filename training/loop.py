"""`python -m supervisor train`: the seed's run_reinforcement_learning, judged out of sample.

Consumes the config, the kline source and the three windows; produces a training run in the
catalog: per iteration a `train` session (the training window replayed through the whole
topology with the learner on, weights carried over from the iteration before) and a `validate`
session (the validation window with those weights frozen and the newest lgbm model pinned); then
one `test` session on the test window with the best validated weights. Stops when a validation
win rate reaches `target_win_rate` with at least `min_trades_per_symbol` trades on every symbol,
or after `max_iterations`. The best validated weights become a new catalog version (cause
`best:<V>`), so they are the latest; every other version stays there to roll back to.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from config.schema import PeperConfig
from config.topology import topology_of
from learning.engine import project
from messages.learning import Weights
from storage.catalog import Catalog
from storage.weights import all_weights, put_weights
from training.session_runner import (
    RunTopology,
    SessionOutcome,
    SessionPlan,
    SessionRunner,
)
from training.windows import Window

log = logging.getLogger("train")


@dataclass
class TrainResult:
    run: int
    stop_reason: str
    best_session: str
    best_version: int
    interrupted: bool


def eligible(outcome: SessionOutcome, config: PeperConfig) -> bool:
    return int(outcome.record.metrics.get("min_trades_per_symbol") or 0) >= config.test.min_trades_per_symbol


def ranking(outcome: SessionOutcome) -> tuple[float, float]:
    metrics = outcome.record.metrics
    return (float(metrics.get("win_rate") or 0.0), float(metrics.get("roi") or 0.0))


async def train(config: PeperConfig, catalog: Catalog, windows: list[Window], topology: RunTopology, console: Console, *,
                show_progress: bool = True, on_session: Callable[[Path], None] | None = None) -> TrainResult:
    """`topology()` makes what runs each session's topology (the daemon, handed in by the command
    line); on_session(recording) is called as each session starts (the demo's monitor follows it)."""
    train_window, validate_window, test_window = windows
    run = catalog.next_run()
    catalog.save_run_config(run, config)
    test = config.test
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False, disable=not show_progress) as progress:
        runner = SessionRunner(config, catalog, topology, progress, on_session)
        _install_interrupt(runner)
        iterations = progress.add_task(f"run {run}: iterations", total=test.max_iterations)
        weights = project(topology_of(config).initial_weights(config), config.learning)
        version = len(all_weights(catalog.store))
        if version == 0:
            put_weights(catalog.store, Weights(version=0, effective_from=0, weights=weights, cause=["initial"]))
        else:
            version = _append_version(catalog, weights, [f"initial:run{run}"])
        best: tuple[SessionOutcome, int, dict[str, float]] | None = None
        stop_reason = f"max_iterations ({test.max_iterations}) reached"
        for iteration in range(1, test.max_iterations + 1):
            trained = await runner.run(SessionPlan(f"{run}.train-{iteration}", run, "train", iteration, train_window,
                                                   learning=True, weights=weights, weights_version=version))
            weights, version = trained.final_weights, trained.record.weights_to
            if runner.interrupted:
                stop_reason = "interrupted (Ctrl-C) during training"
                break
            validated = await runner.run(SessionPlan(f"{run}.validate-{iteration}", run, "validate", iteration,
                                                     validate_window, learning=False, weights=weights,
                                                     weights_version=version, pinned_model=runner.newest_model()))
            progress.advance(iterations)
            metrics = validated.record.metrics
            console.print(f"iteration {iteration}: validation win rate {_percent(metrics.get('win_rate'))}, "
                          f"ROI {_percent(metrics.get('roi'))}, {metrics.get('trades')} trades "
                          f"(fewest on one symbol: {metrics.get('min_trades_per_symbol')}), weights v{version}")
            if best is None or (eligible(validated, config), ranking(validated)) > (eligible(best[0], config), ranking(best[0])):
                best = (validated, version, weights)
            if runner.interrupted:
                stop_reason = "interrupted (Ctrl-C) during validation"
                break
            if eligible(validated, config) and (metrics.get("win_rate") or 0.0) >= test.target_win_rate:
                stop_reason = (f"validation win rate {_percent(metrics.get('win_rate'))} reached the target "
                               f"{_percent(test.target_win_rate)} at iteration {iteration}")
                break
        if best is None:  # interrupted in the first training session: keep what it learned
            best_session, best_weights, best_from = trained.record.id, weights, version
        else:
            best_session, best_from, best_weights = best[0].record.id, best[1], best[2]
        best_version = _append_version(catalog, best_weights, [f"best:{best_from}", best_session])
        catalog.save_best(run, best_session, best_version)
        console.print(f"kept the weights validated in {best_session} (version {best_from}) as version {best_version}")
        if not runner.interrupted:
            await runner.run(SessionPlan(f"{run}.test", run, "test", 0, test_window, learning=False,
                                         weights=best_weights, weights_version=best_version,
                                         pinned_model=runner.newest_model()))
    return TrainResult(run, stop_reason, best_session, best_version, runner.interrupted)


def _append_version(catalog: Catalog, weights: dict[str, float], cause: list[str]) -> int:
    history = all_weights(catalog.store)
    previous = history[-1]
    version = previous.version + 1
    put_weights(catalog.store, Weights(version=version, effective_from=previous.effective_from, weights=weights,
                                       cause=cause))
    return version


def _install_interrupt(runner: SessionRunner) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, runner.interrupt)


def _percent(value: object) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f} %"
