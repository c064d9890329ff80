"""Turn a replay SOURCE into a `KlineTable`: a klines file or folder, `lmdb:PATH`, `synthetic[:SEED]`.

Consumes the SOURCE string, the interval, the symbols and an optional [from, to) window; produces
the table restricted to them, or `SourceError` with one line naming the source and the problem.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np

from marketdata import SourceError
from marketdata.files import check_kline_file, kline_files, read_kline_files
from marketdata.synthetic import START_MS, generate
from marketdata.table import COLUMNS, INTERVAL_MS, KlineTable
from messages.codec import Codec
from messages.errors import StoreError
from messages.market import KlineBatch
from messages.topics import KLINE
from storage.schema import current
from storage.store import Store
from storage.stream import StreamReader

DEFAULT_SYNTHETIC_DAYS = 7.0


def load_source(
    source: str,
    *,
    interval: str,
    symbols: list[str],
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> KlineTable:
    interval_ms = INTERVAL_MS[interval]
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise SourceError("window: --to must be after --from")
    if source == "synthetic" or source.startswith("synthetic:"):
        table = _synthetic(source, symbols, interval_ms, start_ms, end_ms)
    elif source.startswith("lmdb:"):
        table = _recording(Path(source[len("lmdb:") :]))
    else:
        table = KlineTable.merge(read_kline_files(Path(source), interval), interval_ms)
    if table.interval_ms != interval_ms:
        raise SourceError(f"replay source {source}: its bars are {table.interval_ms} ms, the config says {interval}")
    missing = sorted(set(symbols) - set(table.symbols))
    if len(missing) == len(symbols):
        raise SourceError(
            f"replay source {source}: none of the symbols {', '.join(symbols)} (it has {', '.join(table.symbols)})"
        )
    table = table.select(symbols).window(start_ms, end_ms)
    if len(table) == 0:
        raise SourceError(f"replay source {source}: no klines in the chosen window")
    return table


def _synthetic(
    source: str, symbols: list[str], interval_ms: int, start_ms: int | None, end_ms: int | None
) -> KlineTable:
    _, _, seed_text = source.partition(":")
    try:
        seed = int(seed_text) if seed_text else 0
    except ValueError as exc:
        raise SourceError(f"replay source {source}: the seed must be an integer") from exc
    end = end_ms if end_ms is not None else (start_ms or START_MS) + int(DEFAULT_SYNTHETIC_DAYS * 86_400_000)
    days = (end - START_MS) / 86_400_000
    if days <= 0:
        raise SourceError(f"replay source {source}: the synthetic market starts at 2021-01-01; the window ends before")
    return KlineTable.merge(generate(seed, symbols, interval_ms, days), interval_ms, synthetic=True)


def _recording(path: Path) -> KlineTable:
    try:
        store = Store(path, readonly=True)
    except StoreError as exc:
        raise SourceError(f"replay source lmdb:{path}: {exc}") from exc
    codec = Codec()
    rows: dict[str, tuple[list[np.ndarray], dict[str, list[np.ndarray]]]] = {}
    interval_ms = None
    synthetic = False
    with store:
        for _, _, _, _, payload in StreamReader(store).records(KLINE):
            try:
                batch = current(codec.decode_payload(payload))
            except msgspec.DecodeError as exc:
                raise SourceError(f"replay source lmdb:{path}: a recorded kline batch does not decode: {exc}") from exc
            if not isinstance(batch, KlineBatch):
                continue
            interval_ms = batch.interval_ms
            synthetic = synthetic or batch.synthetic
            codes = batch.symbol_index
            for code, symbol in enumerate(batch.symbols):
                mine = codes == code
                if not mine.any():
                    continue
                times, columns = rows.setdefault(symbol, ([], {c: [] for c in COLUMNS}))
                times.append(batch.open_time[mine])
                for column in COLUMNS:
                    columns[column].append(getattr(batch, column)[mine])
    if not rows:
        raise SourceError(f"replay source lmdb:{path}: the recording holds no klines")
    per_symbol = {}
    for symbol, (times, columns) in rows.items():
        open_time, first = np.unique(np.concatenate(times), return_index=True)  # a re-sent batch is recorded once
        per_symbol[symbol] = (open_time, {c: np.concatenate(v)[first] for c, v in columns.items()})
    return KlineTable.merge(per_symbol, interval_ms, synthetic)


def check_source(source: str, *, interval: str) -> None:
    """Cheap up-front check of a SOURCE (exists, readable, right header, not empty); SourceError if not."""
    if source == "synthetic" or source.startswith("synthetic:"):
        _, _, seed_text = source.partition(":")
        if seed_text and not seed_text.isdigit():
            raise SourceError(f"replay source {source}: the seed must be a non-negative integer")
        return
    if source.startswith("lmdb:"):
        try:
            Store(Path(source[len("lmdb:") :]), readonly=True).close()
        except StoreError as exc:
            raise SourceError(f"replay source {source}: {exc}") from exc
        return
    for file in kline_files(Path(source), interval):
        check_kline_file(file)
