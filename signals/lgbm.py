"""lgbm_ai: a LightGBM classifier of whether a trade entered now would make money, trained walk-forward.

Consumes chunks of bars; produces per row a feature vector from past bars only (`features`, then
the cross-sectional `market_features`), the samples of the training window, and votes.

Labels are fee-aware triple barriers: a long entered at the next bar's open (slipped) exits at the
take-profit, at the stop (first when a bar reaches both) or at the close `horizon_bars` later; the
label is 1 when that exit nets a profit after both fees and both slippages. The barriers are the
trader's `take_profit` / `stop_loss` unless `[lgbm_ai]` sets its own, so the model learns exactly
what the broker will do. Walk-forward, purged and embargoed: a model trained at bar time T uses
only samples whose label window ends by T; the newest `calibration_fraction` of them calibrates
its probabilities (Platt scaling), and every fitting sample whose label window reaches into the
calibration period, or lies within `embargo_bars` before it, is left out of the fit. The vote:
p = the calibrated probability of a win; expected value EV = p * take_profit - (1 - p) * stop -
costs; BUY when EV >= min_edge (confidence p), SELL when EV <= -min_edge (confidence 1 - p), else
HOLD.

Features (per symbol, from its past): log returns over 1, 3, 12, 48 and 288 bars; volatility of
1-bar returns over 12, 48 and 288 bars and the short/long ratio (the volatility regime); RSI 14;
the distance to the 48- and 288-bar EMAs; the bar's range and body; the volume z-score over 288
bars; the time of day and the day of week. Across symbols, at the same bar: the market factor (the
mean 12-, 48- and 288-bar return of every symbol) and each symbol's 48-bar return relative to it.

Walk-forward schedule: the first model after `min_train_days` of data, then every
`retrain_every_days`, on the trailing `train_window_days`; a chunk that crosses a training point is
voted in parts, each with the model in effect (`Votes.segments`). Training runs in a thread
(`vote` is async) so the actor keeps its heartbeats. Models are saved and loaded through callbacks
the actor hands in. The training window's samples are a journal: each chunk's new samples are one
entry (`take_journal`), given back after a restart (`restore`), so a checkpoint stays small.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import lightgbm
import msgspec
import numpy as np

from config.models import LgbmAiConfig
from config.times import DAY_MS
from marketdata.chunk import BarChunk
from signals.kernels import RsiState, ema, log_returns, rolling_mean_std, wilder_rsi
from signals.model import BUY, HOLD, SELL, WARM_UP, Votes, choose
from signals.stored_model import StoredModel

SYMBOL_FEATURES = ("ret_1", "ret_3", "ret_12", "ret_48", "ret_288", "vol_12", "vol_48", "vol_288", "vol_ratio",
                   "rsi_14", "ema_48_gap", "ema_288_gap", "range", "body", "volume_z", "tod_sin", "tod_cos",
                   "dow_sin", "dow_cos")
MARKET_FEATURES = ("market_12", "market_48", "market_288", "relative_48")
FEATURES = SYMBOL_FEATURES + MARKET_FEATURES
LOOKBACK = 289
TRAINING_THREADS = 2  # fixed (not the machine's count) so a model is the same everywhere; votes wait for it meanwhile
WEEK_MS = 7 * DAY_MS
REASONS = ("expected value below -min_edge", "expected value within min_edge", "expected value above min_edge",
           "no trained model yet")


class FeatureState(msgspec.Struct):
    bars: int = 0
    closes: bytes = b""                 # float64, the last LOOKBACK - 1 closes
    previous_close: float | None = None
    return_tails: dict[str, bytes] = {}  # float64 tails of the rolling windows
    volume_tail: bytes = b""
    rsi: RsiState = msgspec.field(default_factory=RsiState)
    ema_48: float | None = None
    ema_288: float | None = None


def features(state: FeatureState, chunk: BarChunk, rows: np.ndarray) -> np.ndarray:
    """One symbol's own feature rows (NaN rows in the warm-up), advancing its state."""
    close, volume = chunk.close[rows], chunk.volume[rows]
    earlier = np.frombuffer(state.closes, np.float64)
    full = np.concatenate([earlier, close])
    index = len(earlier) + np.arange(len(rows))
    first = state.previous_close is None
    returns, state.previous_close = log_returns(close, state.previous_close)
    usable = returns[1:] if first else returns
    vols = {}
    for n in (12, 48, 288):
        _, std, state.return_tails[str(n)] = rolling_mean_std(usable, n, state.return_tails.get(str(n), b""))
        vols[n] = np.concatenate([[np.nan], std]) if first else std
    log_volume = np.log1p(volume)
    volume_mean, volume_std, state.volume_tail = rolling_mean_std(log_volume, 288, state.volume_tail)
    rsi = wilder_rsi(close.tolist(), 14, state.rsi)
    ema_48, state.ema_48 = ema(close.tolist(), 2.0 / 49, state.ema_48)
    ema_288, state.ema_288 = ema(close.tolist(), 2.0 / 289, state.ema_288)
    number = state.bars + np.arange(1, len(rows) + 1)
    state.bars += len(rows)
    state.closes = full[-(LOOKBACK - 1):].tobytes()

    def back(k: int) -> np.ndarray:
        before = index - k
        return np.log(close / np.where(before >= 0, full[np.maximum(before, 0)], np.nan))

    times = chunk.open_time[rows]
    day = (times % DAY_MS) / DAY_MS * 2 * math.pi
    week = (times % WEEK_MS) / WEEK_MS * 2 * math.pi
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = np.column_stack([
            back(1), back(3), back(12), back(48), back(288), vols[12], vols[48], vols[288], vols[12] / vols[288],
            rsi / 100.0, close / ema_48 - 1.0, close / ema_288 - 1.0,
            (chunk.high[rows] - chunk.low[rows]) / close, (close - chunk.open[rows]) / close,
            np.where(volume_std == 0.0, 0.0, (log_volume - volume_mean) / volume_std),
            np.sin(day), np.cos(day), np.sin(week), np.cos(week),
        ])
    matrix[number < LOOKBACK] = np.nan
    return matrix


