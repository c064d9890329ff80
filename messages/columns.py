"""Numeric columns on the wire: a numpy array travels as its little-endian bytes and is read back
as a read-only view of the received frame, without a per-value decode.

Consumes sequences or arrays; produces a message field's bytes (`packed`), the array view of such
bytes (`view`), a list of strings as (distinct values, uint16 code per row) (`factorized`), and the
check a decoded message runs on itself (`check_rows`): every column holds the same number of rows
and every code names a distinct value, or the message is malformed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

FLOAT, INT, CODE, SMALL = np.dtype("<f8"), np.dtype("<i8"), np.dtype("<u2"), np.dtype("i1")


def packed(values: Iterable[Any] | np.ndarray, dtype: np.dtype[Any]) -> bytes:
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


def check_rows(
    message: str, distinct: dict[str, tuple[list[str], bytes]], columns: dict[str, tuple[bytes, np.dtype]]
) -> int:
    """The number of rows; ValueError naming the column if one disagrees or a code is out of range."""
    rows = -1
    for name, (values, codes) in distinct.items():
        rows = _rows_of(message, name, codes, CODE, rows)
    for name, (raw, dtype) in columns.items():
        rows = _rows_of(message, name, raw, dtype, rows)
    for name, (values, codes) in distinct.items():
        if rows and _largest_code(codes) >= len(values):
            raise ValueError(f"{message}: column {name!r} refers past its {len(values)} distinct values")
    return max(rows, 0)


def _largest_code(raw: bytes) -> int:
    if len(raw) < 256 and sys.byteorder == "little":  # a live tick's few rows: numpy's call costs more than the loop
        return max(memoryview(raw).cast("H"))
    return int(view(raw, CODE).max())


def _rows_of(message: str, name: str, raw: bytes, dtype: np.dtype, rows: int) -> int:
    found, remainder = divmod(len(raw), dtype.itemsize)
    if remainder or (rows >= 0 and found != rows):
        raise ValueError(f"{message}: column {name!r} holds {len(raw)} bytes, not {rows} rows of {dtype.itemsize}")
    return found
