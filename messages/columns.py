"""Numeric columns on the wire: a numpy array travels as its little-endian bytes and is read back
as a read-only view of the received frame, without a per-value decode.

Consumes sequences or arrays; produces a message field's bytes (`packed`), the array view of such
bytes (`view`), a list of strings as (distinct values, uint16 code per row) (`factorized`), and the
check a decoded message runs on itself (`check_rows`): every column holds the same number of rows
and every code names a distinct value, or the message is malformed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

FLOAT, INT, CODE, SMALL = np.dtype("<f8"), np.dtype("<i8"), np.dtype("<u2"), np.dtype("i1")


def packed(values: Iterable | np.ndarray, dtype: np.dtype) -> bytes:
    return np.ascontiguousarray(values, dtype=dtype).tobytes()


def view(raw: bytes, dtype: np.dtype) -> np.ndarray:
    return np.frombuffer(raw, dtype)


def factorized(values: Sequence[str] | np.ndarray) -> tuple[list[str], bytes]:
    """(the distinct values in order of first appearance, each row's index into them as uint16)."""
    distinct: dict[str, int] = {}
    codes = np.fromiter((distinct.setdefault(value, len(distinct)) for value in values), CODE, len(values))
    return list(distinct), codes.tobytes()


def names(distinct: list[str], raw_codes: bytes) -> list[str]:
    """Each row's value, from `factorized`'s two parts."""
    return np.array(distinct, dtype=object)[view(raw_codes, CODE)].tolist() if distinct else []


def check_rows(message: str, distinct: dict[str, tuple[list[str], bytes]], columns: dict[str, tuple[bytes, np.dtype]]) -> int:
    """The number of rows; ValueError naming the column if one disagrees or a code is out of range."""
    rows = None
    for name, (raw, dtype) in {**{k: (codes, CODE) for k, (_, codes) in distinct.items()}, **columns}.items():
        if len(raw) % dtype.itemsize or (rows is not None and len(raw) // dtype.itemsize != rows):
            raise ValueError(f"{message}: column {name!r} holds {len(raw)} bytes, not {rows} rows of {dtype.itemsize}")
        rows = len(raw) // dtype.itemsize
    for name, (values, codes) in distinct.items():
        if rows and int(view(codes, CODE).max()) >= len(values):
            raise ValueError(f"{message}: column {name!r} refers past its {len(values)} distinct values")
    return rows or 0