def market_features(times: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Per row: the mean 12-, 48- and 288-bar return over every symbol with features at that bar
    time (the market factor), and the row's 48-bar return relative to it."""
    ticks, tick = np.unique(times, return_inverse=True)
    found = np.full((len(times), len(MARKET_FEATURES)), np.nan)
    ready = ~np.isnan(own).any(axis=1)
    count = np.bincount(tick[ready], minlength=len(ticks))
    with np.errstate(invalid="ignore", divide="ignore"):
        for column, name in enumerate(("ret_12", "ret_48", "ret_288")):
            values = own[ready, SYMBOL_FEATURES.index(name)]
            mean = np.bincount(tick[ready], weights=values, minlength=len(ticks)) / count
            found[:, column] = mean[tick]
        found[:, 3] = own[:, SYMBOL_FEATURES.index("ret_48")] - found[:, 1]
    found[~ready] = np.nan
    return found


class Samples(msgspec.Struct):
    """Rows of the training window: open time, symbol, the bar, features (NaN in warm-up)."""
    open_time: bytes   # int64
    symbol: bytes      # int64
    bars: bytes        # float64, rows x (open, high, low, close)
    features: bytes    # float64, rows x len(FEATURES)

    @staticmethod
    def of(open_time: np.ndarray, symbol: np.ndarray, bars: np.ndarray, matrix: np.ndarray) -> Samples:
        return Samples(open_time.astype(np.int64).tobytes(), symbol.astype(np.int64).tobytes(),
                       bars.astype(np.float64).tobytes(), matrix.astype(np.float64).tobytes())

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (np.frombuffer(self.open_time, np.int64), np.frombuffer(self.symbol, np.int64),
                np.frombuffer(self.bars, np.float64).reshape(-1, 4),
                np.frombuffer(self.features, np.float64).reshape(-1, len(FEATURES)))


@dataclass(frozen=True)
class Barriers:
    take_profit: float
    stop_loss: float
    horizon: int
    fee_rate: float
    slippage: float

    @property
    def cost(self) -> float:
        """Both fees and both slippages, as a fraction of the entry."""
        return 2 * self.fee_rate + 2 * self.slippage

    def breakeven(self) -> float:
        """The win probability at which a trade's expected value is zero."""
        return (self.stop_loss + self.cost) / (self.take_profit + self.stop_loss)


def triple_barrier_labels(open_time: np.ndarray, symbol: np.ndarray, bars: np.ndarray, barriers: Barriers,
                          interval_ms: int, slippage: float, fee_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(label, label end time) per sample; the label is NaN where the sample's path is incomplete.

    The trade of the sample at bar s enters at bar s+1's open (slipped up) and is watched over bars
    s+1 .. s+h of the same symbol, which must all be there: it exits at the stop (at the bar's open
    when it opens beyond it; the stop first when a bar reaches both), at the target, or at bar s+h's
    close, every exit slipped down. Label 1: the exit nets a profit after both fees."""
    label = np.full(len(open_time), np.nan)
    end = np.full(len(open_time), np.iinfo(np.int64).max, np.int64)
    order = np.lexsort((open_time, symbol))
    h = barriers.horizon
    for sym in np.unique(symbol):
        rows = order[symbol[order] == sym]
        times = open_time[rows]
        if len(rows) <= h:
            continue
        o, hi, lo, c = (bars[rows, column] for column in range(4))
        starts = np.arange(len(rows) - h)
        path = starts[:, None] + np.arange(1, h + 1)[None, :]
        entry = o[starts + 1] * (1 + slippage)
        target, stop = entry * (1 + barriers.take_profit), entry * (1 - barriers.stop_loss)
        hit_stop, hit_target = lo[path] <= stop[:, None], hi[path] >= target[:, None]
        first_stop = np.where(hit_stop.any(1), hit_stop.argmax(1), h)
        first_target = np.where(hit_target.any(1), hit_target.argmax(1), h)
        stopped = (first_stop < h) & (first_stop <= first_target)
        took_profit = (first_target < h) & (first_target < first_stop)
        at = np.arange(len(starts))
        exit_price = np.where(stopped, np.minimum(stop, o[path[at, np.minimum(first_stop, h - 1)]]),
                              np.where(took_profit, np.maximum(target, o[path[at, np.minimum(first_target, h - 1)]]),
                                       c[starts + h])) * (1 - slippage)
        net = exit_price / entry - 1 - 2 * fee_rate
        complete = times[starts + h] - times[starts] == h * interval_ms
        label[rows[starts[complete]]] = (net[complete] > 0).astype(float)
        end[rows[starts[complete]]] = times[starts[complete] + h]
    return label, end


def fit_platt(raw: np.ndarray, label: np.ndarray) -> tuple[float, float]:
    """Logistic calibration p = sigmoid(a * logit(raw) + b): Newton's method on the log loss with a
    light L2 pull toward the identity (a = 1, b = 0), each step halved until the loss falls."""
    x = _logit(raw)

    def loss(a: float, b: float) -> float:
        z = a * x + b
        return float(np.sum(np.logaddexp(0, z) - label * z) + 0.5e-3 * ((a - 1) ** 2 + b * b))

    a, b = 1.0, 0.0
    current = loss(a, b)
    for _ in range(50):
        p = _sigmoid(a * x + b)
        w = p * (1 - p)
        grad = np.array([np.dot(p - label, x) + 1e-3 * (a - 1), np.sum(p - label) + 1e-3 * b])
        hess = np.array([[np.dot(w, x * x) + 1e-3, np.dot(w, x)], [np.dot(w, x), np.sum(w) + 1e-3]])
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-4 and loss(a - scale * step[0], b - scale * step[1]) > current:
            scale /= 2
        a, b = a - scale * step[0], b - scale * step[1]
        previous, current = current, loss(a, b)
        if previous - current < 1e-10:
            break
    return float(a), float(b)


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * z))


def calibrated(booster: lightgbm.Booster, calibration: list[float], matrix: np.ndarray) -> np.ndarray:
    a, b = calibration
    # one thread: the topology's processes already share the cores, and OpenMP's extra threads cost more CPU
    return _sigmoid(a * _logit(booster.predict(matrix, num_threads=1)) + b)


def train_window(samples: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], config: LgbmAiConfig,
                 barriers: Barriers, interval_ms: int, trained_at: int, version: int) -> StoredModel | None:
    """Train on the trailing window ending at `trained_at`; None when too few labels or one class."""
    open_time, symbol, bars, matrix = samples
    start = trained_at - int(config.train_window_days * DAY_MS)
    label, label_end = triple_barrier_labels(open_time, symbol, bars, barriers, interval_ms, barriers.slippage,
                                             barriers.fee_rate)
    usable = (~np.isnan(label) & ~np.isnan(matrix).any(axis=1) & (open_time >= start) & (label_end <= trained_at))
    if usable.sum() < 500 or len(np.unique(label[usable])) < 2:
        return None
    times = open_time[usable]
    cut = np.quantile(times, 1 - config.calibration_fraction)
    embargo = config.embargo_bars * interval_ms
    fit = usable & (label_end < cut - embargo)          # purged: no label window reaches the calibration set
    calibrate = usable & (open_time >= cut)
    if fit.sum() < 300 or calibrate.sum() < 100 or len(np.unique(label[fit])) < 2:
        return None
    booster = lightgbm.train(
        {"objective": "binary", "num_leaves": config.num_leaves, "learning_rate": config.learning_rate,
         "min_data_in_leaf": config.min_data_in_leaf, "feature_fraction": config.feature_fraction,
         "num_threads": TRAINING_THREADS, "deterministic": True, "force_row_wise": True, "seed": config.seed,
         "verbosity": -1},
        lightgbm.Dataset(matrix[fit], label[fit], feature_name=list(FEATURES)),
        num_boost_round=config.n_estimators,
    )
    raw = booster.predict(matrix[calibrate], num_threads=1)
    actual = label[calibrate]
    a, b = fit_platt(raw, actual) if len(np.unique(actual)) == 2 else (1.0, 0.0)
    p = calibrated(booster, [a, b], matrix[calibrate])
    clipped = np.clip(p, 1e-9, 1 - 1e-9)
    metrics = {
        "calibration_accuracy": float(np.mean((p > 0.5) == actual)),
        "calibration_logloss": float(-np.mean(actual * np.log(clipped) + (1 - actual) * np.log(1 - clipped))),
        "calibration_auc": _auc(raw, actual), "win_share": float(label[fit].mean()),
        "breakeven": barriers.breakeven(),
    }
    return StoredModel(
        version=version, train_start=int(open_time[fit].min()), label_end=int(label_end[usable].max()),
        trained_at=trained_at, horizon_bars=barriers.horizon, features=list(FEATURES), samples=int(fit.sum()),
        metrics=metrics, calibration=[a, b], booster=booster.model_to_string(),
    )


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    positives, negatives = label == 1, label == 0
    if not positives.any() or not negatives.any():
        return float("nan")
    ranks = np.argsort(np.argsort(score)) + 1
    return float((ranks[positives].sum() - positives.sum() * (positives.sum() + 1) / 2) / (positives.sum() * negatives.sum()))


def load_booster(model: StoredModel) -> lightgbm.Booster:
    return lightgbm.Booster(model_str=model.booster)


class LgbmState(msgspec.Struct):
    features: dict[str, FeatureState] = {}
    model_version: int = 0          # 0: none yet
    next_train: int | None = None
    last_time: int | None = None
    next_version: int = 1


class LgbmModel:
    """The walk-forward classifier as a chunk model; `save`/`load` store models by version."""

    def __init__(self, config: LgbmAiConfig, symbols: list[str], barriers: Barriers, interval_ms: int,
                 save: Callable[[StoredModel], None], load: Callable[[int], StoredModel | None],
                 log: Callable[[str], None] = lambda text: None):
        self.config, self.symbols, self.barriers = config, list(symbols), barriers
        self.interval_ms = interval_ms
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
                 f"{ {k: round(v, 4) for k, v in model.metrics.items()} }")

    async def vote(self, chunk: BarChunk) -> Votes:
        """Features for every row first (they use past bars only), then predictions part by part."""
        votes = Votes.abstaining(chunk)
        own = np.full((len(chunk), len(SYMBOL_FEATURES)), np.nan)
        for symbol, rows in chunk.rows_by_symbol():
            state = self.state.features.setdefault(self.symbols[symbol], FeatureState())
            own[rows] = features(state, chunk, rows)
        matrix = np.column_stack([own, market_features(chunk.open_time, own)])
        usable = np.flatnonzero(chunk.problem == 0)
        bars = np.column_stack([chunk.open, chunk.high, chunk.low, chunk.close])[usable]
        self._pending = Samples.of(chunk.open_time[usable], chunk.symbol[usable], bars, matrix[usable])
        self.journal.append(self._pending)
        segments: list[tuple[int, int, str]] = []
        start = 0
        previous_tick = self.state.last_time
        for row, _ in self._training_points(chunk):
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
        p = calibrated(self.booster, self.model.calibration, matrix[ready])
        barriers = self.barriers
        expected = p * barriers.take_profit - (1 - p) * barriers.stop_loss - barriers.cost
        edge = self.config.min_edge
        code = np.where(expected >= edge, 2, np.where(expected <= -edge, 0, 1))
        votes.action[ready] = np.array([SELL, HOLD, BUY], np.int8)[code]
        votes.confidence[ready] = np.where(code == 0, 1 - p, p)
        votes.reason[ready] = choose(code, REASONS)

    async def _train(self, trained_at: int) -> None:
        started = time.monotonic()
        samples = self._samples()
        version = self.state.next_version
        model = await asyncio.to_thread(train_window, samples, self.config, self.barriers, self.interval_ms,
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
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, 4)), np.empty((0, len(FEATURES)))
        return tuple(np.concatenate(column) for column in zip(*parts))  # type: ignore[return-value]

    def _forget_old_samples(self) -> None:
        """Drop journal entries whose samples all lie before the next training window."""
        horizon = self.horizon()
        while self.journal and len(self.journal[0].open_time) and np.frombuffer(self.journal[0].open_time, np.int64)[-1] < horizon:
            self.journal.pop(0)

    def horizon(self) -> int:
        """The oldest bar time a future training can still use (ms UTC)."""
        last = self.state.last_time or 0
        ahead = self.barriers.horizon * self.interval_ms
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


def barriers_of(config: LgbmAiConfig, trader_take_profit: float, trader_stop_loss: float, fee_rate: float,
                slippage: float) -> Barriers:
    """The label's barriers: `[lgbm_ai]`'s own, else the trader's; the trader's fees and slippage."""
    return Barriers(config.take_profit or trader_take_profit, config.stop_loss or trader_stop_loss, config.horizon_bars,
                    fee_rate, slippage)

