"""Config sections of the signal models: `[trading_ai]`, `[lava_ai]`, `[lgbm_ai]`."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from config.section import Fraction, PositiveFloat, PositiveInt, Section

Period = Annotated[int, Meta(ge=2, le=10_000)]


class TradingAiConfig(Section):
    ema_fast: Period = 12
    ema_slow: Period = 26
    macd_fast: Period = 12
    macd_slow: Period = 26
    macd_signal: Period = 9
    rsi_period: Period = 14
    rsi_oversold: Annotated[float, Meta(ge=0, le=100)] = 30.0
    rsi_overbought: Annotated[float, Meta(ge=0, le=100)] = 70.0
    threshold: Fraction = 0.6

    def __post_init__(self) -> None:
        if self.ema_fast >= self.ema_slow or self.macd_fast >= self.macd_slow:
            raise ValueError("fast periods must be shorter than slow ones")


class LavaAiConfig(Section):
    window: Period = 60
    z_entry: PositiveFloat = 2.0
    volume_spike_z: PositiveFloat = 3.0


class LgbmAiConfig(Section):
    horizon_bars: PositiveInt = 48
    take_profit: Annotated[float, Meta(ge=0.0)] = 0.0
    stop_loss: Annotated[float, Meta(ge=0.0)] = 0.0
    train_window_days: PositiveFloat = 20.0
    retrain_every_days: PositiveFloat = 7.0
    min_train_days: PositiveFloat = 10.0
    calibration_fraction: Annotated[float, Meta(gt=0.0, lt=0.5)] = 0.25
    embargo_bars: Annotated[int, Meta(ge=0)] = 12
    num_leaves: Annotated[int, Meta(ge=2, le=1024)] = 15
    min_data_in_leaf: Annotated[int, Meta(ge=1)] = 200
    feature_fraction: Annotated[float, Meta(gt=0.0, le=1.0)] = 0.8
    n_estimators: Annotated[int, Meta(ge=1, le=5000)] = 150
    learning_rate: Annotated[float, Meta(gt=0.0, le=1.0)] = 0.03
    min_edge: Annotated[float, Meta(ge=0.0)] = 0.001
    seed: Annotated[int, Meta(ge=0)] = 7
    pinned_version: Annotated[int, Meta(ge=0)] = 0
