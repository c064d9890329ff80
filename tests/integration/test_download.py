"""`download` through python-binance against the Binance double's REST side: pagination past the
1,000-row limit, 429 with Retry-After, a 500, a malformed row, a gap in the exchange's data, and a
resumed download — and what it wrote replays bar for bar like the source."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from common.times import parse_time
from marketdata.binance_double import BinanceDouble
from marketdata.files import read_kline_files
from marketdata.sources import load_source
from marketdata.table import KlineTable
from tests.helpers.data import KLINES, REPO_ROOT, requires_shared_data

pytestmark = requires_shared_data
START, END = "2021-04-02", "2021-04-03T12:00"  # 2,160 one-minute bars per symbol: three pages
GAP = (parse_time("2021-04-02T10:00"), parse_time("2021-04-02T10:07"))  # 7 bars Binance "does not have"


def source_table() -> KlineTable:
    table = load_source(
        str(KLINES), interval="1m", symbols=["BTCUSDT", "ETHUSDT"], start_ms=parse_time(START), end_ms=parse_time(END)
    )
    keep = ~((table.open_time >= GAP[0]) & (table.open_time < GAP[1]) & (table.symbol_index == 0))
    return KlineTable(
        table.symbols,
        table.interval_ms,
        table.open_time[keep],
        table.symbol_index[keep],
        {name: column[keep] for name, column in table.values.items()},
        table.synthetic,
    )


def download(double: BinanceDouble, out, start: str = START, end: str = END) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "supervisor",
            "download",
            "--symbols",
            "BTCUSDT,ETHUSDT",
            "--interval",
            "1m",
            "--from",
            start,
            "--to",
            end,
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PEPER_FEED__REST_URL": double.rest_url},
        check=False,
    )


def test_download_pages_waits_retries_skips_and_resumes(tmp_path):
    table = source_table()
    faults = {2: "429", 3: "500", 5: "malformed"}
    double = BinanceDouble(table, bar_period_s=60, history=True, rest_faults=faults).start()
    try:
        first = download(double, tmp_path, end="2021-04-03")  # stops a day in
        assert first.returncode == 0, first.stderr
        second = download(double, tmp_path)  # resumes there
        assert second.returncode == 0, second.stderr
        asked = double.rest_requests
        again = download(double, tmp_path)  # nothing left to ask
        assert again.returncode == 0 and double.rest_requests == asked
    finally:
        double.stop()
    btc = next(line for line in first.stdout.splitlines() if line.startswith("BTCUSDT:"))
    assert "1 s waited on rate limits" in btc and "7 bars missing at Binance in 1 gaps" in btc
    eth = next(line for line in first.stdout.splitlines() if line.startswith("ETHUSDT:"))
    assert "0 bars missing at Binance in 0 gaps; 1 malformed rows skipped" in eth  # request 5: ETHUSDT's first page
    assert "skipped: bad_shape: REST kline row for ETHUSDT has 2 fields, expected 12" in first.stdout
    assert "resumed after 1617407940000 ms UTC" in second.stdout and "rows written" in second.stdout
    assert "BTCUSDT: 0 rows written" in again.stdout and "ETHUSDT: 0 rows written" in again.stdout

    written = read_kline_files(tmp_path, "1m")
    for index, symbol in enumerate(table.symbols):
        rows = table.symbol_index == index
        times, columns = written[symbol]
        skipped = 1 if symbol == "ETHUSDT" else 0
        assert len(times) == rows.sum() - skipped and np.all(np.diff(times) > 0)
        expected = dict(zip(table.open_time[rows], table.values["close"][rows]))
        assert all(expected[t] == close for t, close in zip(times, columns["close"]))
