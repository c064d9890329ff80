"""Hot backups of the LMDB environment: compacted copies, rotated to keep the newest N.

Consumes an open `Store`; produces `<db>.backups/backup-<UTC time>/data.mdb` directories.
LMDB copies from a read transaction, so the recorder keeps writing while a backup runs.
`restore_newest_backup` puts the newest backup that reads whole back in a damaged store's place.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from messages.errors import StoreError
from storage.integrity import read_every_record
from storage.store import Store


def backup_dir_for(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".backups")


def make_backup(store: Store, keep: int) -> Path:
    root = backup_dir_for(store.path)
    root.mkdir(parents=True, exist_ok=True)
    target = root / time.strftime("backup-%Y%m%dT%H%M%SZ", time.gmtime())
    suffix = 1
    while target.exists():
        target = target.with_name(f"{target.name.split('.')[0]}.{suffix}")
        suffix += 1
    target.mkdir()
    store.env.copy(str(target), compact=True)
    backups = sorted(p for p in root.iterdir() if p.name.startswith("backup-"))
    for old in backups[: max(0, len(backups) - keep)]:
        shutil.rmtree(old)
    return target


def restore_newest_backup(store_path: Path) -> tuple[Path, Path]:
    """The newest backup that reads whole copied into `store_path`; the damaged environment moved
    to `<db>.damaged-<UTC time>`. Returns (the backup, where the damaged files went)."""
    root = backup_dir_for(store_path)
    backups = sorted((p for p in root.iterdir() if p.name.startswith("backup-")), reverse=True) if root.is_dir() else []
    problems = []
    for backup in backups:
        try:
            with Store(backup, readonly=True) as candidate:
                read_every_record(candidate.env)
        except StoreError as exc:
            problems.append(str(exc))
            continue
        kept = store_path.with_name(f"{store_path.name}.damaged-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
        if store_path.exists():
            store_path.rename(kept)
        store_path.mkdir()
        shutil.copy2(backup / "data.mdb", store_path / "data.mdb")
        return backup, kept
    raise StoreError(
        f"{store_path}: no hot backup in {root} reads whole" + (f" ({'; '.join(problems)})" if problems else "")
    )
