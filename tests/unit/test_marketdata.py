"""Kline sources: Binance files read exactly, a synthetic market that is deterministic and
realistic, and the chunker's ticks and gap ledger."""

from __future__ import annotations

import gzip
import zipfile

import numpy as np
import pytest

from common.times import parse_time
from marketdata import SourceError
from marketdata.chunks import TickChunker
from marketdata.files import read_kline_files
from marketdata.sources import load_source
from marketdata.synthetic import generate
from tests.helpers.data import KLINES, SYMBOLS, requires_shared_data

ROWS = [
    "1617321600000,58720.45,58840.43,58720.44,58760.34,61.685675,1617321659999,3624000.5,1200,30.5,1790000.1,0",
    "1617321660000,58760.34,58820.97,58739.28,58750.01,25.392093,1617321719999,1492000.2,800,12.1,711000.3,0",
]


@requires_shared_data
def test_shared_klines_load_with_their_documented_shape_and_values():
    per_symbol = read_kline_files(KLINES, "1m")
    assert sorted(per_symbol) == sorted(SYMBOLS)
    times, columns = per_symbol["BTCUSDT"]
    assert len(times) == 60_046
    assert times[0] == parse_time("2021-04-02") and columns["close"][0] == 58760.34
    assert columns["close"][-1] == 49671.0 or round(columns["close"][-1]) == 49671
    assert np.isnan(columns["trades"]).all()


def test_binance_public_data_zip_without_header_is_read(tmp_path):
    archive = tmp_path / "BTCUSDT-1m-2021-04.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("BTCUSDT-1m-2021-04.csv", "\n".join(ROWS) + "\n")
    times, columns = read_kline_files(archive, "1m")["BTCUSDT"]
    assert times.tolist() == [1617321600000, 1617321660000]
    assert columns["trades"].tolist() == [1200.0, 800.0]
    assert columns["taker_buy_base"].tolist() == [30.5, 12.1]


def test_a_bad_field_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "ETHUSDT-1m.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(ROWS[0] + "\n" + ROWS[1].replace("58750.01", "oops") + "\n")
    with pytest.raises(SourceError, match=r"ETHUSDT-1m.csv.gz: line 2: could not convert string to float: 'oops'"):
        read_kline_files(path, "1m")


def test_the_synthetic_market_is_deterministic_per_seed():
    first = generate(3, ["AAAUSDT", "BBBUSDT"], 60_000, 1)
    again = generate(3, ["AAAUSDT", "BBBUSDT"], 60_000, 1)
    other = generate(4, ["AAAUSDT", "BBBUSDT"], 60_000, 1)
    assert np.array_equal(first["AAAUSDT"][1]["close"], again["AAAUSDT"][1]["close"])
    assert not np.array_equal(first["AAAUSDT"][1]["close"], other["AAAUSDT"][1]["close"])


def test_the_synthetic_market_has_consistent_bars_correlation_and_volatility_clustering():
    market = generate(7, ["AAAUSDT", "BBBUSDT", "CCCUSDT"], 60_000, 10)
    returns = []
    for _, columns in market.values():
        o, h, l, c, v = (columns[k] for k in ("open", "high", "low", "close", "volume"))
        assert (h >= np.maximum(o, c)).all() and (l <= np.minimum(o, c)).all() and (l > 0).all() and (v > 0).all()
        returns.append(np.diff(np.log(c)))
    correlation = np.corrcoef(returns)
    assert correlation[0, 1] > 0.3 and correlation[1, 2] > 0.3
    absolute = np.abs(returns[0])
    assert np.corrcoef(absolute[:-1], absolute[1:])[0, 1] > 0.05  # large moves follow large moves


def test_synthetic_batches_are_labelled_synthetic():
    table = load_source("synthetic:1", interval="1m", symbols=["AAAUSDT"], end_ms=parse_time("2021-01-01T01:00"))
    batch = TickChunker(table).batch(0, 10)
    assert table.synthetic and batch.synthetic
    assert len(batch.symbol) == 10


@requires_shared_data
def test_the_chunker_finds_the_two_exchange_wide_gaps_of_the_1m_data():
    table = load_source(str(KLINES), interval="1m", symbols=SYMBOLS)
    gaps = [gap for found in TickChunker(table).gaps_before().values() for gap in found]
    assert [(g.symbol, g.start, g.end) for g in gaps] == [
        ("*", parse_time("2021-04-20T02:00"), parse_time("2021-04-20T04:29")),
        ("*", parse_time("2021-04-25T04:01"), parse_time("2021-04-25T08:44")),
    ]
    assert [g.detail for g in gaps] == ["150 bars missing for every symbol", "284 bars missing for every symbol"]


def test_a_bar_missing_for_one_symbol_is_its_own_gap():
    table = load_source(
        "synthetic:2", interval="1m", symbols=["AAAUSDT", "BBBUSDT"], end_ms=parse_time("2021-01-01T00:10")
    )
    keep = ~((table.symbol_index == 1) & (table.open_time == parse_time("2021-01-01T00:05")))
    from marketdata.table import KlineTable

    holed = KlineTable(
        table.symbols,
        table.interval_ms,
        table.open_time[keep],
        table.symbol_index[keep],
        {k: v[keep] for k, v in table.values.items()},
        True,
    )
    chunker = TickChunker(holed)
    assert chunker.ticks == 10
    [(tick, [gap])] = chunker.gaps_before().items()
    assert tick == 5 and gap.symbol == "BBBUSDT" and gap.start == parse_time("2021-01-01T00:05")


def test_windows_times_and_symbols_are_checked(tmp_path):
    with pytest.raises(SourceError, match="not an ISO date"):
        parse_time("yesterday")
    with pytest.raises(SourceError, match="--to must be after --from"):
        load_source("synthetic", interval="1m", symbols=["AAAUSDT"], start_ms=10, end_ms=5)
    (tmp_path / "BTCUSDT-1m.csv").write_text("\n".join(ROWS) + "\n")
    with pytest.raises(SourceError, match=r"none of the symbols XRPUSDT \(it has BTCUSDT\)"):
        load_source(str(tmp_path), interval="1m", symbols=["XRPUSDT"])
    with pytest.raises(SourceError, match="no klines in the chosen window"):
        load_source(str(tmp_path), interval="1m", symbols=["BTCUSDT"], start_ms=parse_time("2030-01-01"))
