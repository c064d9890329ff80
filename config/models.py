"""Config sections of the signal models: `[trading_ai]`, `[strength_ai]`, `[lava_ai]`, `[lgbm_ai]`.

Every period is a `Duration` written in time ("20d", "4h"), counted in decision bars
(`[feed] decision_interval`) where a model uses it, so a setting means the same at any interval.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from common.times import Duration, duration_ms
from config.section import Fraction, PositiveFloat, Section

TrendForm = Literal["momentum", "moving_average", "donchian", "ema_cross", "macd", "rsi"]


class TradingAiConfig(Section, frozen=True):
    lookbacks: Annotated[list[Duration], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["5d", "10d", "20d", "40d", "60d"]
    )
    forms: Annotated[list[TrendForm], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["momentum", "moving_average", "donchian"]
    )
    ema_fast: Duration = "3d"
    ema_slow: Duration = "12d"
    macd_signal: Duration = "2d"
    rsi_period: Duration = "14d"
    rsi_oversold: Annotated[float, Meta(ge=0, le=100)] = 30.0
    rsi_overbought: Annotated[float, Meta(ge=0, le=100)] = 70.0
    threshold: Fraction = 0.2

    def __post_init__(self) -> None:
        if duration_ms(self.ema_fast) >= duration_ms(self.ema_slow):
            raise ValueError(f"ema_fast {self.ema_fast} must be shorter than ema_slow {self.ema_slow}")
        if self.rsi_oversold >= self.rsi_overbought:
            raise ValueError(f"rsi_oversold {self.rsi_oversold} must be below rsi_overbought {self.rsi_overbought}")


class StrengthAiConfig(Section, frozen=True):
    lookbacks: Annotated[list[Duration], Meta(min_length=1)] = msgspec.field(default_factory=lambda: ["10d", "30d"])
    top: Annotated[int, Meta(ge=1)] = 2
    absolute: bool = True


class LavaAiConfig(Section, frozen=True):
    window: Duration = "20d"
    z_entry: PositiveFloat = 2.0
    z_exit: Annotated[float, Meta(ge=-3.0, le=3.0)] = 0.0
    volume_spike_z: PositiveFloat = 3.0
    trend: Annotated[str, Meta(pattern=r"^$|^[1-9][0-9]*(m|h|d|w)$")] = ""


class LgbmAiConfig(Section, frozen=True):
    horizon: Duration = "5d"
    lookback: Duration = "50d"
    train_window: Duration = "365d"
    retrain_every: Duration = "7d"
    min_train: Duration = "45d"
    num_leaves: Annotated[int, Meta(ge=2, le=1024)] = 7
    min_data_in_leaf: Annotated[int, Meta(ge=1)] = 20
    feature_fraction: Annotated[float, Meta(gt=0.0, le=1.0)] = 0.8
    n_estimators: Annotated[int, Meta(ge=1, le=5000)] = 100
    learning_rate: Annotated[float, Meta(gt=0.0, le=1.0)] = 0.05
    min_edge: Annotated[float, Meta(ge=0.0, le=0.5)] = 0.05
    seed: Annotated[int, Meta(ge=0)] = 7
    pinned_version: Annotated[int, Meta(ge=0)] = 0
