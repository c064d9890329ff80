"""`python -m supervisor download --symbols A,B --interval 5m --from DATE --to DATE --out DIR`: klines from Binance.

Writes the CSV.gz files `run --replay DIR` and `train --data DIR` read (`marketdata.download`),
resuming each symbol's file where a previous download stopped, with a Rich progress bar per symbol;
then says per symbol how many rows it wrote, where it resumed, the exchange's gaps and the
malformed rows it skipped. `[feed] rest_url` says where Binance is (a double's address in tests).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from common.times import parse_time
from config.schema import PeperConfig
from messages.errors import ConfigError


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    download = commands.add_parser("download", parents=[common], help="download Binance spot klines as CSV.gz files")
    download.add_argument("--symbols", required=True, help="comma-separated, e.g. BTCUSDT,ETHUSDT")
    download.add_argument("--interval", default="5m", help="a Binance interval: 1m, 5m, 1h, 1d... (default 5m)")
    download.add_argument("--from", dest="start", required=True, help="first bar, UTC: 2024-01-01 or 2024-01-01T06:00")
    download.add_argument("--to", dest="end", required=True, help="end of the window (excluded), UTC")
    download.add_argument(
        "--out", type=Path, required=True, help="folder for <SYMBOL>-<interval>.csv.gz (made if missing)"
    )


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    from marketdata.download import download_symbol, interval_ms, rest_client  # python-binance: ~0.3 s to import

    console = Console(soft_wrap=True)
    symbols = [symbol.strip().upper() for symbol in args.symbols.split(",") if symbol.strip()]
    start, end, step = parse_time(args.start), parse_time(args.end), interval_ms(args.interval)
    if not symbols or end <= start:
        raise ConfigError(f"download: need at least one symbol and --from before --to (got {args.start}..{args.end})")
    args.out.mkdir(parents=True, exist_ok=True)
    client = rest_client(config.feed.rest_url)
    reports = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("bars"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        for symbol in symbols:
            task = progress.add_task(f"{symbol} {args.interval}", total=(end - start) // step)
            reports.append(
                download_symbol(
                    client,
                    symbol,
                    args.interval,
                    start,
                    end,
                    args.out,
                    lambda bars, task=task: progress.update(task, completed=bars),
                )
            )
    for report in reports:
        resumed = f", resumed after {report.resumed_after} ms UTC" if report.resumed_after is not None else ""
        console.print(
            f"{report.symbol}: {report.rows} rows written to {report.file}{resumed}; "
            f"{sum(bars for _, bars in report.gaps)} bars missing at Binance in {len(report.gaps)} gaps; "
            f"{len(report.skipped)} malformed rows skipped; {report.waits_s:g} s waited on rate limits"
        )
        for first, bars in report.gaps[:5]:
            console.print(f"  gap: {bars} bars from {first} ms UTC")
        for problem in report.skipped[:5]:
            console.print(f"  skipped: {problem}")
    return 0
