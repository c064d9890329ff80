"""Open an LMDB environment: its named databases, its schema version, clear errors.

Consumes a path (a directory); produces a `Store` whose `db(name)` opens a named database (the
table in `storage`'s docstring says which process writes which). A missing, truncated, corrupt or
newer-schema environment is a `StoreError` naming the path and what is wrong; an older schema is
read as it is (`storage.schema`) but not written to until `python -m supervisor db migrate` has
upgraded it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import lmdb

from messages.errors import StoreError
from storage.integrity import check_file

SCHEMA_VERSION = 3
SCHEMA_KEY = "schema_version"
MAX_DATABASES = 64


class Store:
    def __init__(
        self,
        path: str | Path,
        *,
        readonly: bool = False,
        map_size_mb: int = 4096,
        durable: bool = True,
        migrating: bool = False,
    ):
        self.path = Path(path)
        self.readonly = readonly
        self._migrating = migrating
        self._writing: lmdb.Transaction | None = None
        if readonly and not (self.path / "data.mdb").exists():
            raise StoreError(f"{self.path}: no LMDB recording there")
        check_file(self.path)  # before mapping it: a truncated file is a SIGBUS, not an error
        try:
            if not readonly:
                self.path.mkdir(parents=True, exist_ok=True)
            self.env = lmdb.open(
                str(self.path),
                map_size=map_size_mb * 2**20,
                max_dbs=MAX_DATABASES,
                readonly=readonly,
                subdir=True,
                lock=True,
                sync=durable,
                metasync=durable,
            )
            self._dbs: dict[str, object] = {}
            self.schema_version = self._check_schema()
        except lmdb.Error as exc:
            raise StoreError(f"{self.path}: not a usable LMDB environment (corrupt or not LMDB?): {exc}") from exc
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open: {exc.strerror}") from exc

    def _check_schema(self) -> int:
        found = self.get_meta(SCHEMA_KEY)
        if found is None:
            if self.readonly:
                return SCHEMA_VERSION
            self.put_meta(SCHEMA_KEY, str(SCHEMA_VERSION).encode())
            return SCHEMA_VERSION
        version = int(found)
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {version} is newer than this Peper's ({SCHEMA_VERSION})")
        if version < SCHEMA_VERSION and not self.readonly and not self._migrating:
            raise StoreError(
                f"{self.path}: schema version {version} is older than this Peper's ({SCHEMA_VERSION}); "
                f"it can be read, but to write to it run `python -m supervisor db migrate {self.path}`"
            )
        return version

    @contextlib.contextmanager
    def write(self) -> Iterator[lmdb.Transaction]:
        """A write transaction; a named database first opened inside it is opened by it (LMDB
        would otherwise start a second write transaction in this thread and wait for itself)."""
        with self.env.begin(write=True) as txn:
            self._writing = txn
            try:
                yield txn
            finally:
                self._writing = None

    def db(self, name: str):
        """The named database `name`; created when missing unless the store is read-only."""
        handle = self._dbs.get(name)
        if handle is None:
            try:
                handle = self.env.open_db(name.encode(), txn=self._writing, create=not self.readonly)
            except lmdb.NotFoundError:
                raise MissingDatabase(name) from None
            self._dbs[name] = handle
        return handle

    def has(self, name: str) -> bool:
        """Whether the named database exists (never creates it)."""
        if name in self._dbs:
            return True
        try:
            self._dbs[name] = self.env.open_db(name.encode(), txn=self._writing, create=False)
        except lmdb.NotFoundError:
            return False
        return True

    def get_meta(self, key: str) -> bytes | None:
        if not self.has("meta"):
            return None
        with self.env.begin() as txn:
            return txn.get(key.encode(), db=self.db("meta"))

    def put_meta(self, key: str, value: bytes | None) -> None:
        with self.write() as txn:
            if value is None:
                txn.delete(key.encode(), db=self.db("meta"))
            else:
                txn.put(key.encode(), value, db=self.db("meta"))

    def size_bytes(self) -> int:
        info = self.env.info()
        return info["last_pgno"] * self.env.stat()["psize"]

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MissingDatabase(KeyError):
    """A named database a read-only store does not have (readers treat it as empty)."""


def entries(store: Store, name: str):
    """Every (key, value) of a named database in key order; nothing when a read-only store lacks it."""
    if not store.has(name):
        return []
    with store.env.begin() as txn:
        return list(txn.cursor(db=store.db(name)))
