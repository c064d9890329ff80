"""Open the one LMDB environment: named databases, schema version, clear errors.

Consumes a path (a directory); produces a `Store` whose `db(name)` handles are the named databases
`stream`, `names`, `trades`, `weights`, `sessions`, `models`, `llm_cache` and `meta`. A missing,
corrupt or newer-schema environment is a `StoreError` naming the path and what is wrong.
Readers open read-only and can read while the recorder writes (LMDB's MVCC).
"""

from __future__ import annotations

from pathlib import Path

import lmdb

from storage import StoreError

SCHEMA_VERSION = 1
DATABASES = ("stream", "names", "trades", "weights", "sessions", "models", "llm_cache", "meta")
SCHEMA_KEY = b"schema_version"


class Store:
    def __init__(self, path: str | Path, *, readonly: bool = False, map_size_mb: int = 4096):
        self.path = Path(path)
        if readonly and not (self.path / "data.mdb").exists():
            raise StoreError(f"{self.path}: no LMDB recording there")
        try:
            if not readonly:
                self.path.mkdir(parents=True, exist_ok=True)
            self.env = lmdb.open(
                str(self.path), map_size=map_size_mb * 2**20, max_dbs=len(DATABASES) + 2,
                readonly=readonly, subdir=True, lock=True, sync=True, metasync=True,
            )
            self._dbs = {name: self.env.open_db(name.encode(), create=not readonly) for name in DATABASES}
        except lmdb.NotFoundError as exc:
            raise StoreError(f"{self.path}: an LMDB environment without Peper's databases ({exc})") from exc
        except lmdb.Error as exc:
            raise StoreError(f"{self.path}: not a usable LMDB environment (corrupt or not LMDB?): {exc}") from exc
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open: {exc.strerror}") from exc
        self._check_schema(readonly)

    def _check_schema(self, readonly: bool) -> None:
        with self.env.begin(write=not readonly) as txn:
            found = txn.get(SCHEMA_KEY, db=self._dbs["meta"])
            if found is None and not readonly:
                txn.put(SCHEMA_KEY, str(SCHEMA_VERSION).encode(), db=self._dbs["meta"])
                return
        if found is not None and int(found) > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {int(found)} is newer than this Peper's ({SCHEMA_VERSION})")

    def db(self, name: str):
        return self._dbs[name]

    def get_meta(self, key: str) -> bytes | None:
        with self.env.begin() as txn:
            return txn.get(key.encode(), db=self._dbs["meta"])

    def put_meta(self, key: str, value: bytes | None) -> None:
        with self.env.begin(write=True) as txn:
            if value is None:
                txn.delete(key.encode(), db=self._dbs["meta"])
            else:
                txn.put(key.encode(), value, db=self._dbs["meta"])

    def size_bytes(self) -> int:
        info = self.env.info()
        return info["last_pgno"] * self.env.stat()["psize"]

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
