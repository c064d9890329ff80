"""lgbm_ai: a LightGBM classifier of the net-of-fees forward return, trained walk-forward.

Consumes `md.kline`, `clock`; produces `sig.lgbm_ai` (`VoteBatch`, version `lgbm-<V>`) and
`ack.lgbm_ai`; writes every trained model to the `models` database of `[database] path`.
Config: `[lgbm_ai]` (horizon, windows, LightGBM parameters, `pinned_version`), `[trader] fee_rate`.

Training happens at the first bar after `next_train` (first: `min_train_days` after the first
bar, then every `retrain_every_days`), in a thread of this process, on the trailing
`train_window_days`; the chunk waits for it, so a replay is deterministic. A chunk crossing a
training point is voted in two parts with the two models. Inference is one LightGBM call per
part. After a restart the newest stored model is reloaded (no retraining); with
`pinned_version` that version is used and never replaced.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from pathlib import Path

import lightgbm
import msgspec
import numpy as np

from actors.base import RESTARTS_ENV, main
from actors.voting import VotingActor
from marketdata.table import INTERVAL_MS
from messages.market import KlineBatch
from signals import Bar, Vote
from signals.lgbm import (
    DAY_MS,
    FeatureState,
    Sample,
    StoredModel,
    load_booster,
    train_window,
)
from storage.models import get_model, latest_model, put_model
from storage.store import Store


class LgbmAi(VotingActor):
    async def on_start(self) -> None:
        config = self.config.lgbm_ai
        self.store = Store(Path(self.config.database.path), map_size_mb=self.config.database.map_size_mb)
        self.feature_states: dict[str, FeatureState] = {}
        self.samples: deque[Sample] = deque()
        self.row_features: dict[int, list[float] | None] = {}  # this chunk's rows: features, or None
        self.row_problems: dict[int, str] = {}                   # ... and why a row cannot be voted on
        self.model: StoredModel | None = None
        self.booster: lightgbm.Booster | None = None
        self.next_train: int | None = None
        self.last_time: int | None = None
        latest = latest_model(self.store)
        self.next_version = (latest[0] + 1) if latest else 1
        if config.pinned_version:
            record = get_model(self.store, config.pinned_version)
            if record is None:
                raise RuntimeError(f"[lgbm_ai] pinned_version {config.pinned_version} is not stored in {self.store.path}")
            self._adopt(msgspec.msgpack.decode(record, type=StoredModel), "pinned")
        elif latest and int(os.environ.get(RESTARTS_ENV, "0")) > 0:
            self._adopt(msgspec.msgpack.decode(latest[1], type=StoredModel), "reloaded after a restart")
        self.counters.update(trainings=0, model_version=self.model.version if self.model else 0)
        await super().on_start()

    def recording(self) -> Store:
        return self.store  # LMDB allows one open environment per process: share it

    @property
    def version(self) -> str:  # type: ignore[override]
        return f"lgbm-{self.model.version}" if self.model else "lgbm-none"

    def _adopt(self, model: StoredModel, how: str) -> None:
        self.model, self.booster = model, load_booster(model)
        self.next_train = model.trained_at + int(self.config.lgbm_ai.retrain_every_days * DAY_MS)
        self.counters["model_version"] = model.version
        self.log.info("using model %d (%s): trained at %d on %d samples, %s", model.version, how,
                      model.trained_at, model.samples, model.metrics)

    async def on_kline_batch(self, topic: str, batch: KlineBatch) -> None:
        """Vote a chunk; when it crosses a training point, vote the part before, train, go on."""
        part: list[int] = []
        for i in self.fresh_rows(batch):
            if self._training_due(batch.open_time[i]) and self.last_time != batch.open_time[i]:
                self.publish_votes(batch, part, self.vote_rows(batch, part, ingest=False), self.version)
                part = []
                await self._train(self.last_time)
            self._ingest(batch, i)
            part.append(i)
        self.publish_votes(batch, part, self.vote_rows(batch, part, ingest=False), self.version)

    def _training_due(self, bar_time: int) -> bool:
        if self.config.lgbm_ai.pinned_version or self.rebuilding or self.last_time is None:
            return False
        if self.next_train is None:
            self.next_train = self.last_time + int(self.config.lgbm_ai.min_train_days * DAY_MS)
        return bar_time > self.next_train

    def _ingest(self, batch: KlineBatch, i: int) -> None:
        symbol = batch.symbol[i]
        bar = Bar(batch.open_time[i], batch.open[i], batch.high[i], batch.low[i], batch.close[i], batch.volume[i])
        problem = self.unusable(symbol, bar)
        if problem:
            self.row_features[i] = None
            self.row_problems[i] = problem
            return
        state = self.feature_states.setdefault(symbol, FeatureState())
        features = state.update(bar)
        self.row_features[i] = features
        self.samples.append(Sample(bar.open_time, symbol, bar.close, features))
        self.last_time = bar.open_time
        horizon_ms = self.config.lgbm_ai.horizon_bars * batch.interval_ms
        oldest = bar.open_time - int(self.config.lgbm_ai.train_window_days * DAY_MS) - horizon_ms
        while self.samples and self.samples[0].open_time < oldest:
            self.samples.popleft()

    def vote_rows(self, batch: KlineBatch, rows: list[int], ingest: bool = True) -> list[Vote]:
        if ingest:
            for i in rows:
                self._ingest(batch, i)
        if self.rebuilding or not rows:
            self.row_features.clear()
            self.row_problems.clear()
            return [Vote(None, 0.0, "rebuilding") for _ in rows]
        votes: list[Vote] = []
        usable = [i for i in rows if self.row_features.get(i) is not None]
        probabilities = {}
        if self.booster is not None and usable:
            predicted = self.booster.predict(np.array([self.row_features[i] for i in usable]))
            probabilities = dict(zip(usable, predicted.tolist()))
        config = self.config.lgbm_ai
        for i in rows:
            p = probabilities.get(i)
            if p is None:
                reason = self.row_problems.get(i) or ("no trained model yet" if self.booster is None else "warm-up")
                votes.append(Vote(None, 0.0, reason))
                continue
            action = "BUY" if p >= config.buy_above else "SELL" if p <= config.sell_below else "HOLD"
            votes.append(Vote(action, min(1.0, abs(p - 0.5) * 2), f"p(up net of fees) {p:.3f}"))
        self.row_features.clear()
        self.row_problems.clear()
        return votes

    async def _train(self, trained_at: int) -> None:
        started = time.monotonic()
        samples = list(self.samples)
        model = await asyncio.to_thread(
            train_window, samples, self.config.lgbm_ai, self._interval_ms(), self.config.trader.fee_rate,
            trained_at, self.next_version,
        )
        self.next_train = trained_at + int(self.config.lgbm_ai.retrain_every_days * DAY_MS)
        if model is None:
            self.log.warning("not enough labelled samples (or one class only) to train at %d; keeping the current model", trained_at)
            return
        put_model(self.store, model.version, msgspec.msgpack.encode(model))
        self.next_version += 1
        self.counters["trainings"] += 1
        self._adopt(model, f"trained in {time.monotonic() - started:.2f} s")

    def _interval_ms(self) -> int:
        return INTERVAL_MS[self.config.feed.interval]

    async def on_stop(self) -> None:
        self.store.close()


if __name__ == "__main__":
    main(LgbmAi)
