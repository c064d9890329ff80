"""lgbm_ai: a LightGBM classifier of whether a long held `[lgbm_ai] horizon` pays its round trip, walk-forward.

Consumes decision bars (`md.bar`); produces per bar a feature row from past bars only
(`signals.lgbm.features`), the samples of the training window, and a vote. Walk-forward: the first
model once `min_train` of labelled samples exist, then one every `retrain_every` of market time,
each on the labels known by then (`signals.lgbm.labels`: purged, nothing reaches past the training
time) over the trailing `train_window` — the model's stored `label_end` is checked against the first
bar it votes on (a pinned model, a policy's, is exempt: it may be replayed over its own past). The vote: p = LightGBM's probability that the long pays; BUY when p >= 0.5 +
min_edge (confidence 2p - 1), SELL when p <= 0.5 - min_edge (confidence 1 - 2p), else HOLD; no vote
before the first model. A chunk that crosses a training point is voted in parts, each with the
model in effect (`Votes.segments`). Training runs in a thread (`vote` is async) so the actor keeps
its heartbeats; models are saved and loaded through callbacks the actor hands in. The training
window's samples are a journal: each chunk's new samples one entry (`take_journal`), given back
after a restart (`restore`), so a checkpoint stays small.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import lightgbm
import msgspec
import numpy as np

from common.times import duration_ms, in_bars
from config.models import LgbmAiConfig
from marketdata.chunk import BarChunk
from signals.lgbm.features import FEATURES, SYMBOL_FEATURES, FeatureState, Horizons, features, market_features
from signals.lgbm.labels import forward_labels
from signals.model import BUY, HOLD, SELL, WARM_UP, Votes, choose
from signals.stored_model import StoredModel

TRAINING_THREADS = 2  # fixed (not the machine's count) so a model is the same everywhere
MIN_SAMPLES = 60  # labelled samples a model needs (and both classes)
REASONS = ("p below 0.5 - min_edge", "p within min_edge of 0.5", "p above 0.5 + min_edge", "no trained model yet")


class Samples(msgspec.Struct):
    """Rows of the training window: open time, symbol, close, features (NaN in warm-up)."""

    open_time: bytes  # int64
    symbol: bytes  # int64
    close: bytes  # float64
    features: bytes  # float64, rows x len(FEATURES)

    @staticmethod
    def of(open_time: np.ndarray, symbol: np.ndarray, close: np.ndarray, matrix: np.ndarray) -> Samples:
        return Samples(
            open_time.astype(np.int64).tobytes(),
            symbol.astype(np.int64).tobytes(),
            close.astype(np.float64).tobytes(),
            matrix.astype(np.float64).tobytes(),
        )

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (
            np.frombuffer(self.open_time, np.int64),
            np.frombuffer(self.symbol, np.int64),
            np.frombuffer(self.close, np.float64),
            np.frombuffer(self.features, np.float64).reshape(-1, len(FEATURES)),
        )


class LgbmState(msgspec.Struct):
    features: dict[str, FeatureState] = {}
    model_version: int = 0  # 0: none yet
    next_train: int | None = None  # ms: train at the first period that closes after this
    first_time: int | None = None
    last_close: int | None = None  # close time of the newest decision bar seen
    next_version: int = 1


def train_window(
    samples: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    config: LgbmAiConfig,
    decision_ms: int,
    cost: float,
    trained_at: int,
    version: int,
) -> StoredModel | None:
    """Train on the labels known by `trained_at` in the trailing window; None with too few or one class."""
    open_time, symbol, close, matrix = samples
    horizon = in_bars(config.horizon, decision_ms)
    label, known = forward_labels(open_time, symbol, close, horizon, decision_ms, cost)
    start = trained_at - duration_ms(config.train_window)
    usable = ~np.isnan(label) & ~np.isnan(matrix).any(axis=1) & (open_time >= start) & (known <= trained_at)
    if usable.sum() < MIN_SAMPLES or len(np.unique(label[usable])) < 2:
        return None
    booster = lightgbm.train(
        {
            "objective": "binary",
            "num_leaves": config.num_leaves,
            "learning_rate": config.learning_rate,
            "min_data_in_leaf": config.min_data_in_leaf,
            "feature_fraction": config.feature_fraction,
            "num_threads": TRAINING_THREADS,
            "deterministic": True,
            "force_row_wise": True,
            "seed": config.seed,
            "verbosity": -1,
        },
        lightgbm.Dataset(matrix[usable], label[usable], feature_name=list(FEATURES)),
        num_boost_round=config.n_estimators,
    )
    p = booster.predict(matrix[usable], num_threads=1)
    return StoredModel(
        version=version,
        train_start=int(open_time[usable].min()),
        label_end=int(known[usable].max()),
        trained_at=trained_at,
        horizon_bars=horizon,
        features=list(FEATURES),
        samples=int(usable.sum()),
        metrics={
            "win_share": float(label[usable].mean()),
            "in_sample_accuracy": float(np.mean((p > 0.5) == label[usable])),
        },
        booster=booster.model_to_string(),
    )


class LgbmModel:
    """The walk-forward classifier as a chunk model; `save`/`load` store models by version."""

    def __init__(
        self,
        config: LgbmAiConfig,
        symbols: list[str],
        decision_ms: int,
        cost: float,
        save: Callable[[StoredModel], None],
        load: Callable[[int], StoredModel | None],
        log: Callable[[str], None] = lambda text: None,
    ):
        self.config, self.symbols, self.decision_ms, self.cost = config, list(symbols), decision_ms, cost
        self.horizons = Horizons(decision_ms, config.lookback)
        self.save, self.load, self.log = save, load, log
        self.state = LgbmState()
        self.model: StoredModel | None = None
        self.booster: lightgbm.Booster | None = None
        self.journal: list[Samples] = []  # the training window's samples, a chunk per entry
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
        self.model, self.booster = model, lightgbm.Booster(model_str=model.booster)
        self.state.model_version = model.version
        self.state.next_version = max(self.state.next_version, model.version + 1)
        self.state.next_train = model.trained_at + duration_ms(self.config.retrain_every)
        self.log(
            f"using model {model.version} ({how}): trained at {model.trained_at} on {model.samples} samples, "
            f"{ {k: round(v, 4) for k, v in model.metrics.items()} }"
        )

    async def vote(self, chunk: BarChunk) -> Votes:
        """Features for every row first (they use past bars only), then predictions period by period."""
        votes = Votes.abstaining(chunk)
        own = np.full((len(chunk), len(SYMBOL_FEATURES)), np.nan)
        for symbol, rows in chunk.rows_by_symbol():
            state = self.state.features.setdefault(self.symbols[symbol], FeatureState())
            own[rows] = features(state, self.horizons, chunk, rows)
        matrix = np.column_stack([own, market_features(chunk.open_time, own)])
        usable = np.flatnonzero(chunk.problem == 0)
        self._pending = Samples.of(chunk.open_time[usable], chunk.symbol[usable], chunk.close[usable], matrix[usable])
        self.journal.append(self._pending)
        segments: list[tuple[int, int, str]] = []
        start = 0
        for row, trained_at in self._training_points(chunk):
            self._predict(chunk, matrix, start, row, votes)
            segments.append((start, row, self.version()))
            await self._train(trained_at)
            start = row
        self._predict(chunk, matrix, start, len(chunk), votes)
        segments.append((start, len(chunk), self.version()))
        votes.segments = [segment for segment in segments if segment[1] > segment[0]]
        if len(usable):
            self.state.last_close = int(chunk.open_time[usable].max()) + self.decision_ms
        self._forget_old_samples()
        return votes

    def _training_points(self, chunk: BarChunk) -> list[tuple[int, int]]:
        """(first row, training time) of each period of the chunk before which a model is trained: the
        first period that opens at or after `next_train`, on what closed before it."""
        if self.config.pinned_version or not len(chunk):
            return []
        times = chunk.open_time
        starts = np.flatnonzero(np.concatenate([[True], times[1:] != times[:-1]]))
        points = []
        for row in starts.tolist():
            period_open = int(times[row])
            if self.state.first_time is None:
                self.state.first_time = period_open
                self.state.next_train = period_open + duration_ms(self.config.min_train)
            if period_open >= self.state.next_train:
                points.append((row, period_open))
                self.state.next_train = period_open + duration_ms(self.config.retrain_every)
        return points

    def _predict(self, chunk: BarChunk, matrix: np.ndarray, start: int, end: int, votes: Votes) -> None:
        rows = start + np.flatnonzero(chunk.problem[start:end] == 0)
        if not len(rows):
            return
        votes.reason[rows] = WARM_UP if self.booster is not None else REASONS[3]
        ready = rows[~np.isnan(matrix[rows]).any(axis=1)]
        if self.booster is None or not len(ready):
            return
        if not self.config.pinned_version and self.model.label_end > int(chunk.open_time[ready].min()):
            raise RuntimeError(
                f"lgbm_ai model {self.model.version} learned from labels up to {self.model.label_end}, "
                f"after the bar {int(chunk.open_time[ready].min())} it would vote on"
            )
        # one thread: the topology's processes already share the cores
        p = self.booster.predict(matrix[ready], num_threads=1)
        edge = self.config.min_edge
        code = np.where(p >= 0.5 + edge, 2, np.where(p <= 0.5 - edge, 0, 1))
        votes.action[ready] = np.array([SELL, HOLD, BUY], np.int8)[code]
        votes.confidence[ready] = np.abs(2 * p - 1)
        votes.reason[ready] = choose(code, REASONS)

    async def _train(self, trained_at: int) -> None:
        started = time.monotonic()
        version = self.state.next_version
        model = await asyncio.to_thread(
            train_window, self._samples(), self.config, self.decision_ms, self.cost, trained_at, version
        )
        self.training_s += time.monotonic() - started
        if model is None:
            self.log(
                f"not enough labelled samples (or one class only) to train at {trained_at}; keeping the current model"
            )
            return
        self.save(model)
        self.state.next_version = version + 1
        self.trainings += 1
        next_train = self.state.next_train
        self._adopt(model, f"trained in {time.monotonic() - started:.2f} s")
        self.state.next_train = next_train

    def _samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        parts = [entry.arrays() for entry in self.journal]
        if not parts:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty((0, len(FEATURES)))
        return tuple(np.concatenate(column) for column in zip(*parts))  # type: ignore[return-value]

    def _forget_old_samples(self) -> None:
        """Drop journal entries whose samples all lie before the next training window."""
        horizon = self.horizon()
        while (
            self.journal
            and len(self.journal[0].open_time)
            and np.frombuffer(self.journal[0].open_time, np.int64)[-1] < horizon
        ):
            self.journal.pop(0)

    def horizon(self) -> int:
        """The oldest bar time a future training can still use (ms UTC)."""
        return (self.state.last_close or 0) - duration_ms(self.config.train_window) - duration_ms(self.config.horizon)

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
