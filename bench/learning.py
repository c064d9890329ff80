"""Learning benchmark: does learning help out of sample? Each algorithm trained, then tested.

Consumes a folder of klines in the shared format (`<SYMBOL>-<interval>.csv[.gz]`, 1m, 3m or 5m;
the interval is read from the file names, or `--interval`), a training window and a test window;
produces the section `learning`: for each learning algorithm (`seed`, `hedge`, `thompson`), the
training loop of `python -m supervisor train` on the training window (its last fifth validates,
the rest trains; `--iterations`, default 1) and one walk-forward session on the test window with
the kept weights; then, for the test window, `test.<strategy>.{win_rate, roi, max_drawdown,
trades, sharpe}` for the three algorithms, `equal_weights`, `initial_weights`, each model alone
and `buy_and_hold` (the baselines replayed on the recorded votes of the same test window).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import msgspec
from rich.console import Console

from analytics.report import build_report
from bench.data import KLINES, REPO_ROOT_CONFIG
from config import load_config
from config.runtime import LOG_LEVEL_ENV
from config.schema import PeperConfig
from config.times import parse_time
from messages.errors import SourceError
from storage.catalog import Catalog
from supervisor.commands.train import DaemonTopology, data_span
from supervisor.harness import short_run_dir
from training.loop import train
from training.windows import Window, check_windows

ALGORITHMS = ("seed", "hedge", "thompson")
FIELDS = ("win_rate", "roi", "max_drawdown", "trades", "sharpe")
_INTERVAL = re.compile(r"^[A-Z0-9]+-(\d+[mh])\b")


def detect_interval(folder: Path) -> str:
    found = sorted({m.group(1) for f in folder.iterdir() if (m := _INTERVAL.match(f.name))}) if folder.is_dir() else []
    if not found:
        raise SourceError(f"{folder}: no <SYMBOL>-<interval>.csv[.gz] kline files")
    if len(found) > 1:
        if "1m" in found:
            return "1m"
        raise SourceError(f"{folder}: klines of several intervals ({', '.join(found)}); choose one with --interval")
    return found[0]


def windows_for(train_from: str, train_to: str, test_from: str, test_to: str) -> list[Window]:
    train_start, train_end = parse_time(train_from), parse_time(train_to)
    validate_start = train_end - (train_end - train_start) // 5
    return [Window("train", train_start, validate_start), Window("validate", validate_start, train_end),
            Window("test", parse_time(test_from), parse_time(test_to))]


def learn(config: PeperConfig, windows: list[Window], workdir: Path, console: Console) -> dict:
    catalog = Catalog(workdir / "train.lmdb")
    try:
        run_dir = short_run_dir()
        asyncio.run(train(config, catalog, windows, lambda: DaemonTopology(run_dir), console, show_progress=False))
        document, _ = build_report(catalog)
    finally:
        catalog.close()
    return document


@contextlib.contextmanager
def quiet_actors() -> Iterator[None]:
    """Actors log warnings only meanwhile: their routine lines would drown the table."""
    previous = os.environ.get(LOG_LEVEL_ENV)
    os.environ[LOG_LEVEL_ENV] = "WARNING"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[LOG_LEVEL_ENV]
        else:
            os.environ[LOG_LEVEL_ENV] = previous


def pick(metrics: dict) -> dict[str, object]:
    return {field: metrics.get(field) for field in FIELDS}


def run(runs: int, quick: bool, *, data: Path | None = None, train_from: str | None = None, train_to: str | None = None,
        test_from: str | None = None, test_to: str | None = None, interval: str | None = None,
        iterations: int = 1) -> dict[str, object]:
    data = data or KLINES
    interval = interval or detect_interval(data)
    if not all((train_from, train_to, test_from, test_to)):
        train_from, train_to, test_from, test_to = (
            ("2021-04-02", "2021-04-04T12:00", "2021-04-04T12:00", "2021-04-05") if quick
            else ("2021-04-02", "2021-04-30", "2021-05-07", "2021-05-14"))
    windows = windows_for(train_from, train_to, test_from, test_to)
    base = load_config(REPO_ROOT_CONFIG, environ={}, overrides={
        "feed.source": str(data), "feed.interval": interval, "test.max_iterations": iterations})
    check_windows(windows, *data_span(base, {}))
    console = Console(stderr=True)
    test: dict[str, dict[str, object]] = {}
    baselines: dict[str, dict] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as scratch, quiet_actors():
        for algorithm in ALGORITHMS:
            config = msgspec.structs.replace(base, learning=msgspec.structs.replace(base.learning, algorithm=algorithm))
            document = learn(config, windows, Path(scratch) / algorithm, console)
            section = document["out_of_sample"]
            test[algorithm] = pick(section["metrics"])
            baselines = baselines or section["baselines"]
            notes = notes or section["llm"]
    for name, metrics in baselines.items():
        test[name] = pick(metrics)
    return {"data": str(data), "interval": interval, "iterations": iterations,
            "windows": {w.kind: w.describe() for w in windows},
            "train_window": f"{train_from} .. {train_to} (last fifth validates)", "test_window": f"{test_from} .. {test_to}",
            "test": test, "notes": notes}
