"""`python -m supervisor`: run the daemon, or talk to a running one.

Consumes the command line and peper.toml; produces a running topology (`run`), its status as a
table or JSON (`status`), or an orderly stop (`stop`). Exit status 0 means success; any failure
prints one line on stderr that says what failed and exits non-zero.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import msgspec
import uvloop
from rich.console import Console
from rich.table import Table

from analytics.report import ReportError
from config import ConfigError, PeperConfig, load_config
from config.endpoints import resolve_run_dir
from marketdata import SourceError
from marketdata.sources import check_source, parse_time
from messages.control import Reply, StatusReply
from storage import StoreError
from supervisor import client, llm_commands, monitor_commands, train_commands
from supervisor.daemon import Daemon, DaemonError
from supervisor.export import export_records, export_stream
from supervisor.run_directory import RunDirectoryError
from supervisor.weights import WeightsError, list_versions, rollback, show_version
from training.windows import WindowError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m supervisor",
        description="Peper's supervisor: runs every actor as its own process on a ZeroMQ bus and keeps them alive.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=None, help="configuration file (default: ./peper.toml)")
    common.add_argument("--run-dir", default=None, help="run directory of the bus (default: [bus] run_dir)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="start the daemon and the topology (the default)")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--replay", metavar="SOURCE", help="replay a klines file/folder, lmdb:PATH or synthetic[:SEED]")
    source.add_argument("--live", action="store_true", help="use Binance's live websocket streams")
    run.add_argument("--from", dest="start", metavar="T", help="replay window start (ISO date/datetime, UTC)")
    run.add_argument("--to", dest="end", metavar="T", help="replay window end, exclusive (ISO date/datetime, UTC)")
    run.add_argument("--speed", metavar="X", help="replay speed: a multiple of real time, or max")
    run.add_argument("--db", metavar="PATH", help="LMDB environment to record into (default [database] path)")
    run.add_argument("--exit-at-end", action="store_true", help="stop once every finite (transient) actor has finished")
    run.add_argument("--monitor", action="store_true", help="show the live monitor on this terminal (logs go to a file)")

    monitor = commands.add_parser("monitor", parents=[common], help="attach a live read-only view to a running daemon")
    monitor.add_argument("--once", action="store_true", help="print one screen as text after a moment, then exit")
    monitor.add_argument("--duration", type=float, metavar="S", help="exit after S seconds (default: until Ctrl-C)")
    commands.add_parser("demo", parents=[common], help="offline tour: synthetic market, whole topology, monitor, report")

    export = commands.add_parser("export", parents=[common], help="print recorded data as JSON lines")
    export.add_argument("what", choices=["stream", "decisions", "trades", "weights"], help="what to export")
    export.add_argument("--db", metavar="PATH", required=True, help="the LMDB environment (a recording)")
    export.add_argument("--topic", help="stream only: just this topic (e.g. md.kline)")

    llm = commands.add_parser("llm", parents=[common], help="LLM smoke tests: write a tiny model, check the server")
    llm_commands = llm.add_subparsers(dest="llm_command", metavar="LLM_COMMAND", required=True)
    tiny = llm_commands.add_parser("tiny-model", help="write a tiny random-weight llama GGUF (a few hundred KiB)")
    tiny.add_argument("path", type=Path, help="where to write the .gguf file")
    check = llm_commands.add_parser("check", parents=[common], help="start the configured LLM server, probe it, stop it")
    check.add_argument("--model", type=Path, help="model file to serve instead of [mistral] model_path")
    check.add_argument("--json", action="store_true", help="print one JSON document")

    weights = commands.add_parser("weights", parents=[common], help="list, show or roll back weight versions")
    weights.add_argument("action", choices=["list", "show", "rollback"], help="what to do")
    weights.add_argument("version", nargs="?", type=int, help="the version to show or roll back to")
    weights.add_argument("--db", metavar="PATH", help="the LMDB environment (default [database] path)")

    train_commands.add_train_parser(commands, common)
    train_commands.add_report_parser(commands, common)

    status = commands.add_parser("status", parents=[common], help="show the actors of a running daemon")
    status.add_argument("--json", action="store_true", help="print one JSON document instead of a table")

    commands.add_parser("stop", parents=[common], help="stop a running daemon in order")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0].startswith("-") and arguments[0] not in ("-h", "--help"):
        arguments.insert(0, "run")
    args = build_parser().parse_args(arguments)
    try:
        overrides = {"run": run_overrides, "train": train_commands.train_overrides}.get(args.command)
        config = load_config(args.config, overrides=overrides(args) if overrides else None)
        run_dir = resolve_run_dir(config.bus, args.run_dir)
        match args.command:
            case "run":
                if config.feed.mode == "replay":
                    check_source(config.feed.source, interval=config.feed.interval)
                    for moment in (config.feed.start, config.feed.end):
                        if moment:
                            parse_time(moment)
                if args.monitor:
                    return monitor_commands.run_with_monitor(config, run_dir, exit_at_end=args.exit_at_end)
                return run_daemon(config, run_dir, exit_at_end=args.exit_at_end)
            case "monitor":
                return monitor_commands.monitor(config, run_dir, once=args.once, duration_s=args.duration)
            case "demo":
                return monitor_commands.demo(config, resolve_run_dir(config.bus, args.run_dir).with_name("peper-demo")
                                             if not args.run_dir else run_dir)
            case "train":
                return train_commands.run_train(config, args)
            case "report":
                return train_commands.run_report(config, args)
            case "llm":
                if args.llm_command == "tiny-model":
                    llm_commands.tiny_model(args.path)
                else:
                    llm_commands.check(config, args.model, args.json)
                return 0
            case "weights":
                db = Path(args.db or config.database.path)
                if args.action == "list":
                    list_versions(db)
                elif args.version is None:
                    raise WeightsError(f"weights {args.action} needs a VERSION")
                elif args.action == "show":
                    show_version(db, args.version)
                else:
                    print(f"rolled back: version {rollback(config, run_dir, db, args.version)} equals version {args.version}")
                return 0
            case "export":
                try:
                    if args.what == "stream":
                        export_stream(Path(args.db), args.topic)
                    else:
                        export_records(Path(args.db), args.what)
                except BrokenPipeError:  # the reader (e.g. `head`) has had enough
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 0
            case "status":
                return show_status(config, run_dir, as_json=args.json)
            case "stop":
                reply = client.stop(config.bus, run_dir)
                print(reply.detail if isinstance(reply, Reply) else reply)
                return 0
    except (ConfigError, RunDirectoryError, DaemonError, client.DaemonUnreachable, SourceError, StoreError,
            WeightsError, llm_commands.LlmCheckFailed, WindowError, ReportError) as exc:
        print(f"supervisor: {exc}", file=sys.stderr)
        return 1
    return 2


def run_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The `run` flags as config overrides (validated like the file)."""
    overrides: dict[str, object] = {}
    if args.replay:
        overrides.update({"feed.mode": "replay", "feed.source": args.replay})
    if args.live:
        overrides["feed.mode"] = "live"
    for flag, key in (("start", "feed.start"), ("end", "feed.end"), ("speed", "feed.speed"), ("db", "database.path")):
        if getattr(args, flag):
            overrides[key] = getattr(args, flag)
    return overrides


