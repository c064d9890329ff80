"""`python -m bench <name>`: run a benchmark, print a Rich table, optionally write JSON.

Names: `bus` (broker throughput and restart times), `feed` (replay into the recorder),
`models` (hit rates, CPU per bar, lgbm training), `trading` (what each weighting strategy earns),
`llm` (tiny-model server: start, probes, recovery), `all` (every benchmark).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from bench import bus, feed, llm, models, trading
from bench.machine import describe_machine

BENCHMARKS = {"bus": bus.run, "feed": feed.run, "models": models.run, "trading": trading.run, "llm": llm.run}
UNITS = {"msgs_per_s": "msg/s", "kill9_to_running_ms": "ms", "sigstop_to_running_ms": "ms", "messages": "messages",
         "payload_bytes": "bytes", "bars": "bars", "bars_per_s": "bars/s", "peak_rss_mb": "MiB",
         "lmdb_bytes_per_message": "bytes", "lmdb_mib_per_million_bars": "MiB", "hit_rate": "fraction",
         "directional_votes": "votes", "cpu_us_per_bar": "µs/bar", "lgbm_trainings": "windows", "lgbm_training_s": "s",
         "trades": "trades", "win_rate": "fraction", "roi": "fraction", "max_drawdown": "fraction", "sharpe": "annualised",
         "profit_factor": "ratio", "start_to_ready_ms": "ms", "probe_latency_ms": "ms", "kill9_to_ready_ms": "ms",
         "sigstop_to_ready_ms": "ms", "health_check_interval_s": "s", "probe_timeout_s": "s"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Peper benchmarks (timings; never pass/fail).")
    parser.add_argument("name", choices=[*BENCHMARKS, "all"], help="which benchmark to run")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is reported (default 3)")
    parser.add_argument("--quick", action="store_true", help="smaller workloads, for a fast check")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as one JSON document")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    names = list(BENCHMARKS) if args.name == "all" else [args.name]
    console = Console(stderr=True)
    document: dict[str, object] = {"machine": describe_machine()}
    for name in names:
        with console.status(f"running {name} ({args.runs} runs)"):
            document[name] = BENCHMARKS[name](args.runs, args.quick)
        print_section(name, document[name])
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(document)))
        console.print(f"wrote {args.json}")
    return 0


def print_section(name: str, section: dict[str, object]) -> None:
    table = Table(title=f"bench {name}")
    for column in ("figure", "median", "unit", "runs"):
        table.add_column(column, justify="left" if column in ("figure", "unit") else "right")
    for key, value in section.items():
        if key.endswith("_runs"):
            continue
        runs = section.get(f"{key}_runs")
        if isinstance(value, dict):
            for name, item in value.items():
                table.add_row(f"{key}.{name}", f"{item:,}", UNITS.get(key, ""), "")
            continue
        shown = f"{value:,}" if isinstance(value, (int, float)) else str(value)
        unit = UNITS.get(key, UNITS.get(key.rsplit(".", 1)[-1], ""))
        table.add_row(key, shown, unit, ", ".join(f"{run:,}" for run in runs) if runs else "")
    Console().print(table)


if __name__ == "__main__":
    sys.exit(main())
