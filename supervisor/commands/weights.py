"""`python -m supervisor weights list|show V|rollback V --db PATH`: the weight history.

Consumes the `weights` database; `list` prints every version as a table, `show V` one version as
JSON, `rollback V` appends a new version equal to V. With a daemon running on the run directory,
rollback goes through the running rl_learner (a `WeightsCommand` on the bus, re-sent until the new
version is seen), so the trader adopts it at once; without one, the version is written directly.
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from bus.runtime import daemon_is_running
from config.schema import PeperConfig
from messages import topics
from messages.errors import WeightsError
from messages.learning import Weights, WeightsCommand
from storage.store import Store
from storage.weights import all_weights, get_weights, latest_weights, put_weights
from supervisor.commands.ask import ask


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    weights = commands.add_parser("weights", parents=[common], help="list, show or roll back weight versions")
    weights.add_argument("action", choices=["list", "show", "rollback"], help="what to do")
    weights.add_argument("version", nargs="?", type=int, help="the version to show or roll back to")
    weights.add_argument("--db", metavar="PATH", help="the LMDB environment (default [database] path)")


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    db = Path(args.db or config.database.path)
    if args.action == "list":
        list_versions(db)
    elif args.version is None:
        raise WeightsError(f"weights {args.action} needs a VERSION")
    elif args.action == "show":
        show_version(db, args.version)
    else:
        print(f"rolled back: version {rollback(config, args.run_dir, db, args.version)} equals version {args.version}")
    return 0


def list_versions(db: Path) -> None:
    with Store(db, readonly=True) as store:
        history = all_weights(store)
    if not history:
        raise WeightsError(f"{db}: no weight versions stored")
    models = sorted(history[0].weights)
    table = Table(title=f"weight versions in {db}")
    for column in ("version", "effective from (ms UTC)", *models, "cause"):
        table.add_column(column, justify="left" if column == "cause" else "right")
    for version in history:
        cause = ", ".join(version.cause[:3]) + (f" (+{len(version.cause) - 3})" if len(version.cause) > 3 else "")
        table.add_row(
            str(version.version), str(version.effective_from), *(f"{version.weights[m]:.4f}" for m in models), cause
        )
    Console().print(table)


def show_version(db: Path, version: int) -> None:
    with Store(db, readonly=True) as store:
        found = get_weights(store, version)
    if found is None:
        raise WeightsError(f"{db}: no weights version {version}")
    print(
        msgspec.json.encode(
            {
                "version": found.version,
                "effective_from": found.effective_from,
                "weights": found.weights,
                "cause": found.cause,
            }
        ).decode()
    )


def rollback(config: PeperConfig, run_dir: Path, db: Path, version: int, timeout_s: float = 15.0) -> int:
    """Append a version equal to `version`; return the new version number."""
    with Store(db, readonly=True) as store:
        if get_weights(store, version) is None:
            raise WeightsError(f"{db}: no weights version {version} to roll back to")
    if daemon_is_running(run_dir):
        return _rollback_through_learner(config, run_dir, version, timeout_s)
    with Store(db) as store:
        latest, target = latest_weights(store), get_weights(store, version)
        new = Weights(
            version=latest.version + 1,
            effective_from=latest.effective_from,
            weights=target.weights,
            cause=[f"rollback:{version}"],
        )
        put_weights(store, new)
    return new.version


def _rollback_through_learner(config: PeperConfig, run_dir: Path, version: int, timeout_s: float) -> int:
    request_id = f"request:{uuid.uuid4()}"
    answer = ask(
        config,
        run_dir,
        topics.WEIGHTS_COMMAND,
        WeightsCommand(rollback_to=version, request_id=request_id),
        topics.WEIGHTS,
        lambda message: isinstance(message, Weights) and request_id in message.cause,
        timeout_s,
        WeightsError(f"the running rl_learner did not answer within {timeout_s:g} s (is it in the topology?)"),
    )
    assert isinstance(answer, Weights)
    return answer.version