def run_daemon(config: PeperConfig, run_dir: Path, *, exit_at_end: bool) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvloop.run(Daemon(config, run_dir, exit_at_end=exit_at_end).run())
    return 0


def show_status(config: PeperConfig, run_dir: Path, *, as_json: bool) -> int:
    reply = client.status(config.bus, run_dir)
    if not isinstance(reply, StatusReply):
        raise client.DaemonUnreachable(f"unexpected reply {type(reply).__name__}")
    if as_json:
        document = msgspec.to_builtins(reply)
        document.pop("type", None)
        print(msgspec.json.encode(document).decode())
        return 0
    table = Table(title=f"supervisor pid {reply.daemon_pid} on {reply.run_dir}, up {reply.uptime_s:.1f} s")
    for column in ("actor", "state", "pid", "restarts", "uptime (s)", "heartbeat age (s)", "msgs in", "msgs out", "malformed", "seq gaps"):
        table.add_column(column, justify="left" if column in ("actor", "state") else "right")
    for actor in reply.actors:
        table.add_row(
            actor.name, actor.state, _or_dash(actor.pid), str(actor.restarts), _or_dash(actor.uptime_s),
            _or_dash(actor.heartbeat_age_s), str(actor.msgs_in), str(actor.msgs_out), str(actor.malformed),
            str(actor.seq_gaps),
        )
    Console().print(table)
    return 0


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


if __name__ == "__main__":
    sys.exit(main())
