"""`python -m bench <name>`: run a benchmark, print a Rich table, optionally write JSON.

Names: `replay` (the whole topology against the raw bus), `peer` (Peper beside nautilus_trader and
freqtrade on the same bars), `latency` (live frame -> decision), `memory` (peak RSS over long replays), `recovery`
(kill -9 of each actor, the LLM server's faults), `recorder` (messages into LMDB), `learning`
(walk-forward folds: the learned policy against every baseline out of sample), `execution` (real orders
through the executor against the Binance double, and its chaos run), and the component benchmarks `bus`, `feed`,
`models`, `trading`, `llm`; `all` runs every one. Rates are medians of --runs runs (3; 1 with
--quick), each with its `_runs` list; the JSON document also holds the machine and versions.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from bench import (
    bus,
    execution,
    feed,
    latency,
    learning,
    llm,
    models,
    peer,
    recorder,
    recovery,
    replay,
    trading,
)
from bench.machine import describe_machine
from messages.errors import PeperError

UNITS = {
    "msgs_per_s": "msg/s",
    "kill9_to_running_ms": "ms",
    "sigstop_to_running_ms": "ms",
    "messages": "messages",
    "payload_bytes": "bytes",
    "bars": "bars",
    "bars_per_s": "bars/s",
    "peak_rss_mb": "MiB",
    "peak_rss_mb_long": "MiB",
    "lmdb_bytes_per_message": "bytes",
    "lmdb_mib_per_million_bars": "MiB",
    "hit_rate": "fraction",
    "directional_votes": "votes",
    "cpu_us_per_bar": "µs/bar",
    "lgbm_trainings": "windows",
    "lgbm_training_s": "s",
    "trades": "trades",
    "win_rate": "fraction",
    "roi": "fraction",
    "max_drawdown": "fraction",
    "sharpe": "annualised",
    "profit_factor": "ratio",
    "start_to_ready_ms": "ms",
    "probe_latency_ms": "ms",
    "kill9_to_ready_ms": "ms",
    "sigstop_to_ready_ms": "ms",
    "health_check_interval_s": "s",
    "probe_timeout_s": "s",
    "raw_ceiling_bars_per_s": "bars/s",
    "full_over_raw": "ratio",
    "cpu_s_per_1000_bars": "CPU s/1,000 bars",
    "nautilus_bars_per_s": "bars/s",
    "nautilus_load_s": "s",
    "ratio": "ratio",
    "ratio_training": "ratio",
    "ms": "ms",
    "long_over_short": "ratio",
    "llm_server_kill9_ms": "ms",
    "llm_server_sigstop_ms": "ms",
    "batches": "transactions",
    "messages_per_batch": "messages",
    "bars_short": "bars",
    "bars_long": "bars",
    "warmup_s": "s",
    "bar_period_s": "s",
    "bars_per_run": "bars",
    "decisions_measured": "decisions",
    "p50_us": "µs",
    "p99_us": "µs",
    "p99_9_us": "µs",
    "symbols": "symbols",
    "elapsed_s": "s",
    "ours_bars_per_s": "bars/s",
    "nautilus_orders_filled": "orders",
    "lgbm_pinned_version": "version",
    "mistral_cache_hits": "answers",
    "mistral_llm_requests": "requests",
    "hop_p50_us": "µs",
    "hop_p99_us": "µs",
    "llm_hop_p50_us": "µs",
    "llm_hop_p99_us": "µs",
    "final_weights": "fraction",
    "realtime_priority": "SCHED_FIFO priority",
    "orders": "orders",
    "chaos_orders": "orders",
    "chaos_fills": "fills",
    "chaos_duplicates": "orders",
    "chaos_lost": "orders",
    "chaos_mismatched": "orders",
    "chaos_seed": "seed",
    "chaos_kills": "kills",
    "chaos_ledger_equal": "1 = equal",
}
SUFFIX_UNITS = (
    ("_bars_per_s", "bars/s"),
    ("_orders_per_s", "orders/s"),
    ("_trades", "trades"),
    ("_mb", "MiB"),
    ("_bars", "bars"),
    ("_ms", "ms"),
    ("_us", "µs"),
    ("_s", "s"),
)
WIDE = 132  # columns for tables written to a file or pipe


def unit_of(key: str) -> str:
    """A figure's unit: by its name (the nearest known part of a dotted one: `hedge.bars_per_s`,
    `hop_p50_us.feed`), else by its name's ending (`freqtrade_bars_per_s`: bars/s)."""
    for part in reversed(key.split(".")):
        found = UNITS.get(part, UNITS.get(part.removeprefix("llm_")))
        if found is not None:
            return found
    name = key.rsplit(".", 1)[-1]
    return next((unit for suffix, unit in SUFFIX_UNITS if name.endswith(suffix)), "")


ORDER = (
    "replay",
    "peer",
    "latency",
    "memory",
    "recovery",
    "recorder",
    "learning",
    "execution",
    "bus",
    "feed",
    "models",
    "trading",
    "llm",
)


