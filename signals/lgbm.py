"""lgbm_ai: a LightGBM classifier of the sign of the forward H-bar return net of fees, walk-forward.

Consumes chunks of bars; produces per row a feature vector from past bars only (`features`),
samples kept for the trailing training window, and votes: BUY when p(up net of fees) >= `buy_above`,
SELL when <= `sell_below`, else HOLD, confidence = |p - 0.5| * 2.

Walk-forward: the first model is trained at the first bar after `min_train_days` of data, then
every `retrain_every_days`, on the trailing `train_window_days`; a model trained at bar time T
uses only samples whose label window ends by T (open time <= T - H bars) and votes only bars after
T. A chunk that crosses a training point is voted in parts, each with the model in effect, and
`Votes.segments` says which rows each version voted. Training runs in a thread (`vote` is async),
so the actor keeps its heartbeats. Models are saved and loaded through callbacks the actor hands in
(`storage.models`), so this module never touches storage. With `pinned_version` that version is
used and never replaced.

State: per symbol the tails the features need (`FeatureState`); the samples of the training
window are a journal — each chunk's new samples are handed to the actor as one entry
(`take_journal`) and given back after a restart (`restore`), so a checkpoint stays small.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import lightgbm
import msgspec
import numpy as np

from config.models import LgbmAiConfig
from config.times import DAY_MS
from marketdata.chunk import BarChunk
from signals.kernels import RsiState, ema, log_returns, rolling_mean_std, wilder_rsi
from signals.model import BUY, HOLD, SELL, WARM_UP, Votes, choose

FEATURES = ("ret_1", "ret_5", "ret_15", "ret_60", "vol_15", "vol_60", "rsi_14", "volume_z_60",
            "ema_50_gap", "range", "tod_sin", "tod_cos")
LOOKBACK = 61
REASONS = ("p(up net of fees) below sell_below", "p(up net of fees) between the thresholds",
           "p(up net of fees) above buy_above", "no trained model yet")


class FeatureState(msgspec.Struct):
    bars: int = 0
    closes: list[float] = []        # the last LOOKBACK - 1 closes
    previous_close: float | None = None
    return_15_tail: list[float] = []
    return_60_tail: list[float] = []
    volume_tail: list[float] = []
    rsi: RsiState = msgspec.field(default_factory=RsiState)
    ema: float | None = None


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


class Samples(msgspec.Struct):
    """Rows of the training window: open time, symbol index, close, features (NaN in warm-up)."""
    open_time: bytes   # int64
    symbol: bytes      # int64
    close: bytes       # float64
    features: bytes    # float64, rows x len(FEATURES)

    @staticmethod
    def of(open_time: np.ndarray, symbol: np.ndarray, close: np.ndarray, features: np.ndarray) -> Samples:
        return Samples(open_time.astype(np.int64).tobytes(), symbol.astype(np.int64).tobytes(),
                       close.astype(np.float64).tobytes(), features.astype(np.float64).tobytes())

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (np.frombuffer(self.open_time, np.int64), np.frombuffer(self.symbol, np.int64),
                np.frombuffer(self.close, np.float64), np.frombuffer(self.features, np.float64).reshape(-1, len(FEATURES)))


class LgbmState(msgspec.Struct):
    features: dict[str, FeatureState] = {}
    model_version: int = 0          # 0: none yet
    next_train: int | None = None
    last_time: int | None = None
    next_version: int = 1


def features(state: FeatureState, chunk: BarChunk, rows: np.ndarray) -> np.ndarray:
    """One symbol's feature rows (NaN rows in the warm-up), advancing its state."""
    close, volume = chunk.close[rows], chunk.volume[rows]
    full = np.concatenate([np.asarray(state.closes, np.float64), close])
    offset = len(state.closes)
    first_return = state.previous_close is None
    returns, state.previous_close = log_returns(close, state.previous_close)
    usable_returns = returns[1:] if first_return else returns
    _, vol_15, state.return_15_tail = rolling_mean_std(usable_returns, 15, state.return_15_tail)
    _, vol_60, state.return_60_tail = rolling_mean_std(usable_returns, 60, state.return_60_tail)
    if first_return:
        vol_15, vol_60 = np.concatenate([[np.nan], vol_15]), np.concatenate([[np.nan], vol_60])
    log_volume = np.log1p(volume)
    volume_mean, volume_std, state.volume_tail = rolling_mean_std(log_volume, 60, state.volume_tail)
    rsi = wilder_rsi(close.tolist(), 14, state.rsi)
    ema_50, state.ema = ema(close.tolist(), 2.0 / 51, state.ema)
    number = state.bars + np.arange(1, len(rows) + 1)
    state.bars += len(rows)
    state.closes = full[-(LOOKBACK - 1):].tolist()
    index = offset + np.arange(len(rows))

    def lag(k: int) -> np.ndarray:
        back = index - k
        return np.where(back >= 0, full[np.maximum(back, 0)], np.nan)

    minute = (chunk.open_time[rows] % DAY_MS) / DAY_MS * 2 * math.pi
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = np.column_stack([
            np.log(close / lag(1)), np.log(close / lag(5)), np.log(close / lag(15)), np.log(close / lag(60)),
            vol_15, vol_60, rsi / 100.0,
            np.where(volume_std == 0.0, 0.0, (log_volume - volume_mean) / volume_std),
            close / ema_50 - 1.0, (chunk.high[rows] - chunk.low[rows]) / close, np.sin(minute), np.cos(minute),
        ])
    matrix[number < LOOKBACK] = np.nan
    return matrix


