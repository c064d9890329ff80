"""`python -m supervisor db check|migrate PATH`: verify a store, or upgrade its schema in place.

`check` opens the store read-only and prints its schema version, its named databases with their
entry counts, and its size; `migrate` upgrades an older schema to this Peper's after a hot backup
(`storage.schema`), with a progress bar, and says what it did.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from config.schema import PeperConfig
from storage.schema import migrate
from storage.store import SCHEMA_VERSION, Store


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    db = commands.add_parser("db", parents=[common], help="check a store, or upgrade an older one's schema")
    db.add_argument("action", choices=["check", "migrate"], help="check: open read-only and describe; "
                    "migrate: upgrade to the current schema after a hot backup")
    db.add_argument("path", type=Path, help="the LMDB environment (a directory)")


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    console = Console(soft_wrap=True)  # paths are long: never wrap them
    if args.action == "check":
        with Store(args.path, readonly=True) as store:
            with store.env.begin() as txn:
                names = [bytes(key).decode() for key, _ in txn.cursor()]
            counts = {name: _entries(store, name) for name in names}
            console.print(f"{args.path}: schema version {store.schema_version} (this Peper writes {SCHEMA_VERSION}), "
                          f"{store.size_bytes() / 2**20:.1f} MiB used")
            for name, count in counts.items():
                console.print(f"  {name}: {count} entries")
        return 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"migrating {args.path}", total=None)
        found, to, backup = migrate(args.path, config.database.max_backup_files,
                                    lambda done, total: progress.update(task, completed=done, total=total))
    if backup is None:
        console.print(f"{args.path}: already at schema version {to}; nothing to do")
    else:
        console.print(f"{args.path}: migrated from schema version {found} to {to}; backup before it: {backup}")
    return 0


def _entries(store: Store, name: str) -> int:
    with store.env.begin() as txn:
        return txn.stat(store.db(name))["entries"]
