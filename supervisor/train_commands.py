"""`python -m supervisor train` and `python -m supervisor report`.

Consumes the parsed command line and the config; `train` runs the training loop
(`training.loop`) over windows of a kline source and then writes its report; `report` (re)writes
the report of a run, or compares two sessions. Reports go to `[analytics] reports_dir/run-<N>/`
(report.md, report.html with the plots embedded, report.json), plots to
`[analytics] plots_dir/run-<N>/`.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import msgspec
import uvloop
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from actors.base import LOG_LEVEL_ENV
from analytics.plots import realised_equity, write_plots
from analytics.recording import read_recording
from analytics.render import fmt, html_page, markdown
from analytics.report import build_report, compare
from config.endpoints import resolve_run_dir
from config.schema import PeperConfig
from marketdata.sources import load_source, parse_time
from marketdata.synthetic import START_MS
from training.catalog import Catalog
from training.loop import TrainResult, train
from training.windows import DAY_MS, resolve_windows

WINDOW_FLAGS = ("train_from", "train_to", "validate_from", "validate_to", "test_from", "test_to")


def add_train_parser(commands, common: argparse.ArgumentParser) -> None:
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


def add_report_parser(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("report", parents=[common], help="write the report of a training run, or compare sessions")
    parser.add_argument("--db", metavar="PATH", help="training catalog (default [database] training_path)")
    parser.add_argument("--run", type=int, metavar="N", help="which run (default: the latest)")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare session A with session B (ids as in the report)")
    parser.add_argument("--json", action="store_true", help="print the JSON document on stdout")


def train_overrides(args: argparse.Namespace) -> dict[str, object]:
    overrides: dict[str, object] = {}
    if args.replay:
        overrides.update({"feed.mode": "replay", "feed.source": args.replay})
    if args.iterations is not None:
        overrides["test.max_iterations"] = args.iterations
    if args.algorithm:
        overrides["learning.algorithm"] = args.algorithm
    return overrides


def console_for(*, stderr: bool) -> Console:
    """Rich's console; 120 columns when writing to a file or pipe, so the report tables stay readable."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=120)


def run_train(config: PeperConfig, args: argparse.Namespace) -> int:
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
    run_dir = resolve_run_dir(config.bus, args.run_dir)
    if not args.run_dir:
        run_dir = run_dir.with_name(run_dir.name + "-train")  # never collides with a `run` daemon
    return train_then_report(train(config, catalog, windows, run_dir, console), catalog, config, console)


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


def run_report(config: PeperConfig, args: argparse.Namespace) -> int:
    console = console_for(stderr=args.json)
    catalog = Catalog(Path(args.db or config.database.training_path), readonly=True)
    try:
        if args.compare:
            document = compare(catalog, *args.compare)
            write_comparison(catalog, document, config, console)
            if args.json:
                print(msgspec.json.encode(document).decode())
            return 0
        write_report(catalog, args.run, config, console, as_json=args.json)
    finally:
        catalog.close()
    return 0


def write_report(catalog: Catalog, run: int | None, config: PeperConfig, console: Console, *, as_json: bool) -> dict:
    with console.status("reading the sessions' recordings and replaying the baselines on their votes ..."):
        document, recordings = build_report(catalog, run)
    run_config = catalog.run_config(document["run"])
    name = f"run-{document['run']}"
    plots_dir = Path(config.analytics.plots_dir) / name
    reports_dir = Path(config.analytics.reports_dir) / name
    reports_dir.mkdir(parents=True, exist_ok=True)
    with console.status(f"drawing the plots into {plots_dir} ..."):
        plots = write_plots(document, recordings, run_config, plots_dir)
    document["plots"] = {key: {"file": str(plots_dir / plot["file"]), "series": plot["series"]} for key, plot in plots.items()}
    relative = {key: {"file": os.path.relpath(plots_dir / plot["file"], reports_dir)} for key, plot in plots.items()}
    (reports_dir / "report.md").write_text(markdown(document, relative))
    (reports_dir / "report.html").write_text(html_page(document, plots, plots_dir))
    (reports_dir / "report.json").write_bytes(msgspec.json.format(msgspec.json.encode(document)))
    if as_json:
        print(msgspec.json.encode(document).decode())
    else:
        print_summary(document, console)
        console.print(f"report: {reports_dir / 'report.md'}, {reports_dir / 'report.html'}, {reports_dir / 'report.json'}; "
                      f"plots: {plots_dir}/")
    return document


def print_summary(document: dict, console: Console) -> None:
    from analytics.render import tables
    for title, header, rows in tables(document):
        if "criteria" in title or "baselines" in title or title.startswith("Iterations"):
            table = Table(title=title, title_justify="left")
            for column in header:
                table.add_column(column, justify="left" if column in header[:1] else "right")
            for row in rows:
                table.add_row(*row)
            console.print(table)


def write_comparison(catalog: Catalog, document: dict, config: PeperConfig, console: Console) -> None:
    """The seed's plot_performance_comparison: both sessions' realised equity, and a table of changes."""
    import matplotlib.pyplot as plt
    table = Table(title=f"{document['before']} -> {document['after']}")
    for column in ("metric", "before", "after", "change"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for key, values in document["metrics"].items():
        style = "pct" if key in ("win_rate", "roi", "max_drawdown") else "{:.4g}"
        table.add_row(key, *(fmt(values[k], style) for k in ("before", "after", "change")))
    console.print(table)
    sessions = {s.id: s for s in catalog.sessions()}
    figure, axes = plt.subplots(figsize=(9, 4.5))
    for session_id in (document["before"], document["after"]):
        session = sessions[session_id]
        recording = read_recording(catalog.path.parent / session.recording)
        times, values = realised_equity(recording.trades, config.trader.initial_equity, session.start)
        axes.plot([(t - session.start) / 3_600_000 for t in times], values, drawstyle="steps-post", label=session_id)
    axes.set(title="Realised equity", xlabel="hours since the session's window start", ylabel="equity (USDT)")
    axes.legend()
    path = Path(config.analytics.plots_dir) / f"compare-{document['before']}-{document['after']}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    document["plot"] = str(path)
    console.print(f"plot: {path}")
