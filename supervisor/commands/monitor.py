"""`python -m supervisor monitor` and `run --monitor`: the live monitor, attached or beside the daemon.

Consumes the config and run directory; `monitor` attaches to a running daemon (`--once` prints one
screen as text and exits, `--duration S` exits after S seconds; `--connect HOST:PORT --keys DIR`
attaches over tcp with CURVE to a daemon on another host); `run --monitor` runs the daemon
with the monitor on the same terminal (logs go to `<run dir>-supervisor.log`).
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time
from pathlib import Path

import uvloop
from rich.console import Console

from bus.endpoints import bus_address
from bus.runtime import LOG_LEVEL_ENV
from config.schema import PeperConfig
from monitor.app import Monitor
from supervisor.daemon import Daemon


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("monitor", parents=[common], help="attach a live read-only view to a running daemon")
    parser.add_argument("--once", action="store_true", help="print one screen as text after a moment, then exit")
    parser.add_argument("--duration", type=float, metavar="S", help="exit after S seconds (default: until Ctrl-C)")
    parser.add_argument(
        "--connect",
        metavar="tcp://HOST[:PORT]",
        help="a daemon on another host: its bus address, PORT its [bus] tcp_base_port (default: this host's run "
        "directory)",
    )
    parser.add_argument("--keys", metavar="DIR", help="with --connect: this host's key bundle (keys new)")


def overrides(args: argparse.Namespace) -> dict[str, object]:
    """`--connect tcp://HOST[:PORT] --keys DIR` as [bus] connect_host, tcp_base_port and curve_keys."""
    if args.command != "monitor" or not args.connect:
        return {}
    host, port = bus_address(args.connect)
    found: dict[str, object] = {"bus.connect_host": host}
    if port is not None:
        found["bus.tcp_base_port"] = port
    if args.keys:
        found["bus.curve_keys"] = str(Path(args.keys).absolute())
    return found


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    viewer = Monitor(config, args.run_dir)
    try:
        if args.once:
            viewer.snapshot()
            ends = time.monotonic() + (args.duration or 1.5)
            while time.monotonic() < ends:
                viewer.step()
            Console().print(viewer.text(width=Console().width, height=max(24, Console().height)), soft_wrap=True)
        else:
            viewer.run(Console(), duration_s=args.duration)
    finally:
        viewer.close()
    return 0


def run_with_monitor(config: PeperConfig, run_dir: Path, *, exit_at_end: bool) -> int:
    log_file = run_dir.parent / f"{run_dir.name}-supervisor.log"
    logging.basicConfig(level=logging.INFO, filename=log_file, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault(LOG_LEVEL_ENV, "WARNING")
    console = Console()
    viewer = Monitor(config, run_dir)
    thread = threading.Thread(target=viewer.run, args=(console,), name="monitor", daemon=True)
    thread.start()
    try:
        uvloop.run(Daemon(config, run_dir, exit_at_end=exit_at_end).run())
    finally:
        viewer.stopping.set()
        thread.join(timeout=5)
        viewer.close()
        console.print(f"supervisor log: {log_file}")
    return 0
