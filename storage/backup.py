"""Hot backups of the LMDB environment: compacted copies, rotated to keep the newest N.

Consumes an open `Store`; produces `<db>.backups/backup-<UTC time>/data.mdb` directories.
LMDB copies from a read transaction, so the recorder keeps writing while a backup runs.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

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
