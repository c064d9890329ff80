"""Fuzzed input never escapes as anything but its own one-line error: Binance frames and REST rows
(`BadFrame`), kline CSV files (`SourceError`), peper.toml text (`ConfigError`)."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.loader import load_config
from marketdata.binance import parse_frame, parse_rest_rows
from marketdata.files import read_kline_files
from messages.errors import BadFrame, ConfigError, SourceError

SYMBOLS = frozenset({"BTCUSDT"})
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner, max_size=5),
    max_leaves=20,
)
KLINE = {
    "t": 1617321600000,
    "s": "BTCUSDT",
    "i": "1m",
    "o": "1",
    "h": "2",
    "l": "0.5",
    "c": "1.5",
    "v": "10",
    "q": "15",
    "n": 3,
    "V": "4",
    "x": True,
}


REASONS = {"not_json", "bad_shape", "unknown_symbol", "wrong_interval", "bad_price"}


def assert_one_line_with_a_reason(error: BadFrame) -> None:
    assert error.reason in REASONS and "\n" not in str(error) and str(error).startswith(error.reason + ": ")


def assert_a_sound_kline(kline) -> None:
    assert kline.symbol in SYMBOLS and isinstance(kline.open_time, int)
    assert 0 < kline.low <= min(kline.open, kline.close) <= max(kline.open, kline.close) <= kline.high < math.inf
    assert 0 <= kline.volume < math.inf


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_any_bytes_as_a_websocket_frame_are_a_kline_or_a_bad_frame(raw):
    try:
        kline, _ = parse_frame(raw, SYMBOLS, "1m")
    except BadFrame as error:
        assert_one_line_with_a_reason(error)
    else:
        assert_a_sound_kline(kline)


@given(st.dictionaries(st.sampled_from(sorted(KLINE)), json_values, max_size=6))
def test_a_kline_with_any_fields_replaced_is_a_kline_or_a_bad_frame(replaced):
    frame = {"stream": "btcusdt@kline_1m", "data": {"e": "kline", "E": 1, "s": "BTCUSDT", "k": {**KLINE, **replaced}}}
    try:
        kline, _ = parse_frame(json.dumps(frame), SYMBOLS, "1m")
    except BadFrame as error:
        assert_one_line_with_a_reason(error)
    else:
        assert_a_sound_kline(kline)


@given(st.lists(st.lists(json_values, max_size=13), max_size=4))
def test_any_rest_rows_are_klines_or_a_bad_frame(rows):
    try:
        klines = parse_rest_rows(json.dumps(rows).encode(), "BTCUSDT")
    except BadFrame as error:
        assert_one_line_with_a_reason(error)
    else:
        assert len(klines) == len(rows)
        for kline in klines:
            assert_a_sound_kline(kline)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(st.lists(st.lists(st.text(alphabet='0123456789.-eE,nai \t"', max_size=12), max_size=12), max_size=6))
def test_any_kline_csv_is_read_or_refused_with_a_source_error(rows):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "BTCUSDT-1m.csv").write_text("\n".join(",".join(row) for row in rows))
        try:
            read_kline_files(Path(folder), "1m")
        except SourceError as exc:
            assert "BTCUSDT-1m.csv" in str(exc)


@settings(max_examples=80)
@given(st.text(max_size=200))
def test_any_peper_toml_text_is_a_config_or_a_config_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "peper.toml"
        path.write_text(text)
        try:
            load_config(path, environ={})
        except ConfigError as exc:
            assert "peper.toml" in str(exc)
