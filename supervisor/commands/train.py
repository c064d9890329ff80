"""`python -m supervisor train`: record the span once, choose on validation, judge walk-forward on test.

Consumes the config (`[training]`, `[test]`) and the window flags; runs the training loop
(`training.loop`) over a kline source — the span's topology run by the daemon in this process
(`DaemonTopology`) — then writes its report (`supervisor.commands.report`) and prints the policy
it stored (`--json`: the report document on stdout).
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, get_args

import uvloop
from rich.console import Console
from rich.logging import RichHandler

from bus.runtime import LOG_LEVEL_ENV
from common.times import DAY_MS, parse_time
from config.schema import Algorithm, PeperConfig
from marketdata.sources import load_source
from marketdata.synthetic import START_MS
from messages.errors import WindowError
from storage.backup import make_backup
from storage.catalog import Catalog
from supervisor.commands.report import console_for, write_report
from supervisor.daemon import Daemon
from training.loop import TrainResult, train
from training.session_runner import SessionTopology
from training.windows import FLAGS, resolve_iterations, resolve_plan


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "train",
        parents=[common],
        help="choose the learner and thresholds on validation, judge them out of sample",
        description="Replays the span once through the whole topology and records every model's votes; then runs "
        "every configuration of [training] grid and every baseline over those votes through the trader's "
        "and learner's own code. Each fold chooses on its validation window only and is judged on its "
        "test window; the report aggregates the test windows. Missing dates are filled from the end of "
        "the data: the tests cover the last [test] test_period_days (cut into --folds windows), each "
        "validation the validation_days before its test, training everything earlier. The last fold's "
        "choice, learned through the span, is stored as a policy for `run --policy`.",
    )
    parser.add_argument(
        "--replay", metavar="SOURCE", help="klines folder/file, lmdb:PATH or synthetic[:SEED] (default [feed] source)"
    )
    for flag in FLAGS:
        kind, _, edge = flag.partition("_")
        parser.add_argument(
            f"--{kind}-{edge}",
            dest=flag,
            metavar="T",
            help=f"{kind} window {'start' if edge == 'from' else 'end, exclusive'} (ISO date/datetime, UTC)",
        )
    parser.add_argument(
        "--folds", type=int, metavar="K", help="walk-forward folds over the test span (default [training] folds)"
    )
    parser.add_argument(
        "--iterations",
        type=int,
        metavar="N",
        nargs="?",
        const=0,
        help="the seed's loop instead of --folds: N consecutive test windows of [test] test_period_days, "
        "the learner carried from one to the next, stopping at the first whose win rate >= "
        "[test] target_win_rate with ROI > 0 (N omitted: [test] max_iterations)",
    )
    parser.add_argument(
        "--algorithm",
        choices=get_args(Algorithm),
        help="weight update rule (default [learning] algorithm)",
    )
    parser.add_argument("--catalog", metavar="PATH", help="the training catalog (default [database] training_path)")
    parser.add_argument("--json", action="store_true", help="print the report's JSON document on stdout")
    parser.add_argument("--verbose", action="store_true", help="show every actor's log lines, not only warnings")


def overrides(args: argparse.Namespace) -> dict[str, object]:
    found: dict[str, object] = {}
    if args.replay:
        found.update({"feed.mode": "replay", "feed.source": args.replay})
    if args.folds is not None:
        found["training.folds"] = args.folds
    if args.algorithm:
        found["learning.algorithm"] = args.algorithm
    return found


class DaemonTopology(SessionTopology):
    """A session's topology: the daemon in this process's event loop, until every finite actor ended."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.daemon: Daemon | None = None

    async def run(self, config: PeperConfig) -> None:
        self.daemon = Daemon(config, self.run_dir, exit_at_end=True, handle_signals=False)
        await self.daemon.run()

    def stop(self, reason: str) -> None:
        if self.daemon is not None:
            self.daemon.request_stop(reason)


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    console = console_for(stderr=True)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        handlers=[RichHandler(console=console)],
        format="%(name)s: %(message)s",
    )
    os.environ.setdefault(LOG_LEVEL_ENV, "INFO" if args.verbose else "WARNING")
    flags = {flag: getattr(args, flag) for flag in FLAGS}
    with console.status(f"reading {config.feed.source} for its span ..."):
        data_start, data_end = data_span(config, flags)
    if args.iterations is not None:
        if args.iterations < 0 or args.folds is not None:
            raise WindowError("--iterations takes a count of at least 1, and replaces --folds (give one of them)")
        plan = resolve_iterations(
            flags, config.test, args.iterations or config.test.max_iterations, data_start, data_end
        )
    else:
        plan = resolve_plan(flags, config.test, config.training.folds, data_start, data_end)
    kind = "iteration" if args.iterations is not None else "fold"
    for fold in plan.folds:
        console.print(
            f"{kind} {fold.number}: " + "; ".join(w.describe() for w in (fold.train, fold.validate, fold.test))
        )
    catalog = Catalog(Path(args.catalog or config.database.training_path))
    run_dir = args.run_dir if args.explicit_run_dir else args.run_dir.with_name(args.run_dir.name + "-train")
    training = train(
        config, catalog, plan, lambda: DaemonTopology(run_dir), console, iterations=args.iterations is not None
    )
    return train_then_report(training, catalog, config, console, as_json=args.json)


def train_then_report(
    training: Coroutine[Any, Any, TrainResult],
    catalog: Catalog,
    config: PeperConfig,
    console: Console,
    *,
    as_json: bool = False,
    label: str = "run",
) -> int:
    """Run the training loop, write its report, close the catalog; 130 when Ctrl-C ended it."""
    try:
        try:
            result = uvloop.run(training)
        except KeyboardInterrupt:
            console.print(
                "interrupted (Ctrl-C) while judging the configurations: the span's recording is kept in "
                f"{catalog.sessions_dir}; no policy was stored"
            )
            return 130
        if result.interrupted:
            return 130
        document = write_report(catalog, result.run, config, console, as_json=as_json, label=label)
        policy = document["policy"]
        console.print(
            f"stored policy {policy['id']}: weights version {policy['weights_version']}, lgbm_ai model "
            f"{policy['lgbm_version'] or 'none'}; trade with it: python -m supervisor run --policy {policy['id']}"
        )
        backup = make_backup(catalog.store, config.database.max_backup_files)
        console.print(
            f"catalog backed up to {backup} (restore with: python -m supervisor db restore {catalog.store.path})"
        )
    finally:
        catalog.close()
    return 0


def data_span(config: PeperConfig, flags: dict[str, str | None]) -> tuple[int, int]:
    """First bar's open time and last bar's end of the source (synthetic: up to the latest flag)."""
    source = config.feed.source
    end_ms = None
    if source.startswith("synthetic"):
        given = [parse_time(value) for value in flags.values() if value]
        end_ms = max(given) if given else START_MS + 7 * DAY_MS
    table = load_source(source, interval=config.feed.interval, symbols=list(config.test.symbols), end_ms=end_ms)
    return int(table.open_time[0]), int(table.open_time[-1]) + table.interval_ms
