"""`python -m supervisor policy list|show ID|latest [--json] --catalog PATH`: the policies `train` stored.

Consumes a training catalog's `policies` database; `list` prints every policy as a table, `show`
one policy as a table or, with `--json`, as one document (id, run, weights_version, weights,
lgbm_version, learning, trader, changes, config_hash, learned_upto). `run --policy ID|latest`
trades with one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from common.times import iso
from config.schema import PeperConfig
from messages.errors import WeightsError
from storage.catalog import Catalog
from storage.policies import Policy, all_policies
from training.policies import find_policy


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "policy",
        parents=[common],
        help="list or show the policies train stored",
        description="A policy is what `train` chose and learned: weights, lgbm_ai model, "
        "learner state, its learning and trader sections. `run --policy ID|latest` "
        "starts from one.",
    )
    parser.add_argument("action", choices=["list", "show"], help="what to do")
    parser.add_argument("which", nargs="?", default="latest", help="policy id or latest (show; default latest)")
    parser.add_argument("--catalog", metavar="PATH", help="the training catalog (default [database] training_path)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    catalog = Catalog(Path(args.catalog or config.database.training_path), readonly=True)
    try:
        if args.action == "list":
            policies = all_policies(catalog.store)
            if not policies:
                raise WeightsError(f"{catalog.path}: no policy stored yet (run `python -m supervisor train` first)")
            if args.json:
                print(msgspec.json.encode([document(p) for p in policies]).decode())
            else:
                show_table(policies, f"policies in {catalog.path}")
        else:
            policy = find_policy(catalog, args.which)
            if args.json:
                print(msgspec.json.encode(document(policy)).decode())
            else:
                show_table([policy], f"policy {policy.id} in {catalog.path}")
    finally:
        catalog.close()
    return 0


def document(policy: Policy) -> dict[str, object]:
    found = msgspec.to_builtins(policy)
    found.pop("learner_state")
    found.pop("created_at")
    found.pop("thresholds")
    found["learned_upto"] = iso(policy.created_at)
    return found


def show_table(policies: list[Policy], title: str) -> None:
    table = Table(title=title)
    for column in (
        "id",
        "run",
        "learned up to (UTC)",
        "weights version",
        "weights",
        "lgbm_ai model",
        "learner",
        "configuration",
    ):
        table.add_column(
            column, justify="right" if column in ("id", "run", "weights version", "lgbm_ai model") else "left"
        )
    for policy in policies:
        table.add_row(
            str(policy.id),
            str(policy.run),
            iso(policy.created_at),
            str(policy.weights_version),
            ", ".join(f"{k} {v:.3f}" for k, v in policy.weights.items()),
            str(policy.lgbm_version) if policy.lgbm_version else "none",
            str(policy.learning.get("algorithm", "-")),
            ", ".join(f"{k}={v}" for k, v in policy.changes.items()) or "-",
        )
    Console().print(table)
