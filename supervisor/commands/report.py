"""`python -m supervisor report`: the report of a training run or of any recording; or two runs compared.

Consumes `--catalog`: a training catalog (default `[database] training_path`; `--run N`, default
the latest) or `--db`: a plain `run`'s recording (judged with this command's config: as traded against every
baseline on the same bars). Writes report.md, report.html (plots embedded) and report.json into a
new folder `[analytics] reports_dir/<name>/` and the plots into `[analytics] plots_dir/<name>/`
(<name>: `run-<N>` or the recording's name, `-2`, `-3`, ... when taken, so no report is written
over), or all into `--out DIR` (plots in DIR/plots); prints the verdict and its main tables
(`--json`: the document on stdout). `--compare A B` prints the seed's improvement table of run B's
learned aggregate over run A's and draws both.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from analytics.outcome import Outcome
from analytics.recording_report import build_recording_report
from analytics.render import fmt, html_page, markdown, tables
from analytics.report import build_report, compare
from config.schema import PeperConfig
from messages.errors import ReportError
from storage.catalog import Catalog

SUMMARY_TABLES = ("Folds", "Aggregate", "The seed", "Policy", "As traded", "Each symbol")


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "report", parents=[common], help="write the report of a training run or a recording, or compare two runs"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--catalog", metavar="PATH", help="a training catalog's run (default [database] training_path)")
    source.add_argument("--db", metavar="PATH", help="a plain run's recording (what `run --db` wrote)")
    parser.add_argument("--run", type=int, metavar="N", help="catalogs: which run (the latest)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="write the report here, plots in DIR/plots (a new folder under [analytics] reports_dir and plots_dir)",
    )
    parser.add_argument(
        "--compare", nargs=2, type=int, metavar=("A", "B"), help="compare run B's learned aggregate with run A's"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON document on stdout")


def console_for(*, stderr: bool) -> Console:
    """Rich's console; 120 columns when writing to a file or pipe, so the report tables stay readable."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=120)


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    console = console_for(stderr=args.json)
    if args.db:
        if args.run is not None or args.compare:
            raise ReportError("--run and --compare read a training catalog (--catalog), not a recording (--db)")
        write_recording_report(Path(args.db), config, console, as_json=args.json, out=args.out)
        return 0
    path = Path(args.catalog or config.database.training_path)
    catalog = Catalog(path, readonly=True)
    try:
        if not catalog.sessions():
            raise ReportError(f"{path} holds no training run: for a plain run's recording, give it as --db")
        if args.compare:
            document = compare(catalog, *args.compare)
            write_comparison(catalog, document, config, console)
            if args.json:
                print(msgspec.json.encode(document).decode())
            return 0
        write_report(catalog, args.run, config, console, as_json=args.json, out=args.out)
    finally:
        catalog.close()
    return 0


def new_folders(config: PeperConfig, name: str, out: Path | None) -> tuple[Path, Path]:
    """(reports folder, plots folder): `out` and out/plots, else the first free `name`, `name-2`, ..."""
    if out is not None:
        return out, out / "plots"
    reports, plots = Path(config.analytics.reports_dir), Path(config.analytics.plots_dir)
    candidate, number = name, 1
    while (reports / candidate).exists() or (plots / candidate).exists():
        number += 1
        candidate = f"{name}-{number}"
    return reports / candidate, plots / candidate


def plots():
    """`analytics.plots`, loaded only when a plot is drawn: matplotlib costs every command ~0.4 s of start-up."""
    import analytics.plots

    return analytics.plots


def write_report(
    catalog: Catalog,
    run: int | None,
    config: PeperConfig,
    console: Console,
    *,
    as_json: bool,
    out: Path | None = None,
    label: str = "run",
) -> dict:
    with console.status("reading the run's outcome and its span recording ..."):
        document, recording = build_report(catalog, run)
    run_config = catalog.run_config(document["run"])
    reports_dir, plots_dir = new_folders(config, f"{label}-{document['run']}", out)
    draw = (
        (lambda: plots().write_plots(document, recording, run_config, plots_dir))
        if config.analytics.auto_generate_plots
        else None
    )
    return write_documents(document, draw, reports_dir, plots_dir, console, as_json=as_json)


def write_recording_report(
    path: Path, config: PeperConfig, console: Console, *, as_json: bool, out: Path | None = None
) -> dict:
    with console.status(f"reading {path} and replaying every baseline on its bars ..."):
        document, recording, curves = build_recording_report(path, config)
    reports_dir, plots_dir = new_folders(config, path.name.removesuffix(".lmdb"), out)
    draw = (
        (lambda: plots().write_recording_plots(recording, curves, config, plots_dir))
        if config.analytics.auto_generate_plots
        else None
    )
    return write_documents(document, draw, reports_dir, plots_dir, console, as_json=as_json)


def write_documents(
    document: dict, draw, reports_dir: Path, plots_dir: Path, console: Console, *, as_json: bool
) -> dict:
    """report.md, report.html and report.json in `reports_dir`, the plots (`draw()`, when given) in `plots_dir`."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    plots = {}
    if draw is not None:
        with console.status(f"drawing the plots into {plots_dir} ..."):
            plots = draw()
    document["plots"] = {key: {**plot, "file": str(plots_dir / plot["file"])} for key, plot in plots.items()}
    relative = {key: {"file": os.path.relpath(plots_dir / plot["file"], reports_dir)} for key, plot in plots.items()}
    (reports_dir / "report.md").write_text(markdown(document, relative))
    (reports_dir / "report.html").write_text(html_page(document, plots, plots_dir))
    (reports_dir / "report.json").write_bytes(msgspec.json.format(msgspec.json.encode(document)))
    if as_json:
        print(msgspec.json.encode(document).decode())
    else:
        print_summary(document, console)
        console.print(
            f"report: {reports_dir / 'report.md'}, {reports_dir / 'report.html'}, {reports_dir / 'report.json'}; "
            + (f"plots: {plots_dir}/" if plots else "no plots ([analytics] auto_generate_plots = false)"),
            markup=False,
            soft_wrap=True,
        )
    return document


def print_summary(document: dict, console: Console) -> None:
    console.print(document["verdict"]["text"], style="bold green" if document["verdict"]["passed"] else "bold red")
    for title, header, rows in tables(document):
        if title.startswith(SUMMARY_TABLES):
            table = Table(title=title, title_justify="left")
            for column in header:
                table.add_column(column, justify="left" if column in header[:1] else "right")
            for row in rows:
                table.add_row(*row)
            console.print(table)


def write_comparison(catalog: Catalog, document: dict, config: PeperConfig, console: Console) -> None:
    """The seed's plot_performance_comparison: a table of changes, and both runs' learned equity."""
    table = Table(
        title=f"run {document['before']} -> run {document['after']} (learned, aggregate over the test windows)"
    )
    for column in ("metric", "before", "after", "change"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for key, values in document["metrics"].items():
        style = "pct" if key in ("win_rate", "roi", "max_drawdown") else "{:.4g}"
        table.add_row(key, *(fmt(values[k], style) for k in ("before", "after", "change")))
    console.print(table)
    path = Path(config.analytics.plots_dir) / f"compare-run{document['before']}-run{document['after']}.png"
    daily = {
        run: msgspec.to_builtins(catalog.result(run, Outcome).daily) for run in (document["before"], document["after"])
    }
    document["plot"] = str(plots().comparison_plot(daily, config.trader.initial_equity, path))
    console.print(f"plot: {path}")
