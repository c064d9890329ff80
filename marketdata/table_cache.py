"""A loaded kline table kept as one uncompressed .npz, so a restarted feed has its bars in milliseconds.

Consumes a folder (the run directory's cache, private to the daemon, removed when it stops), a key (what was loaded: source,
interval, symbols, window) and the loader; produces the `KlineTable`, from the cache when the key's
file exists and reads back, else from the loader — then written there (atomically: a temporary
file renamed) for the next time. A cache file that does not read back is loaded afresh.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from marketdata.table import COLUMNS, KlineTable


def cached_table(folder: Path, key: str, load: Callable[[], KlineTable]) -> KlineTable:
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"table-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    if path.exists():
        try:
            return _read(path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass
    table = load()
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        np.savez(
            handle,
            open_time=table.open_time,
            symbol_index=table.symbol_index,
            symbols=np.array(table.symbols),
            meta=np.array([table.interval_ms, int(table.synthetic)], np.int64),
            **{f"column_{name}": table.values[name] for name in COLUMNS},
        )
    temporary.replace(path)
    return table


def _read(path: Path) -> KlineTable:
    with np.load(path, allow_pickle=False) as saved:
        interval_ms, synthetic = (int(v) for v in saved["meta"])
        return KlineTable(
            tuple(str(s) for s in saved["symbols"]),
            interval_ms,
            saved["open_time"],
            saved["symbol_index"],
            {name: saved[f"column_{name}"] for name in COLUMNS},
            bool(synthetic),
        )
