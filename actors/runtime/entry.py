"""The process entry point of every actor: `python -m actors.<name> --run-dir DIR [--name NAME]`.

Consumes the command line and the run directory the supervisor prepared (`bus.runtime`);
produces a running actor that dies with its supervisor (PR_SET_PDEATHSIG) and exits with the
actor's status: 0 when it stopped in order or finished its job, non-zero (with one line on
stderr) when it cannot start, `GAVE_UP_EXIT` (one line) on input a restart would meet again. With `PEPER_PROFILE_DIR` set, the actor runs under cProfile and
writes `<dir>/<name>.prof` when it stops (for `python -m pstats`).
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import uvloop

from bus.endpoints import endpoints_for
from bus.runtime import CONFIG_FILE_NAME, LOG_LEVEL_ENV, PROFILE_ENV, die_with_parent, load_run_config
from common.priority import ordinary_threads, take_priority
from common.restart_policy import GAVE_UP_EXIT
from config.topology import niceness, realtime_priority
from messages.errors import PeperError

if TYPE_CHECKING:
    from actors.base import Actor


def _run(actor: Actor) -> int:
    """The actor's exit status; a `PeperError` that reached the top is input a restart would meet
    again (a bad row, a truncated store, a full disk): one line, and `GAVE_UP_EXIT` so the daemon
    stops in order instead of restarting it."""
    try:
        return uvloop.run(_with_ordinary_threads(actor.run()))
    except PeperError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)  # the daemon's `last_error`
        return GAVE_UP_EXIT


async def _with_ordinary_threads(running: Coroutine[Any, Any, int]) -> int:
    ordinary_threads()
    return await running


def main(actor_class: type[Actor], argv: list[str] | None = None) -> None:
    default_name = actor_class.__module__.rsplit(".", 1)[-1]
    parser = argparse.ArgumentParser(
        prog=f"python -m {actor_class.__module__}",
        description=(inspect.getdoc(sys.modules[actor_class.__module__]) or "").split("\n\n")[0],
    )
    parser.add_argument("--run-dir", required=True, type=Path, help="the supervisor's run directory")
    parser.add_argument("--name", default=default_name, help=f"actor name on the bus (default {default_name})")
    actor_class.add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get(LOG_LEVEL_ENV, "INFO"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    parent = os.getppid()
    die_with_parent()
    if os.getppid() != parent:
        sys.exit(f"{args.name}: supervisor exited before the actor started")
    try:
        config = load_run_config(args.run_dir)
    except (OSError, msgspec.DecodeError) as exc:
        sys.exit(f"{args.name}: cannot read {args.run_dir / CONFIG_FILE_NAME}: {exc}")
    if args.name in config.actors:
        take_priority(logging.getLogger(args.name), niceness(config, args.name), realtime_priority(config, args.name))
    actor = actor_class(args.name, config, endpoints_for(config.bus, args.run_dir), args)
    profile_dir = os.environ.get(PROFILE_ENV)
    if not profile_dir:
        sys.exit(_run(actor))
    import cProfile  # a developer's tool: where this actor's CPU goes, one file per actor

    profiler = cProfile.Profile()
    status = profiler.runcall(uvloop.run, _with_ordinary_threads(actor.run()))
    profiler.dump_stats(Path(profile_dir) / f"{args.name}.prof")
    sys.exit(status)
