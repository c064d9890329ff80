"""`run` (the default), `status` and `stop`: the daemon and the two commands that talk to a running one.

`run` checks the replay source and the window, then starts the daemon and the topology of
`[actors]` (`--monitor` shows the live monitor on this terminal, logs going to a file); `status`
prints the daemon's actors as a table (`--json`: one document); `stop` stops it in order.

Where a run starts: with `--policy ID|latest`, from that policy of the training catalog (its
learning section, thresholds, weights version, learner state and lgbm_ai model, installed into the
run's store first); otherwise from the newest weights version the run's store already holds (so
an offline `weights rollback V` decides what the next run starts from); in a fresh store, from
`[learning] initial_weights`.
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

from bus import runtime
from common.times import parse_time
from config.build import configured
from config.schema import PeperConfig
from exchange.keys import LIVE_ENV
from marketdata.sources import check_source
from messages.control import Reply
from messages.errors import StoreError
from storage.catalog import Catalog
from storage.store import Store
from storage.weights import latest_weights
from supervisor.daemon import Daemon
from training.policies import apply_policy, find_policy, install_policy


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    run = commands.add_parser("run", parents=[common], help="start the daemon and the topology (the default)")
    source = run.add_mutually_exclusive_group()
    source.add_argument(
        "--replay",
        metavar="SOURCE",
        help="replay a klines file/folder, lmdb:PATH or synthetic[:SEED] (default: [feed] source)",
    )
    source.add_argument("--live", action="store_true", help="use Binance's live websocket streams")
    run.add_argument("--from", dest="start", metavar="T", help="replay window start (ISO date/datetime, UTC)")
    run.add_argument("--to", dest="end", metavar="T", help="replay window end, exclusive (ISO date/datetime, UTC)")
    run.add_argument("--speed", metavar="X", help="replay speed: a multiple of real time, or max ([feed] speed)")
    run.add_argument("--db", metavar="PATH", help="LMDB environment to record into ([database] path)")
    run.add_argument("--exit-at-end", action="store_true", help="stop once every finite (transient) actor has finished")
    run.add_argument(
        "--monitor", action="store_true", help="show the live monitor on this terminal (logs go to a file)"
    )
    run.add_argument("--policy", metavar="ID", help="start from a policy `train` stored: its id, or latest")
    run.add_argument(
        "--catalog", metavar="PATH", help="the training catalog holding the policy ([database] training_path)"
    )
    run.add_argument(
        "--i-mean-live",
        action="store_true",
        help='with [execution] mode = "live" and the executor enabled: place real orders with real money',
    )
    status = commands.add_parser("status", parents=[common], help="show the actors of a running daemon")
    status.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    commands.add_parser("stop", parents=[common], help="stop a running daemon in order")


def overrides(args: argparse.Namespace) -> dict[str, object]:
    """The `run` flags as config overrides (validated like the file)."""
    if args.command != "run":
        return {}
    found: dict[str, object] = {}
    if args.replay:
        found.update({"feed.mode": "replay", "feed.source": args.replay})
    if args.live:
        found["feed.mode"] = "live"
    for flag, key in (("start", "feed.start"), ("end", "feed.end"), ("speed", "feed.speed"), ("db", "database.path")):
        if getattr(args, flag):
            found[key] = getattr(args, flag)
    return found


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    if args.command == "status":
        return show_status(config, args)
    if args.command == "stop":
        reply = runtime.stop(config.bus, args.run_dir)
        print(reply.detail if isinstance(reply, Reply) else reply)
        return 0
    if config.feed.mode == "replay":
        check_source(config.feed.source, interval=config.feed.interval)
        for moment in (config.feed.start, config.feed.end):
            if moment:
                parse_time(moment)
    executor = config.actors.get("executor")
    if executor is not None and executor.enabled and config.execution.mode == "live":
        if not args.i_mean_live:
            sys.exit('[execution] mode = "live" places real orders with real money: add --i-mean-live to mean it')
        os.environ[LIVE_ENV] = "1"  # the executor's process inherits it
    config = with_policy(config, args) if args.policy else following_the_store(config)
    if os.environ.get(runtime.DIE_WITH_PARENT_ENV):
        runtime.die_with_parent()
        if str(os.getppid()) != os.environ[runtime.DIE_WITH_PARENT_ENV]:
            sys.exit("the process that started the daemon has exited")
    if args.monitor:
        from supervisor.commands.monitor import run_with_monitor

        return run_with_monitor(config, args.run_dir, exit_at_end=args.exit_at_end)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvloop.run(Daemon(config, args.run_dir, exit_at_end=args.exit_at_end).run())
    return 0


def with_policy(config: PeperConfig, args: argparse.Namespace) -> PeperConfig:
    """The config started from the policy, whose weights and model are put into the run's store."""
    catalog = Catalog(Path(args.catalog or config.database.training_path), readonly=True)
    try:
        policy = find_policy(catalog, args.policy)
        started = apply_policy(config, policy)
        install_policy(catalog, policy, Path(config.database.path))
    finally:
        catalog.close()
    print(
        f"starting from policy {policy.id} (training run {policy.run}): weights version {policy.weights_version}, "
        f"lgbm_ai model {policy.lgbm_version or 'none (trained walk-forward)'}",
        file=sys.stderr,
    )
    return started


def following_the_store(config: PeperConfig) -> PeperConfig:
    """Start from the newest weights version the store holds (a learner's, or a rollback's)."""
    try:
        with Store(config.database.path, readonly=True) as store:
            latest = latest_weights(store)
    except StoreError:  # no store yet, or not readable: the recorder says so when it opens it
        return config
    if latest is None or latest.version < config.learning.start_version:
        return config
    return configured(config, learning={"start_version": latest.version, "start_weights": latest.weights})


def show_status(config: PeperConfig, args: argparse.Namespace) -> int:
    reply = runtime.status(config.bus, args.run_dir)
    if args.json:
        document = msgspec.to_builtins(reply)
        document.pop("type", None)
        print(msgspec.json.encode(document).decode())
        return 0
    table = Table(title=f"supervisor pid {reply.daemon_pid} on {reply.run_dir}, up {reply.uptime_s:.1f} s")
    for column in (
        "actor",
        "host",
        "state",
        "pid",
        "restarts",
        "uptime (s)",
        "heartbeat age (s)",
        "msgs in",
        "msgs out",
        "malformed",
        "seq gaps",
    ):
        table.add_column(column, justify="left" if column in ("actor", "host", "state") else "right")
    for actor in reply.actors:
        table.add_row(
            actor.name,
            actor.host or "daemon",
            actor.state,
            _or_dash(actor.pid),
            str(actor.restarts),
            _or_dash(actor.uptime_s),
            _or_dash(actor.heartbeat_age_s),
            str(actor.msgs_in),
            str(actor.msgs_out),
            str(actor.malformed),
            str(actor.seq_gaps),
        )
    console = Console()
    console.print(table)
    if reply.agents or reply.refused:
        console.print(
            f"agents connected: {', '.join(reply.agents) or 'none'}; connections refused: "
            + (", ".join(f"{n} ({reason})" for reason, n in reply.refused.items()) or "none"),
            markup=False,
        )
    return 0


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)
