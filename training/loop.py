"""`python -m supervisor train`: the seed's run_reinforcement_learning, judged walk-forward out of sample.

Consumes the config (`[training]`: the grid of configurations, the metric, the bootstrap), the
catalog, the `Plan` (the span and its folds) and what runs a topology; produces a training run in
the catalog, in three steps:
1. the span session: the whole span replayed once through the topology and recorded — every model
   votes on every bar, lgbm_ai training walk-forward, only ever from bars before the one it votes on;
2. from those recorded votes (a re-votable model's cast again for a configuration that changes its
   settings, `training.revote`), every configuration of `[training] grid` and every baseline run
   offline through the trader's and the learner's own code, each fold choosing on its validation
   window only (`training.walk_forward`) — or, with `--iterations`, the seed's loop over
   consecutive windows (`training.iterations`);
3. the outcome (`train.result.<run>` in the catalog, which `report` renders) and the policy: the
   last fold's choice, learned through the whole span, that `run --policy` trades with.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from analytics.baselines import recorded_chunks
from analytics.recording import read_recording
from config.schema import PeperConfig
from storage.catalog import Catalog
from storage.policies import Policy
from training.iterations import iterate_plan
from training.policies import make_policy
from training.search import candidates
from training.session_runner import RunTopology, SessionPlan, SessionRunner
from training.walk_forward import baseline_count, evaluate_plan
from training.windows import Plan


@dataclass
class TrainResult:
    run: int
    policy: Policy | None  # None when interrupted before it was made
    interrupted: bool


async def train(
    config: PeperConfig,
    catalog: Catalog,
    plan: Plan,
    topology: RunTopology,
    console: Console,
    *,
    show_progress: bool = True,
    on_session: Callable[[Path], None] | None = None,
    iterations: bool = False,
) -> TrainResult:
    """`topology()` makes what runs the span's topology (the daemon, handed in by the command line);
    on_session(recording) is called as the span session starts (the demo's monitor follows it);
    `iterations`: the plan's folds are the seed's loop (`training.iterations`), stopping at the first
    that meets its criterion."""
    tried = candidates(config)  # a bad grid fails here, before anything runs
    run = catalog.next_run()
    catalog.save_run_config(run, config)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False, disable=not show_progress) as progress:
        runner = SessionRunner(config, catalog, topology, progress, on_session)
        _handle_interrupts(runner)
        try:
            session = await runner.run(SessionPlan(f"{run}.span", run, "span", plan.span))
        finally:
            _release_interrupts()
        if runner.interrupted:
            console.print(f"run {run}: interrupted during the span session; its recording is kept, nothing was judged")
            return TrainResult(run, None, True)
        recording_path = catalog.path.parent / session.recording
        chunks = recorded_chunks(read_recording(recording_path), config)
        task = progress.add_task(
            f"run {run}: {len(tried)} configurations and the baselines, on the recorded votes",
            total=len(tried) + baseline_count(config),
        )
        judge = iterate_plan if iterations else evaluate_plan
        judged = judge(chunks, config, plan, catalog.trials(), advance=lambda step: progress.advance(task))
    learned_upto = int(chunks[-1].ticks[-1]) if chunks else plan.span.start
    policy = make_policy(catalog, run, config, judged.policy, recording_path, learned_upto)
    catalog.add_trials(judged.trial_sharpes)
    catalog.save_result(run, msgspec.structs.replace(judged.outcome, policy=policy.id))
    return TrainResult(run, policy, False)


def _handle_interrupts(runner: SessionRunner) -> None:
    """Ctrl-C during the span session ends it in order, keeping what was recorded."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, runner.interrupt)


def _release_interrupts() -> None:
    """Afterwards Ctrl-C interrupts at once (the offline runs have nothing to end in order)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)
