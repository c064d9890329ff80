"""`python -m supervisor db check|restore|migrate PATH`: verify a store, bring back its newest backup, or upgrade it.

`check` opens the store read-only, reads every record (`storage.integrity`) and prints its schema
version, its named databases with their entry counts, and its size — or the one line saying what
is damaged; `restore` puts the newest hot backup that reads whole (`storage.backup`) in place,
moving the damaged file aside rather than deleting it; `migrate` upgrades an older schema to this
Peper's after a hot backup (`storage.schema`), with a progress bar, and says what it did.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from config.schema import PeperConfig
from storage.backup import restore_newest_backup
from storage.integrity import read_every_record
from storage.schema import migrate
from storage.store import SCHEMA_VERSION, Store


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    db = commands.add_parser(
        "db", parents=[common], help="check a store, restore its newest backup, or upgrade an older one's schema"
    )
    db.add_argument(
        "action",
        choices=["check", "restore", "migrate"],
        help="check: read every record and describe; restore: put the newest whole hot backup in place "
        "(the damaged file is kept beside it); migrate: upgrade to the current schema after a hot backup",
    )
    db.add_argument("path", type=Path, help="the LMDB environment (a directory)")


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    console = Console(soft_wrap=True)  # paths are long: never wrap them
    if args.action == "check":
        with Store(args.path, readonly=True) as store:
            counts = read_every_record(store.env)
            console.print(
                f"{args.path}: schema version {store.schema_version} (this Peper writes {SCHEMA_VERSION}), "
                f"{store.size_bytes() / 2**20:.1f} MiB used"
            )
            for name, count in counts.items():
                console.print(f"  {name}: {count} entries")
        return 0
    if args.action == "restore":
        backup, kept = restore_newest_backup(args.path)
        console.print(f"{args.path}: restored from the hot backup {backup}; the damaged file was moved to {kept}")
        return 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"migrating {args.path}", total=None)
        found, to, backup = migrate(
            args.path,
            config.database.max_backup_files,
            lambda done, total: progress.update(task, completed=done, total=total),
        )
    if backup is None:
        console.print(f"{args.path}: already at schema version {to}; nothing to do")
    else:
        console.print(f"{args.path}: migrated from schema version {found} to {to}; backup before it: {backup}")
    return 0
