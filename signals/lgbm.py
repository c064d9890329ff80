"""lgbm_ai: a LightGBM classifier of the sign of the forward H-bar return net of fees, walk-forward.

Consumes bars (per symbol, in time order); produces feature rows from past bars only
(`FeatureState`), labels 1 when log(close[t+H] / close[t]) > 2 * fee (a round trip pays), and
trained models (`train_window`). The walk-forward rule: a model trained at bar time T uses only
samples whose label window ends by T (open time <= T - H bars) and is used only for bars after T.
"""

from __future__ import annotations

import math
from collections import deque

import lightgbm
import msgspec
import numpy as np

from config.models import LgbmAiConfig
from signals import Bar
from signals.indicators import Ema, RollingStats, WilderRsi

FEATURES = ("ret_1", "ret_5", "ret_15", "ret_60", "vol_15", "vol_60", "rsi_14", "volume_z_60",
            "ema_50_gap", "range", "tod_sin", "tod_cos")
LOOKBACK = 61
DAY_MS = 86_400_000


class FeatureState:
    """Per-symbol incremental features; `update` returns the row for this bar, or None in warm-up."""

    def __init__(self) -> None:
        self.closes: deque[float] = deque(maxlen=LOOKBACK)
        self.vol_15, self.vol_60 = RollingStats(15), RollingStats(60)
        self.volume = RollingStats(60)
        self.rsi = WilderRsi(14)
        self.ema = Ema(50)

    def update(self, bar: Bar) -> list[float] | None:
        closes = self.closes
        log_return = math.log(bar.close / closes[-1]) if closes else None
        closes.append(bar.close)
        vol_15 = self.vol_15.update(log_return) if log_return is not None else None
        vol_60 = self.vol_60.update(log_return) if log_return is not None else None
        volume = self.volume.update(math.log1p(bar.volume))
        rsi = self.rsi.update(bar.close)
        ema = self.ema.update(bar.close)
        if len(closes) < LOOKBACK or vol_15 is None or vol_60 is None or volume is None or rsi is None:
            return None
        minute = (bar.open_time % DAY_MS) / DAY_MS * 2 * math.pi
        close = bar.close
        return [
            math.log(close / closes[-2]), math.log(close / closes[-6]), math.log(close / closes[-16]),
            math.log(close / closes[0]), vol_15[1], vol_60[1], rsi / 100.0,
            0.0 if volume[1] == 0 else (math.log1p(bar.volume) - volume[0]) / volume[1],
            close / ema - 1.0, (bar.high - bar.low) / close, math.sin(minute), math.cos(minute),
        ]


class Sample(msgspec.Struct, array_like=True):
    open_time: int
    symbol: str
    close: float
    features: list[float] | None


class StoredModel(msgspec.Struct, frozen=True):
    version: int
    train_start: int        # first sample's open time, ms UTC
    label_end: int          # last sample's label window ends here (open time + H bars), ms UTC
    trained_at: int         # bar time T of training: the model is used for bars after it
    horizon_bars: int
    features: list[str]
    samples: int
    metrics: dict[str, float]  # validation accuracy, logloss, positive share
    booster: str            # LightGBM's model_to_string()


def labelled(samples: list[Sample], interval_ms: int, horizon: int, fee_rate: float, trained_at: int,
             start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature rows, labels and open times of samples in [start, trained_at - H bars]."""
    by_symbol: dict[str, dict[int, float]] = {}
    for sample in samples:
        by_symbol.setdefault(sample.symbol, {})[sample.open_time] = sample.close
    threshold = 2 * fee_rate
    last_usable = trained_at - horizon * interval_ms
    rows, labels, times = [], [], []
    for sample in samples:
        if sample.features is None or not start <= sample.open_time <= last_usable:
            continue
        future = by_symbol[sample.symbol].get(sample.open_time + horizon * interval_ms)
        if future is None:
            continue  # a gap in the data: no label
        rows.append(sample.features)
        labels.append(1 if math.log(future / sample.close) > threshold else 0)
        times.append(sample.open_time)
    return np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES)), np.array(labels), np.array(times, np.int64)


def train_window(samples: list[Sample], config: LgbmAiConfig, interval_ms: int, fee_rate: float,
                 trained_at: int, version: int) -> StoredModel | None:
    """Train on the trailing window ending at `trained_at`; None when too few samples or one class."""
    start = trained_at - int(config.train_window_days * DAY_MS)
    features, labels, times = labelled(samples, interval_ms, config.horizon_bars, fee_rate, trained_at, start)
    if len(labels) < 200 or labels.min() == labels.max():
        return None
    order = np.argsort(times, kind="stable")
    features, labels, times = features[order], labels[order], times[order]
    split = int(len(labels) * (1 - config.validation_fraction))
    booster = lightgbm.train(
        {"objective": "binary", "num_leaves": config.num_leaves, "learning_rate": config.learning_rate,
         "num_threads": 1, "deterministic": True, "force_row_wise": True, "seed": config.seed, "verbosity": -1},
        lightgbm.Dataset(features[:split], labels[:split], feature_name=list(FEATURES)),
        num_boost_round=config.n_estimators,
    )
    predicted = booster.predict(features[split:])
    actual = labels[split:]
    clipped = np.clip(predicted, 1e-9, 1 - 1e-9)
    metrics = {
        "validation_accuracy": float(np.mean((predicted > 0.5) == actual)),
        "validation_logloss": float(-np.mean(actual * np.log(clipped) + (1 - actual) * np.log(1 - clipped))),
        "positive_share": float(labels.mean()),
    }
    return StoredModel(
        version=version, train_start=int(times[0]), label_end=int(times[-1]) + config.horizon_bars * interval_ms,
        trained_at=trained_at, horizon_bars=config.horizon_bars, features=list(FEATURES), samples=len(labels),
        metrics=metrics, booster=booster.model_to_string(),
    )


def load_booster(model: StoredModel) -> lightgbm.Booster:
    return lightgbm.Booster(model_str=model.booster)
