"""The runtime every voting model shares: klines in, one vote per bar and symbol out.

Consumes `md.kline` and `clock`; produces on `sig.<model>` one `VoteBatch` per `KlineBatch`
(the same rows, so a replay chunk costs one message) and `ack.<model>` after each clock, so a
replay waits for the model (lossless, deterministic). A model subclasses `VotingActor` and
implements `new_state(symbol)` returning an object with `update(Bar) -> Vote`; it may override
`vote_rows` to vote a whole chunk at once (lgbm_ai does).

Bars that cannot be voted on get an abstention with the reason, logged: a symbol outside
`[test] symbols`, a non-finite price or volume, zero volume. After a restart (the supervisor sets
PEPER_RESTARTS), the model replays the recorded klines from LMDB up to its last recorded
acknowledgement to rebuild its state, then asks the feed to re-send what follows.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from actors.base import RESTARTS_ENV, Actor
from messages import topics
from messages.codec import Codec
from messages.market import Clock, KlineBatch
from messages.signals import VoteBatch
from messages.system import Ack
from signals import Bar, Vote
from storage import StoreError
from storage.store import Store
from storage.stream import StreamReader


class VotingActor(Actor):
    subscriptions = (topics.KLINE, topics.CLOCK, topics.RESYNC)
    version = "1"

    def new_state(self, symbol: str) -> Any:
        raise NotImplementedError

    async def on_start(self) -> None:
        self.symbols = frozenset(self.config.test.symbols)
        self.states: dict[str, Any] = {}
        self.last_bar: dict[str, int] = {}
        self.counters.update(votes=0, abstentions=0, rebuilt_bars=0)
        self.resume_upto: int | None = None
        self.rebuilding = False  # True while recorded bars are fed through the model, no votes out
        self.restarted = int(os.environ.get(RESTARTS_ENV, "0")) > 0
        if self.restarted:
            self.expect_resync()
            self.resume_upto = self.rebuild_from_recording()

    async def on_running(self) -> None:
        if self.restarted:  # ask for what follows the rebuilt state (everything kept, if nothing was rebuilt)
            upto = -1 if self.resume_upto is None else self.resume_upto
            self.request_resync(upto)

    def on_kline_batch(self, topic: str, batch: KlineBatch) -> None:
        """`KlineBatch(symbol=["BTCUSDT", ...], open_time=[...], close=[...], ...)`: vote every row."""
        rows = self.fresh_rows(batch)
        if rows:
            self.publish_votes(batch, rows, self.vote_rows(batch, rows), self.version)

    def fresh_rows(self, batch: KlineBatch, upto: int | None = None) -> list[int]:
        """Rows of bars not voted on yet (a re-sent chunk repeats some), up to `upto`, marked voted now."""
        last_bar, limit = self.last_bar, upto if upto is not None else batch.open_time[-1]
        rows = [i for i, (s, t) in enumerate(zip(batch.symbol, batch.open_time)) if last_bar.get(s, -1) < t <= limit]
        for i in rows:
            self.last_bar[batch.symbol[i]] = batch.open_time[i]
        return rows

    def publish_votes(self, batch: KlineBatch, rows: list[int], votes: list[Vote], version: str) -> None:
        if not rows:
            return
        self.counters["votes"] += sum(v.action is not None for v in votes)
        self.counters["abstentions"] += sum(v.action is None for v in votes)
        self.publish(topics.signal(self.name), VoteBatch(
            model=self.name, version=version, symbol=[batch.symbol[i] for i in rows],
            bar_time=[batch.open_time[i] for i in rows], action=[v.action for v in votes],
            confidence=[v.confidence for v in votes], reason=[v.reason for v in votes], ts_event=batch.ts_event,
        ))

    def on_clock(self, topic: str, clock: Clock) -> None:
        """`Clock(bar_time=T)`: every bar up to T was voted on."""
        self.publish(topics.ack(self.name), Ack(upto=clock.bar_time, ts_event=clock.bar_time))

    def vote_rows(self, batch: KlineBatch, rows: list[int]) -> list[Vote]:
        return [self.vote_one(batch, i) for i in rows]

    def vote_one(self, batch: KlineBatch, i: int) -> Vote:
        symbol = batch.symbol[i]
        bar = Bar(batch.open_time[i], batch.open[i], batch.high[i], batch.low[i], batch.close[i], batch.volume[i])
        problem = self.unusable(symbol, bar)
        if problem:
            return Vote(None, 0.0, problem)
        state = self.states.get(symbol)
        if state is None:
            state = self.states[symbol] = self.new_state(symbol)
        return state.update(bar)

    def unusable(self, symbol: str, bar: Bar) -> str | None:
        """Why this bar cannot be voted on (logged, rate-limited), or None."""
        if symbol not in self.symbols:
            reason = f"{symbol} is not in [test] symbols"
        elif not all(math.isfinite(v) for v in bar[1:]) or min(bar[1:5]) <= 0:
            reason = f"{symbol} bar {bar.open_time} has a non-finite or non-positive price or volume"
        elif bar.volume == 0:
            reason = f"{symbol} bar {bar.open_time} has zero volume"
        else:
            return None
        count = self.counters["unusable_bars"] = self.counters.get("unusable_bars", 0) + 1
        if count <= 10 or count % 1000 == 0:
            self.log.warning("abstaining: %s", reason)
        return reason

    def recording(self) -> Store:
        """The LMDB recording, read-only (a model that keeps the environment open returns its own)."""
        return Store(Path(self.config.database.path), readonly=True)

    def rebuild_from_recording(self) -> int | None:
        """Feed recorded bars through the model (no votes published); return the bar time reached."""
        try:
            store = self.recording()
        except StoreError as exc:
            self.log.warning("restarted, but no recording to rebuild from (%s); warming up from nothing", exc)
            return None
        codec = Codec()
        try:
            reader = StreamReader(store)
            upto = reader.last_ts_event(topics.ack(self.name))
            if upto is None:
                upto = reader.last_ts_event(topics.CLOCK)
            if upto is None:
                return None
            for _, ts_event, _, _, payload in reader.records(topics.KLINE):
                batch = codec.decode_payload(payload)
                if not isinstance(batch, KlineBatch) or batch.open_time[0] > upto:
                    break
                rows = self.fresh_rows(batch, upto)
                self.rebuilding = True
                self.vote_rows(batch, rows)
                self.rebuilding = False
                self.counters["rebuilt_bars"] += len(rows)
        finally:
            if store is not getattr(self, "store", None):
                store.close()
        self.log.info("restarted: rebuilt state from %d recorded bars up to %d", self.counters["rebuilt_bars"], upto)
        return upto
