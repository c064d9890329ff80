"""`python -m supervisor halt`: the kill switch — the running executor cancels every open order and places no more.

Consumes the run directory of a running daemon with an executor; produces one line: how many open
orders were cancelled. The feed, the models and the paper book go on; the halt holds through the
executor's restarts (it is in its checkpoint) until the run ends. A daemon without an executor, or
none running, is one clear error.
"""

from __future__ import annotations

import argparse
import uuid

from bus.runtime import daemon_is_running
from config.schema import PeperConfig
from messages import topics
from messages.errors import DaemonUnreachable
from messages.execution import ExecutionCommand, ExecutionState
from supervisor.commands.ask import ask


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    halt = commands.add_parser("halt", parents=[common], help="cancel every open order and stop placing orders")
    halt.add_argument("--timeout", type=float, default=10.0, metavar="S", help="wait this long for the executor (s)")


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    if not daemon_is_running(args.run_dir):
        raise DaemonUnreachable(f"no daemon is running on {args.run_dir}: nothing to halt")
    request_id = f"halt:{uuid.uuid4()}"
    answer = ask(
        config,
        args.run_dir,
        topics.EXECUTION_COMMAND,
        ExecutionCommand(request_id=request_id),
        topics.EXECUTION_STATE,
        lambda message: isinstance(message, ExecutionState) and message.request_id == request_id,
        args.timeout,
        DaemonUnreachable(
            f"no executor answered within {args.timeout:g} s: either [actors.executor] is not enabled, or it is busy "
            "with an order (retrying the exchange) and takes the halt when that order is done"
        ),
    )
    assert isinstance(answer, ExecutionState)
    print(f"halted: {answer.cancelled_orders} open orders cancelled; the executor places no more orders")
    return 0
