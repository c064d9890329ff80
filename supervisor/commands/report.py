"""`python -m supervisor report`: the report of a training run, or a comparison of two runs.

Consumes a training catalog (`--db`, default `[database] training_path`); writes the report to
`[analytics] reports_dir/run-<N>/` (report.md, report.html with the plots embedded, report.json)
and its plots to `[analytics] plots_dir/run-<N>/`, and prints the verdict and its main tables
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

from analytics.plots import comparison_plot, write_plots
from analytics.render import fmt, html_page, markdown, tables
from analytics.report import build_report, compare
from config.schema import PeperConfig
from storage.catalog import Catalog


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("report", parents=[common], help="write the report of a training run, or compare two runs")
    parser.add_argument("--db", metavar="PATH", help="training catalog (default [database] training_path)")
    parser.add_argument("--run", type=int, metavar="N", help="which run (default: the latest)")
    parser.add_argument("--compare", nargs=2, type=int, metavar=("A", "B"), help="compare run B's learned aggregate with run A's")
    parser.add_argument("--json", action="store_true", help="print the JSON document on stdout")


def console_for(*, stderr: bool) -> Console:
    """Rich's console; 120 columns when writing to a file or pipe, so the report tables stay readable."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=120)


def main(config: PeperConfig, args: argparse.Namespace) -> int:
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
    with console.status("reading the run's outcome and its span recording ..."):
        document, recording = build_report(catalog, run)
    run_config = catalog.run_config(document["run"])
    name = f"run-{document['run']}"
    plots_dir = Path(config.analytics.plots_dir) / name
    reports_dir = Path(config.analytics.reports_dir) / name
    reports_dir.mkdir(parents=True, exist_ok=True)
    plots = {}
    if config.analytics.auto_generate_plots:
        with console.status(f"drawing the plots into {plots_dir} ..."):
            plots = write_plots(document, recording, run_config, plots_dir)
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
                      + (f"plots: {plots_dir}/" if plots else "no plots ([analytics] auto_generate_plots = false)"),
                      markup=False, soft_wrap=True)
    return document


def print_summary(document: dict, console: Console) -> None:
    console.print(document["verdict"]["text"], style="bold green" if document["verdict"]["learning_helped"] else "bold red")
    for title, header, rows in tables(document):
        if title.startswith(("Folds", "Aggregate", "The seed", "Policy")):
            table = Table(title=title, title_justify="left")
            for column in header:
                table.add_column(column, justify="left" if column in header[:1] else "right")
            for row in rows:
                table.add_row(*row)
            console.print(table)


def write_comparison(catalog: Catalog, document: dict, config: PeperConfig, console: Console) -> None:
    """The seed's plot_performance_comparison: a table of changes, and both runs' learned equity."""
    table = Table(title=f"run {document['before']} -> run {document['after']} (learned, aggregate over the test windows)")
    for column in ("metric", "before", "after", "change"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for key, values in document["metrics"].items():
        style = "pct" if key in ("win_rate", "roi", "max_drawdown") else "{:.4g}"
        table.add_row(key, *(fmt(values[k], style) for k in ("before", "after", "change")))
    console.print(table)
    path = Path(config.analytics.plots_dir) / f"compare-run{document['before']}-run{document['after']}.png"
    daily = {run: catalog.result(run)["daily"] for run in (document["before"], document["after"])}
    document["plot"] = str(comparison_plot(daily, config.trader.initial_equity, path))
    console.print(f"plot: {path}")
