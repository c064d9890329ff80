"""Binance spot klines into the CSV.gz files a replay reads, through python-binance's REST client.

Consumes symbols, an interval, a [from, to) window and an output folder; produces
`<out>/<SYMBOL>-<interval>.csv.gz` (the header of `marketdata.files`, one row per closed bar, the
REST row's first eleven fields) and a `DownloadReport` per symbol: rows written, where it resumed,
the exchange's gaps (bars Binance has not) and the rows it skipped as malformed, each with its
time. A file already there is resumed after its last row (gzip members appended), so an
interrupted download goes on where it stopped and a finished one asks for nothing again.

python-binance's `Client` does the HTTP, the query and the error codes; pagination is ours (its
`get_historical_klines` keeps everything in memory and sleeps on a fixed schedule), so each page
of at most 1,000 rows is checked (`marketdata.binance.parse_rest_rows`) and written at once. HTTP
429/418 waits the server's `Retry-After`; a 5xx or a lost connection is tried again with backoff,
`MAX_TRIES` times, then a `SourceError` says which symbol and time failed — what is written stays.
"""

from __future__ import annotations

import csv
import gzip
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import requests
from binance.client import Client
from binance.exceptions import BinanceAPIException, BinanceRequestException

from marketdata.binance import ClosedKline, parse_rest_rows
from marketdata.files import HEADER
from messages.errors import BadFrame, SourceError

PAGE_ROWS = 1000  # Binance's most rows per klines request
MAX_TRIES = 5
BACKOFF_S = 0.5
RATE_LIMITED = (429, 418)  # 418: an IP banned for ignoring 429s


@dataclass
class DownloadReport:
    symbol: str
    file: Path | None = None  # None: fetched for the live feed, not written
    resumed_after: int | None = None  # ms UTC: the last open time already in the file
    rows: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (first missing open time, bars missing)
    skipped: list[str] = field(default_factory=list)  # malformed rows, each named
    skipped_times: set[int] = field(default_factory=set)  # their open times (not the exchange's gaps)
    waits_s: float = 0.0  # time spent obeying Retry-After


def interval_ms(interval: str) -> int:
    units = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
    try:
        return int(interval[:-1]) * units[interval[-1]]
    except (ValueError, KeyError):
        raise SourceError(f"interval {interval!r}: expected a Binance interval such as 1m, 5m, 1h, 1d") from None


def rest_client(rest_url: str) -> Client:
    """python-binance's client on `rest_url` (Binance's, or a double's), with no call at construction."""
    client = Client(ping=False)
    client.API_URL = rest_url.rstrip("/") + "/api"
    client.session.trust_env = False  # no proxy from the environment: the address is the one configured
    return client


def kline_pages(
    client: Client,
    symbol: str,
    interval: str,
    start_ms: int,
    end_ms: int,
    report: DownloadReport,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[list[ClosedKline]]:
    """Every closed bar with start_ms <= open time < end_ms, a checked page (<= 1,000 rows) at a time."""
    step = interval_ms(interval)
    cursor = start_ms
    while cursor < end_ms:
        klines = [
            row
            for row in _page(client, symbol, interval, cursor, end_ms - 1, report, sleep)
            if cursor <= row.open_time < end_ms
        ]
        if not klines:
            return
        yield klines
        cursor = klines[-1].open_time + step


def download_symbol(
    client: Client,
    symbol: str,
    interval: str,
    start_ms: int,
    end_ms: int,
    out: Path,
    progress: Callable[[int], None] = lambda bars: None,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadReport:
    step = interval_ms(interval)
    file = out / f"{symbol}-{interval}.csv.gz"
    report = DownloadReport(symbol, file)
    last = _last_open_time(file)
    if last is not None:
        report.resumed_after = last
        progress((min(last + step, end_ms) - start_ms) // step)
    expected = max(start_ms, last + step) if last is not None else start_ms
    for klines in kline_pages(client, symbol, interval, expected, end_ms, report, sleep):
        for kline in klines:
            missing = [t for t in range(expected, kline.open_time, step) if t not in report.skipped_times]
            if missing:
                report.gaps.append((missing[0], len(missing)))
            expected = kline.open_time + step
        _append(file, [_csv_row(kline, step) for kline in klines], header=not file.exists())
        report.rows += len(klines)
        progress((min(expected, end_ms) - start_ms) // step)
    return report


def _page(
    client: Client,
    symbol: str,
    interval: str,
    start: int,
    end: int,
    report: DownloadReport,
    sleep: Callable[[float], None],
) -> list:
    for attempt in range(1, MAX_TRIES + 1):
        try:
            raw = client.get_klines(symbol=symbol, interval=interval, startTime=start, endTime=end, limit=PAGE_ROWS)
            return _checked_rows(raw, symbol, report)
        except BinanceAPIException as exc:
            if exc.status_code in RATE_LIMITED:
                wait = float(exc.response.headers.get("Retry-After", 1))
                report.waits_s += wait
                sleep(wait)
                continue
            if exc.status_code < 500:
                raise SourceError(
                    f"Binance refused klines of {symbol} from {start}: HTTP {exc.status_code} "
                    f"(code {exc.code}): {exc.message}"
                ) from exc
            problem = f"HTTP {exc.status_code}"
        except (BinanceRequestException, requests.RequestException) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if attempt == MAX_TRIES:
            raise SourceError(
                f"klines of {symbol} from {start}: {problem}, {MAX_TRIES} times; "
                + (
                    f"{report.rows} rows were written to {report.file} and a new download resumes there"
                    if report.file
                    else "the bars from there are missing"
                )
            )
        sleep(BACKOFF_S * 2 ** (attempt - 1))
    raise SourceError(f"klines of {symbol} from {start}: still rate-limited after {MAX_TRIES} waits")


def _checked_rows(raw: list, symbol: str, report: DownloadReport) -> list:
    """The well-formed rows, in time order; each malformed one named in the report and skipped."""
    good = []
    for row in raw:
        try:
            good.extend(parse_rest_rows(msgspec.json.encode([row]), symbol))
        except BadFrame as exc:
            report.skipped.append(str(exc))
            if row and isinstance(row[0], int):
                report.skipped_times.add(row[0])
    return sorted(good, key=lambda kline: kline.open_time)


def _csv_row(kline, step: int) -> list:
    return [
        kline.open_time,
        *(repr(value) for value in (kline.open, kline.high, kline.low, kline.close, kline.volume)),
        kline.open_time + step - 1,
        repr(kline.quote_volume),
        int(kline.trades),
        repr(kline.taker_buy_base),
        "",
    ]


def _append(file: Path, rows: list[list], header: bool) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    if header:
        writer.writerow(HEADER)
    writer.writerows(rows)
    with gzip.open(file, "at", encoding="ascii") as handle:  # one more gzip member: readers see one stream
        handle.write(text.getvalue())


def _last_open_time(file: Path) -> int | None:
    if not file.exists():
        return None
    last = None
    with gzip.open(file, "rt", encoding="ascii") as handle:
        for line in handle:
            head = line.split(",", 1)[0]
            if head.isdigit():
                last = int(head)
    return last
