"""Learning benchmark: does learning beat not learning, out of sample, walk-forward?

Consumes a folder of klines in the shared format (`<SYMBOL>-<interval>.csv[.gz]`, any interval;
read from the file names, or `--interval`) and the shipped peper.toml; runs exactly what `python -m
supervisor train --folds K` runs — the span replayed once through the whole topology, then every
configuration of `[training] grid` and every baseline over the recorded votes, each fold choosing
on its validation window only — and produces the section `learning`: `aggregate.<strategy>` over
the folds' test windows one after another and `folds[i].<strategy>` for each test window, each
with `roi`, `sharpe`, `max_drawdown`, `win_rate`, `trades`; the strategies are `learned`, `cash`,
`buy_and_hold`, `equal_weights`, `initial_weights`, `seed` and each model alone. Also every
configuration tried (with its validation figures), the bootstrap intervals and the verdict.

Windows, unless given: the first quarter of the data only trains; the rest is cut into K test
windows; each validates on the `[test] validation_days` before it (at most one test window, and at
most half of what comes before the first test window, so the first fold has data to train on).
`--quick`: the first 45 days of the data, two folds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from analytics.report import build_report
from bench.data import KLINES_2021_2022, REPO_ROOT_CONFIG
from bus.runtime import LOG_LEVEL_ENV
from common.times import DAY_MS, iso, parse_time
from config import load_config
from config.build import configured
from messages.errors import SourceError
from storage.catalog import Catalog
from supervisor.commands.train import DaemonTopology, data_span
from supervisor.harness import short_run_dir
from training.loop import train
from training.windows import FLAGS, resolve_plan

FIELDS = ("roi", "sharpe", "max_drawdown", "win_rate", "trades", "turnover", "exposure")
QUICK_DAYS = 45
_INTERVAL = re.compile(r"^[A-Z0-9]+-(\d+[mh])\b")


def detect_interval(folder: Path) -> str:
    found = sorted({m.group(1) for f in folder.iterdir() if (m := _INTERVAL.match(f.name))}) if folder.is_dir() else []
    if not found:
        raise SourceError(f"{folder}: no <SYMBOL>-<interval>.csv[.gz] kline files")
    if len(found) > 1:
        raise SourceError(f"{folder}: klines of several intervals ({', '.join(found)}); choose one with --interval")
    return found[0]


@contextlib.contextmanager
def quiet_actors() -> Iterator[None]:
    """Actors log warnings only meanwhile: their routine lines would drown the progress bars."""
    previous = os.environ.get(LOG_LEVEL_ENV)
    os.environ[LOG_LEVEL_ENV] = "ERROR"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[LOG_LEVEL_ENV]
        else:
            os.environ[LOG_LEVEL_ENV] = previous


def run(
    runs: int,
    quick: bool,
    *,
    data: Path | None = None,
    interval: str | None = None,
    folds: int | None = None,
    train_from: str | None = None,
    test_from: str | None = None,
    test_to: str | None = None,
) -> dict[str, object]:
    """One training run (learning is deterministic: `runs` does not repeat it)."""
    data = data or KLINES_2021_2022
    interval = interval or detect_interval(data)
    folds = folds or (2 if quick else 4)
    base = load_config(
        REPO_ROOT_CONFIG,
        environ={},
        overrides={"feed.source": str(data), "feed.interval": interval, "training.folds": folds},
    )
    start, end = data_span(base, {})
    if quick:
        end = min(end, start + QUICK_DAYS * DAY_MS)
    first = parse_time(train_from) if train_from else start
    test_start = parse_time(test_from) if test_from else _day(first + (end - first) // 4)
    test_end = parse_time(test_to) if test_to else end
    fold_days = (test_end - test_start) / folds / DAY_MS
    before_days = (test_start - first) / DAY_MS
    config = configured(base, test={"validation_days": min(base.test.validation_days, fold_days, before_days / 2)})
    flags = {**dict.fromkeys(FLAGS), "train_from": iso(first), "test_from": iso(test_start), "test_to": iso(test_end)}
    plan = resolve_plan(flags, config.test, folds, start, end)
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory() as scratch, quiet_actors():
        catalog = Catalog(Path(scratch) / "train.lmdb")
        try:
            run_dir = short_run_dir()
            asyncio.run(train(config, catalog, plan, lambda: DaemonTopology(run_dir), console))
            document, _ = build_report(catalog)
        finally:
            catalog.close()
    return section_of(document, data, interval)


def section_of(document: dict, data: Path, interval: str) -> dict[str, object]:
    def figures(strategies: dict[str, dict]) -> dict[str, dict[str, object]]:
        return {name: {field: metrics[field] for field in FIELDS} for name, metrics in strategies.items()}

    return {
        "data": str(data),
        "interval": interval,
        "decision_interval": document["decision_interval"],
        "span": document["span"],
        "metric": document["metric"],
        "verdict": document["verdict"]["text"],
        "learning_helped": document["verdict"]["learning_helped"],
        "missed": document["verdict"]["missed"],
        "aggregate": figures(document["aggregate"]),
        "folds": [
            {
                "validate_window": fold["validate"],
                "test_window": fold["test"],
                "chosen": fold["chosen_changes"],
                "reality_check": fold["reality_check"],
                **figures(fold["strategies"]),
            }
            for fold in document["folds"]
        ],
        "deflated_sharpe": document["deflated_sharpe"],
        "trials": document["trials"],
        "sharpe_difference_95": document["intervals"],
        "configurations_tried": document["configurations_tried"],
        "tried": document["tried"],
        "policy": document["policy"],
        "notes": document["span_session"]["llm"],
    }


def _day(ms: int) -> int:
    return ms - ms % DAY_MS