def run_one(name: str, args: argparse.Namespace, document: dict[str, object]) -> dict[str, object]:
    runs, quick = args.runs, args.quick
    match name:
        case "peer":
            return peer.run(runs, quick, status=lambda text: _console(stderr=True).print(text, markup=False))
        case "memory":
            return replay.memory(document.get("replay") or replay.run(1, quick), quick)
        case "learning":
            return learning.run(
                runs,
                quick,
                data=args.data,
                interval=args.interval,
                folds=args.folds,
                train_from=args.train_from,
                test_from=args.test_from,
                test_to=args.test_to,
            )
        case _:
            if name == "bus":
                return bus.run(runs, quick, transport=args.transport, curve=args.curve)
            return {
                "replay": replay.run,
                "latency": latency.run,
                "recovery": recovery.run,
                "recorder": recorder.run,
                "execution": execution.run,
                "feed": feed.run,
                "models": models.run,
                "trading": trading.run,
                "llm": llm.run,
            }[name](runs, quick)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", choices=[*ORDER, "all"], help="which benchmark to run")
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per figure; the median is reported (default 3, 1 with --quick)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller workloads, for a fast check (all: under 5 minutes)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results as one JSON document")
    on_bus = parser.add_argument_group("bus")
    on_bus.add_argument(
        "--transport",
        choices=["ipc", "tcp"],
        default="ipc",
        help="bus: every actor on the run directory's ipc sockets (default) or on the daemon's tcp ones at 127.0.0.1",
    )
    on_bus.add_argument("--curve", action="store_true", help="bus: every socket authenticates and encrypts (CURVE)")
    learn = parser.add_argument_group("learning")
    learn.add_argument(
        "--data",
        type=Path,
        help="folder of <SYMBOL>-<interval>.csv[.gz] klines (default ../shared/data/klines-2021-2022)",
    )
    learn.add_argument(
        "--interval", choices=["1m", "3m", "5m", "15m", "30m", "1h"], help="bar interval (default: from the file names)"
    )
    learn.add_argument("--folds", type=int, metavar="K", help="walk-forward folds (default 4; 2 with --quick)")
    for flag, meaning in (
        ("train-from", "first bar used (default: the data's first)"),
        ("test-from", "first test window's start (default: a quarter into the data)"),
        ("test-to", "last test window's end (default: the data's end)"),
    ):
        learn.add_argument(f"--{flag}", metavar="T", help=f"{meaning}; ISO date/datetime, UTC")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except PeperError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    names = list(ORDER) if args.name == "all" else [args.name]
    console = Console(stderr=True)
    document: dict[str, object] = {"machine": describe_machine(), "quick": args.quick, "runs": args.runs}
    started = time.monotonic()
    for name in names:
        began = time.monotonic()
        status = console.status(f"running {name} ({args.runs} run{'s' if args.runs > 1 else ''}) ...")
        with status if name not in ("learning", "peer") else contextlib.nullcontext():  # they say their own progress
            document[name] = run_one(name, args, document)
        document[name]["elapsed_s"] = round(time.monotonic() - began, 1)
        print_section(name, document[name])
    document["elapsed_s"] = round(time.monotonic() - started, 1)
    console.print(f"{len(names)} benchmark(s) in {document['elapsed_s']:,} s")
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(document)))
        console.print(f"wrote {args.json}")
    return 0


def print_section(name: str, section: dict[str, object]) -> None:
    if name == "learning":
        print_learning(section)
        return
    table = Table(title=f"bench {name}", title_justify="left")
    for column in ("figure", "median", "unit", "runs"):
        table.add_column(column, justify="left" if column in ("figure", "unit") else "right")
    for key, value in section.items():
        if key.endswith("_runs"):
            continue
        runs = section.get(f"{key}_runs")
        if isinstance(value, dict):
            for item, figure in value.items():
                item_runs = runs.get(item) if isinstance(runs, dict) else None
                table.add_row(f"{key}.{item}", _shown(figure), unit_of(key), _shown_runs(item_runs))
            continue
        table.add_row(key, _shown(value), unit_of(key), _shown_runs(runs))
    _console().print(table)


def _console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=WIDE)


def print_learning(section: dict[str, object]) -> None:
    console = _console()
    console.print(section["verdict"], markup=False, soft_wrap=True)
    columns = ("strategy", "ROI", "Sharpe", "max drawdown", "win rate", "trades", "turnover", "exposure")
    for title, strategies in [
        (f"aggregate over the {len(section['folds'])} test windows ({section['interval']} bars)", section["aggregate"])
    ] + [
        (
            (
                f"fold {i}: test {f['test_window']['start'][:10]} .. {f['test_window']['end'][:10]}, chosen "
                f"{', '.join(f'{k}={v}' for k, v in f['chosen'].items()) or 'as configured'}"
            ),
            {k: v for k, v in f.items() if isinstance(v, dict) and "roi" in v},
        )
        for i, f in enumerate(section["folds"], start=1)
    ]:
        table = Table(title=f"bench learning, {title}", title_justify="left")
        for column in columns:
            table.add_column(column, justify="left" if column == "strategy" else "right")
        for strategy, m in strategies.items():
            table.add_row(
                strategy,
                _percent(m["roi"]),
                "-" if m["sharpe"] is None else f"{m['sharpe']:.2f}",
                _percent(m["max_drawdown"]),
                _percent(m["win_rate"]),
                str(m["trades"]),
                f"{m['turnover']:.1f}x",
                _percent(m["exposure"]),
            )
        console.print(table)
    tried = section["configurations_tried"]
    console.print(
        (
            "1 configuration, as configured"
            if tried == 1
            else f"{tried} configurations tried, chosen on validation {section['metric']}"
        )
        + "; "
        f"deflated Sharpe ratio {_percent(section['deflated_sharpe'])} for {section['trials']} trial(s); "
        "reality check (SPA p-value on validation): "
        + ", ".join(
            f"fold {i} {'-' if f['reality_check'] is None else format(f['reality_check'], '.3f')}"
            for i, f in enumerate(section["folds"], start=1)
        )
    )
    for note in section.get("notes", []):
        console.print(f"note: {note}", markup=False, soft_wrap=True)


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _shown_runs(runs: object) -> str:
    return ", ".join(_shown(run) for run in runs) if isinstance(runs, list) else ""


def _percent(value: object) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f} %"


if __name__ == "__main__":
    sys.exit(main())
