"""The peer strategy for freqtrade: a long-only EMA 10/20 cross, nothing else (no ROI table, no
stop, no trailing). Copied into freqtrade's strategy folder by `bench.peers.freqtrade_run`; it
imports freqtrade and pandas only, so it runs in freqtrade's own environment."""

from typing import ClassVar

from freqtrade.strategy import IStrategy
from pandas import DataFrame


class PeerEmaCross(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    minimal_roi: ClassVar[dict[str, float]] = {"0": 100.0}  # never: exits come from the cross only
    stoploss = -0.99  # never
    trailing_stop = False
    process_only_new_candles = True
    startup_candle_count = 20
    can_short = False

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["fast"] = dataframe["close"].ewm(span=10, adjust=False).mean()
        dataframe["slow"] = dataframe["close"].ewm(span=20, adjust=False).mean()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        above = dataframe["fast"] > dataframe["slow"]
        dataframe.loc[above & ~above.shift(1, fill_value=True), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        below = dataframe["fast"] < dataframe["slow"]
        dataframe.loc[below & ~below.shift(1, fill_value=True), "exit_long"] = 1
        return dataframe
