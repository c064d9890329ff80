"""Is an LMDB file whole? Checked from its two meta pages before it is mapped, and by reading every record.

Consumes an environment's directory; produces nothing when it is whole, else a `StoreError` naming
the file and what is wrong. LMDB maps the file: a page past the end of a truncated file is a SIGBUS
that kills the reader with no message, so `check_file` reads the meta pages with plain file reads
first — the newest transaction's last page must lie inside the file. `read_every_record` then walks
every named database (for `db check`), which a truncated file would not survive.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import lmdb

from messages.errors import StoreError

MAGIC = 0xBEEFC0DE
_MAGIC_VERSION = struct.Struct("<II")  # at 16: mm_magic, mm_version (after the 16-byte page header)
_PAGE_SIZE = struct.Struct("<I")  # at 40: the free database's md_pad, where LMDB keeps the page size
_LAST_PAGE_TXN = struct.Struct("<QQ")  # at 136: mm_last_pg, mm_txnid
_META_HEAD = 152


def check_file(directory: Path) -> None:
    """StoreError when `directory/data.mdb` is not an LMDB file or is shorter than its newest
    transaction needs; a missing or empty file is a new environment and passes."""
    data = directory / "data.mdb"
    if not data.exists() or data.stat().st_size == 0:
        return
    with data.open("rb") as file:  # the meta pages first, then the size: a writer commits pages before meta
        first = file.read(_META_HEAD)
        if len(first) < _META_HEAD or _MAGIC_VERSION.unpack_from(first, 16)[0] != MAGIC:
            raise StoreError(
                f"{data}: not an LMDB file (no LMDB meta page at its start; {os.fstat(file.fileno()).st_size} bytes)"
            )
        page_size = _PAGE_SIZE.unpack_from(first, 40)[0]
        file.seek(page_size)
        second = file.read(_META_HEAD)
        size = os.fstat(file.fileno()).st_size
    metas = [
        _LAST_PAGE_TXN.unpack_from(meta, 136)
        for meta in (first, second)
        if len(meta) == _META_HEAD and _MAGIC_VERSION.unpack_from(meta, 16)[0] == MAGIC
    ]
    if len(metas) < 2:
        raise StoreError(f"{data}: truncated or corrupt: its second meta page is missing ({size} bytes)")
    last_page, _ = max(metas, key=lambda meta: meta[1])
    needed = (last_page + 1) * page_size
    if size < needed:
        raise StoreError(
            f"{data}: truncated: {size} bytes, but its last committed transaction needs {needed} "
            f"bytes; restore the newest hot backup with `python -m supervisor db restore {directory}`"
        )


def read_every_record(env: lmdb.Environment) -> dict[str, int]:
    """Every named database's entry count, each key and value read once; StoreError when LMDB finds
    a damaged page."""
    counts: dict[str, int] = {}
    try:
        with env.begin() as txn:
            names = [bytes(key) for key, _ in txn.cursor()]
            for name in names:
                database = env.open_db(name, txn=txn, create=False)
                counts[name.decode()] = sum(1 for _ in txn.cursor(db=database).iternext())
    except lmdb.Error as exc:
        raise StoreError(f"{env.path()}: damaged: {exc}") from exc
    return counts
