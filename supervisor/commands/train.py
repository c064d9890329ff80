"""`python -m supervisor train`: iterations of replay over a training window, validation, a walk-forward test.

Consumes the config and the window flags; runs the training loop (`training.loop`) over windows of
a kline source — each session's topology run by the daemon in this process (`DaemonTopology`) —
and then writes its report (`supervisor.commands.report`).
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import uvloop
from rich.console import Console
from rich.logging import RichHandler

from config.runtime import LOG_LEVEL_ENV
from config.schema import PeperConfig
from config.times import DAY_MS, parse_time
from marketdata.sources import load_source
from marketdata.synthetic import START_MS
from storage.catalog import Catalog
from supervisor.commands.report import console_for, write_report
from supervisor.daemon import Daemon
from training.loop import TrainResult, train
from training.session_runner import Topology
from training.windows import resolve_windows

WINDOW_FLAGS = ("train_from", "train_to", "validate_from", "validate_to", "test_from", "test_to")


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "train", parents=[common], help="train the weights over a window, validate, then test out of sample",
        description="Iterations of replay over the training window through the whole topology (learner on, weights "
                    "carried forward), each validated on the following window with the weights frozen; stops at "
                    "[test] target_win_rate or max_iterations; then one walk-forward test on a later window. "
                    "Missing window dates are filled from the end of the data: test = the last test_period_days, "
                    "validation = the validation_days before, training = the rest.")
    parser.add_argument("--replay", metavar="SOURCE", help="klines folder/file, lmdb:PATH or synthetic[:SEED] (default [feed] source)")
    for flag in WINDOW_FLAGS:
        kind, _, edge = flag.partition("_")
        parser.add_argument(f"--{kind}-{edge}", dest=flag, metavar="T",
                            help=f"{kind} window {'start' if edge == 'from' else 'end, exclusive'} (ISO date/datetime, UTC)")
    parser.add_argument("--iterations", type=int, metavar="N", help="at most N iterations (default [test] max_iterations)")
    parser.add_argument("--algorithm", choices=["seed", "hedge", "thompson"], help="weight update rule (default [learning] algorithm)")
    parser.add_argument("--db", metavar="PATH", help="training catalog (default [database] training_path)")
    parser.add_argument("--verbose", action="store_true", help="show every actor's log lines, not only warnings")


def overrides(args: argparse.Namespace) -> dict[str, object]:
    found: dict[str, object] = {}
    if args.replay:
        found.update({"feed.mode": "replay", "feed.source": args.replay})
    if args.iterations is not None:
        found["test.max_iterations"] = args.iterations
    if args.algorithm:
        found["learning.algorithm"] = args.algorithm
    return found


class DaemonTopology(Topology):
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
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, handlers=[RichHandler(console=console)],
                        format="%(name)s: %(message)s")
    os.environ.setdefault(LOG_LEVEL_ENV, "INFO" if args.verbose else "WARNING")
    flags = {flag: getattr(args, flag) for flag in WINDOW_FLAGS}
    data_start, data_end = data_span(config, flags)
    windows = resolve_windows(flags, config.test, data_start, data_end)
    for window in windows:
        console.print(window.describe())
    catalog = Catalog(Path(args.db or config.database.training_path))
    run_dir = args.run_dir if args.explicit_run_dir else args.run_dir.with_name(args.run_dir.name + "-train")
    return train_then_report(train(config, catalog, windows, lambda: DaemonTopology(run_dir), console), catalog, config,
                             console)


def train_then_report(training: Coroutine[Any, Any, TrainResult], catalog: Catalog, config: PeperConfig,
                      console: Console) -> int:
    """Run the training loop, write its report, close the catalog; 130 when Ctrl-C ended it."""
    try:
        result = uvloop.run(training)
        console.print(f"run {result.run}: {result.stop_reason}")
        write_report(catalog, result.run, config, console, as_json=False)
    finally:
        catalog.close()
    return 130 if result.interrupted else 0


def data_span(config: PeperConfig, flags: dict[str, str | None]) -> tuple[int, int]:
    """First bar's open time and last bar's end of the source (synthetic: up to the latest flag)."""
    source = config.feed.source
    end_ms = None
    if source.startswith("synthetic"):
        given = [parse_time(value) for value in flags.values() if value]
        end_ms = max(given) if given else START_MS + 7 * DAY_MS
    table = load_source(source, interval=config.feed.interval, symbols=list(config.test.symbols), end_ms=end_ms)
    return int(table.open_time[0]), int(table.open_time[-1]) + table.interval_ms
