"""`python -m supervisor agent --connect tcp://HOST:PORT --keys DIR`: run this host's actors for a daemon.

PORT is the daemon's control port (`[bus] tcp_base_port` + 2); DIR is this host's key bundle from
`keys new` (its folder name is the host's name unless `--host`). The actors `[actors]` places on
this host run here (`supervisor.agent`), their own stores under `--data`; logs go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvloop

from bus.endpoints import default_run_dir
from config.schema import PeperConfig
from supervisor.agent import Agent


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    agent = commands.add_parser(
        "agent", parents=[common], help="run the actors placed on this host, for a daemon elsewhere"
    )
    agent.add_argument(
        "--connect", required=True, metavar="tcp://HOST:PORT", help="the daemon's bus address: [bus] tcp_base_port"
    )
    agent.add_argument("--keys", required=True, type=Path, metavar="DIR", help="this host's key bundle (keys new)")
    agent.add_argument("--host", help="this host's name in [actors] host = ... (default: the bundle's folder name)")
    agent.add_argument("--data", type=Path, help="folder of this host's stores (default: data/agent-<host>)")
    agent.add_argument(
        "--model",
        default="",
        metavar="PATH",
        help="the Mistral GGUF on this host (default: the daemon's [mistral] model_path)",
    )


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    host = args.host or args.keys.absolute().name
    run_dir = (
        args.run_dir if args.explicit_run_dir else default_run_dir().with_name(f"{default_run_dir().name}-agent-{host}")
    )
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    agent = Agent(args.connect, args.keys, host, run_dir, args.data or Path("data") / f"agent-{host}", args.model)
    return uvloop.run(agent.run())