def labelled(open_time: np.ndarray, symbol: np.ndarray, close: np.ndarray, rows: np.ndarray, interval_ms: int,
             horizon: int, fee_rate: float, trained_at: int, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature rows, labels (1: log return over H bars > 2 * fee) and open times of the samples in
    [start, trained_at - H bars] whose symbol has a bar exactly H bars later."""
    ahead = horizon * interval_ms
    usable = ~np.isnan(rows).any(axis=1) & (open_time >= start) & (open_time <= trained_at - ahead)
    key = symbol * (1 << 44) + open_time  # (symbol, time) as one sortable number
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    wanted = key + ahead
    found = np.searchsorted(sorted_key, wanted)
    hit = found < len(sorted_key)
    hit[hit] = sorted_key[found[hit]] == wanted[hit]
    take = usable & hit
    future = close[order[found[take]]]
    labels = (np.log(future / close[take]) > 2 * fee_rate).astype(np.int64)
    return rows[take], labels, open_time[take]


def train_window(samples: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], config: LgbmAiConfig,
                 interval_ms: int, fee_rate: float, trained_at: int, version: int) -> StoredModel | None:
    """Train on the trailing window ending at `trained_at`; None when too few samples or one class."""
    open_time, symbol, close, rows = samples
    start = trained_at - int(config.train_window_days * DAY_MS)
    matrix, labels, times = labelled(open_time, symbol, close, rows, interval_ms, config.horizon_bars, fee_rate,
                                     trained_at, start)
    if len(labels) < 200 or labels.min() == labels.max():
        return None
    order = np.argsort(times, kind="stable")
    matrix, labels, times = matrix[order], labels[order], times[order]
    split = int(len(labels) * (1 - config.validation_fraction))
    booster = lightgbm.train(
        {"objective": "binary", "num_leaves": config.num_leaves, "learning_rate": config.learning_rate,
         "num_threads": 1, "deterministic": True, "force_row_wise": True, "seed": config.seed, "verbosity": -1},
        lightgbm.Dataset(matrix[:split], labels[:split], feature_name=list(FEATURES)),
        num_boost_round=config.n_estimators,
    )
    predicted = booster.predict(matrix[split:])
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


class LgbmModel:
    """The walk-forward classifier as a chunk model; `save`/`load` store models by version."""

    def __init__(self, config: LgbmAiConfig, symbols: list[str], fee_rate: float, interval_ms: int,
                 save: Callable[[StoredModel], None], load: Callable[[int], StoredModel | None],
                 log: Callable[[str], None] = lambda text: None):
        self.config, self.symbols, self.fee_rate, self.interval_ms = config, list(symbols), fee_rate, interval_ms
        self.save, self.load, self.log = save, load, log
        self.state = LgbmState()
        self.model: StoredModel | None = None
        self.booster: lightgbm.Booster | None = None
        self.journal: list[Samples] = []      # the training window's samples, a chunk per entry
        self._pending: Samples | None = None  # this chunk's samples, until the actor takes them
        self.trainings = 0
        self.training_s = 0.0
        if config.pinned_version:
            pinned = load(config.pinned_version)
            if pinned is None:
                raise LookupError(f"[lgbm_ai] pinned_version {config.pinned_version} is not stored")
            self._adopt(pinned, "pinned")

    def version(self) -> str:
        return f"lgbm-{self.model.version}" if self.model else "lgbm-none"

    def _adopt(self, model: StoredModel, how: str) -> None:
        self.model, self.booster = model, load_booster(model)
        self.state.model_version = model.version
        self.state.next_version = max(self.state.next_version, model.version + 1)
        self.state.next_train = model.trained_at + int(self.config.retrain_every_days * DAY_MS)
        self.log(f"using model {model.version} ({how}): trained at {model.trained_at} on {model.samples} samples, "
                 f"{model.metrics}")

    async def vote(self, chunk: BarChunk) -> Votes:
        """Features for every row first (they use past bars only), then predictions part by part."""
        votes = Votes.abstaining(chunk)
        matrix = np.full((len(chunk), len(FEATURES)), np.nan)
        for symbol, rows in chunk.rows_by_symbol():
            state = self.state.features.setdefault(self.symbols[symbol], FeatureState())
            matrix[rows] = features(state, chunk, rows)
        usable = np.flatnonzero(chunk.problem == 0)
        self._pending = Samples.of(chunk.open_time[usable], chunk.symbol[usable], chunk.close[usable], matrix[usable])
        self.journal.append(self._pending)
        segments: list[tuple[int, int, str]] = []
        start = 0
        previous_tick = self.state.last_time
        for row, bar_time in self._training_points(chunk):
            self._predict(chunk, matrix, start, row, votes)
            segments.append((start, row, self.version()))
            before = chunk.open_time[:row][chunk.problem[:row] == 0]
            await self._train(int(before[-1]) if len(before) else previous_tick)
            start = row
        self._predict(chunk, matrix, start, len(chunk), votes)
        segments.append((start, len(chunk), self.version()))
        votes.segments = [segment for segment in segments if segment[1] > segment[0]]
        if len(usable):
            self.state.last_time = int(chunk.open_time[usable[-1]])
        self._forget_old_samples()
        return votes

    def _training_points(self, chunk: BarChunk) -> list[tuple[int, int]]:
        """(first row, bar time) of each tick of the chunk at which a model is trained first: the first
        tick after `next_train`, trained on what came before it (`last_time`, the previous tick's time)."""
        if self.config.pinned_version:
            return []
        times = chunk.open_time
        starts = np.flatnonzero(np.concatenate([[True], times[1:] != times[:-1]]))
        has_usable = np.maximum.reduceat((chunk.problem == 0).astype(np.int8), starts) > 0 if len(starts) else []
        points = []
        last = self.state.last_time
        for row, usable in zip(starts.tolist(), has_usable):
            bar_time = int(times[row])
            if last is not None and bar_time != last:
                if self.state.next_train is None:
                    self.state.next_train = last + int(self.config.min_train_days * DAY_MS)
                if bar_time > self.state.next_train:
                    points.append((row, bar_time))
                    self.state.next_train = last + int(self.config.retrain_every_days * DAY_MS)
            if usable:
                last = bar_time
        return points

    def _predict(self, chunk: BarChunk, matrix: np.ndarray, start: int, end: int, votes: Votes) -> None:
        rows = start + np.flatnonzero(chunk.problem[start:end] == 0)
        if not len(rows):
            return
        ready = rows[~np.isnan(matrix[rows]).any(axis=1)]
        votes.reason[rows] = WARM_UP if self.booster is not None else REASONS[3]
        if self.booster is None or not len(ready):
            return
        p = self.booster.predict(matrix[ready])
        config = self.config
        code = np.where(p >= config.buy_above, 2, np.where(p <= config.sell_below, 0, 1))
        votes.action[ready] = np.array([SELL, HOLD, BUY], np.int8)[code]
        votes.confidence[ready] = np.minimum(1.0, np.abs(p - 0.5) * 2)
        votes.reason[ready] = choose(code, REASONS)

    async def _train(self, trained_at: int) -> None:
        started = time.monotonic()
        samples = self._samples()
        version = self.state.next_version
        model = await asyncio.to_thread(train_window, samples, self.config, self.interval_ms, self.fee_rate,
                                        trained_at, version)
        self.training_s += time.monotonic() - started
        self.state.next_train = trained_at + int(self.config.retrain_every_days * DAY_MS)
        if model is None:
            self.log(f"not enough labelled samples (or one class only) to train at {trained_at}; keeping the current model")
            return
        self.save(model)
        self.state.next_version = version + 1
        self.trainings += 1
        self._adopt(model, f"trained in {time.monotonic() - started:.2f} s")

    def _samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        parts = [entry.arrays() for entry in self.journal]
        if not parts:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty((0, len(FEATURES)))
        return tuple(np.concatenate(column) for column in zip(*parts))  # type: ignore[return-value]

    def _forget_old_samples(self) -> None:
        """Drop journal entries whose samples all lie before the next training window."""
        horizon = self.horizon()
        while self.journal and len(self.journal[0].open_time) and np.frombuffer(self.journal[0].open_time, np.int64)[-1] < horizon:
            self.journal.pop(0)

    def horizon(self) -> int:
        """The oldest bar time a future training can still use (ms UTC)."""
        last = self.state.last_time or 0
        ahead = self.config.horizon_bars * self.interval_ms
        return last - int(self.config.train_window_days * DAY_MS) - ahead

    # ----- checkpoints ----------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.state)

    def take_journal(self) -> bytes | None:
        """This chunk's samples as one journal entry (None when already taken)."""
        pending, self._pending = self._pending, None
        return None if pending is None else msgspec.msgpack.encode(pending)

    def restore(self, raw: bytes, journal: list[bytes]) -> None:
        self.state = msgspec.msgpack.decode(raw, type=LgbmState)
        self.journal = [msgspec.msgpack.decode(entry, type=Samples) for entry in journal]
        self._forget_old_samples()
        if self.state.model_version and not self.config.pinned_version:
            stored = self.load(self.state.model_version)
            if stored is not None:
                next_train, next_version = self.state.next_train, self.state.next_version
                self._adopt(stored, "restored after a restart")
                self.state.next_train, self.state.next_version = next_train, next_version
