"""Read Binance kline files: CSV, CSV.gz or a Binance public-data zip, one symbol per file.

Consumes a file or a folder (`<SYMBOL>-<interval>*.csv[.gz]|.zip`, the names Binance and
../shared/data use). A header line, when present, must be the Binance kline header; without one,
rows are Binance public-data rows (12 columns). Produces {symbol: (open_time, columns)} or
`SourceError` naming the file, the line and what is wrong.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import zipfile
from pathlib import Path

import numpy as np

from marketdata import SourceError
from marketdata.table import COLUMNS

HEADER = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
]
_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]{2,20})-(?P<interval>[0-9]+[mhd])(?:[-.].*)?$")
_FIELD_COLUMN = {
    "open": 1,
    "high": 2,
    "low": 3,
    "close": 4,
    "volume": 5,
    "quote_volume": 7,
    "trades": 8,
    "taker_buy_base": 9,
}


def kline_files(path: Path, interval: str) -> list[Path]:
    if not path.exists():
        raise SourceError(f"replay source {path}: no such file or folder")
    candidates = sorted(path.iterdir()) if path.is_dir() else [path]
    files = [
        f
        for f in candidates
        if f.is_file()
        and f.name.endswith((".csv", ".csv.gz", ".zip"))
        and (m := _NAME.match(f.name))
        and (path.is_file() or m.group("interval") == interval)
    ]
    if not files:
        raise SourceError(f"replay source {path}: no <SYMBOL>-{interval}*.csv, .csv.gz or .zip kline files")
    return files


def read_kline_files(path: Path, interval: str) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
    by_symbol: dict[str, list[tuple[np.ndarray, dict[str, np.ndarray]]]] = {}
    for file in kline_files(path, interval):
        symbol = _NAME.match(file.name).group("symbol")
        by_symbol.setdefault(symbol, []).append(_read_one(file))
    merged = {}
    for symbol, parts in by_symbol.items():
        times = np.concatenate([p[0] for p in parts])
        order = np.argsort(times, kind="stable")
        merged[symbol] = (times[order], {c: np.concatenate([p[1][c] for p in parts])[order] for c in COLUMNS})
    return merged


def check_kline_file(file: Path) -> None:
    """Read the first lines only: the file opens, its header (if any) is right, a row follows."""
    _header_checked_rows(file, _read_text(file, max_lines=3))


def _read_one(file: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rows, first_line = _header_checked_rows(file, _read_text(file))
    times = np.empty(len(rows), np.int64)
    columns = {column: np.empty(len(rows), np.float64) for column in COLUMNS}
    for i, row in enumerate(rows):
        if len(row) < 6:
            raise SourceError(f"{file}: line {i + first_line}: {len(row)} fields, expected at least 6")
        try:
            times[i] = int(row[0])
            for column, position in _FIELD_COLUMN.items():
                field = row[position] if position < len(row) else ""
                columns[column][i] = float(field) if field else math.nan
        except ValueError as exc:
            raise SourceError(f"{file}: line {i + first_line}: {exc}") from exc
    return times, columns


def _header_checked_rows(file: Path, text: str) -> tuple[list[list[str]], int]:
    """The data rows and the line number of the first; SourceError for a wrong header or no rows."""
    rows = list(csv.reader(io.StringIO(text)))
    first_line = 1
    if rows and rows[0] and not _is_number(rows[0][0]):
        if [name.strip() for name in rows[0][: len(HEADER)]] != HEADER:
            raise SourceError(f"{file}: line 1: wrong header {','.join(rows[0])!r}; expected {','.join(HEADER)!r}")
        rows = rows[1:]
        first_line = 2
    rows = [row for row in rows if row]
    if not rows:
        raise SourceError(f"{file}: no kline rows (empty file)")
    return rows, first_line


def _read_text(file: Path, max_lines: int | None = None) -> str:
    try:
        if file.name.endswith(".zip"):
            with zipfile.ZipFile(file) as archive:
                members = [m for m in archive.namelist() if m.endswith(".csv")]
                if len(members) != 1:
                    raise SourceError(f"{file}: expected one .csv inside the zip, found {len(members)}")
                with archive.open(members[0]) as member:
                    return _read_lines(io.TextIOWrapper(member), max_lines)
        opener = gzip.open if file.name.endswith(".gz") else open
        with opener(file, "rt") as handle:
            return _read_lines(handle, max_lines)
    except (OSError, EOFError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise SourceError(f"{file}: cannot read: {exc}") from exc


def _read_lines(handle, max_lines: int | None) -> str:
    if max_lines is None:
        return handle.read()
    return "".join(line for _, line in zip(range(max_lines), handle))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
