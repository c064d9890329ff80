"""Run one session: one window replayed through the whole topology, recorded in its own LMDB.

Consumes the run's config, a `SessionPlan` (window, learning on or off, the weights to start from,
the lgbm model to pin), the catalog and a Rich progress bar; produces the session's recording
(`<catalog>.sessions/<id>.lmdb`), its `SessionRecord` in the catalog, and the weights versions and
lgbm models it made, copied into the catalog. The daemon runs in this process's event loop with
`exit_at_end`, so the session ends when the replay has been fully traded, learned and recorded.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
from rich.progress import Progress, TaskID

from actors.recorder import LAST_BATCH_KEY, BatchRecord
from analytics.metrics import trade_metrics
from analytics.recording import Recording, read_recording, trade_row
from config.schema import InitialWeights, PeperConfig
from marketdata.table import INTERVAL_MS
from storage import StoreError
from storage.models import latest_model
from storage.sessions import SessionKind, SessionRecord, copy_database
from storage.store import Store
from storage.weights import all_weights
from supervisor.daemon import Daemon
from training.catalog import Catalog, config_hash
from training.windows import Window, iso

LEARNER = "rl_learner"


@dataclass(frozen=True)
class SessionPlan:
    id: str
    run: int
    kind: SessionKind
    iteration: int
    window: Window
    learning: bool
    weights: dict[str, float]    # the weights the trader starts with
    weights_version: int          # the catalog version those weights are
    pinned_model: int = 0         # lgbm model version to use throughout (0: train walk-forward)


@dataclass
class SessionOutcome:
    record: SessionRecord
    final_weights: dict[str, float]


class SessionRunner:
    def __init__(self, config: PeperConfig, catalog: Catalog, run_dir: Path, progress: Progress,
                 on_session: Callable[[Path], None] | None = None):
        self.config = config
        self.on_session = on_session
        self.catalog = catalog
        self.run_dir = run_dir
        self.progress = progress
        self.daemon: Daemon | None = None
        self.interrupted = False

    def interrupt(self) -> None:
        """Ctrl-C: end the current session in order; what it recorded is kept."""
        self.interrupted = True
        if self.daemon is not None:
            self.daemon.request_stop("interrupted (Ctrl-C): ending this session, keeping what was recorded")

    async def run(self, plan: SessionPlan) -> SessionOutcome:
        recording = self.catalog.recording_path(plan.id)
        if recording.exists():
            shutil.rmtree(recording)
        recording.parent.mkdir(parents=True, exist_ok=True)
        with Store(recording) as store:
            for name in ("weights", "models", "llm_cache"):
                copy_database(self.catalog.store, store, name)
        weights_before = len(all_weights(self.catalog.store))
        config = self.session_config(plan, recording)
        if self.on_session:
            self.on_session(recording)
        started = time.time()
        bars_task = self.progress.add_task(f"{plan.id}: {plan.window.describe()}", total=self._ticks(plan.window))
        self.daemon = Daemon(config, self.run_dir, exit_at_end=True, handle_signals=False)
        watcher = asyncio.ensure_future(self._watch(recording, plan.window, bars_task))
        try:
            await self.daemon.run()
        finally:
            watcher.cancel()
            self.daemon = None
            self.progress.remove_task(bars_task)
        return self._conclude(plan, recording, config, started, weights_before)

    def session_config(self, plan: SessionPlan, recording: Path) -> PeperConfig:
        config = self.config
        replace = msgspec.structs.replace
        actors = dict(config.actors)
        if LEARNER in actors:
            actors[LEARNER] = replace(actors[LEARNER], enabled=plan.learning)
        return replace(
            config,
            feed=replace(config.feed, mode="replay", start=iso(plan.window.start), end=iso(plan.window.end), speed="max"),
            database=replace(config.database, path=str(recording)),
            learning=replace(config.learning, initial_weights=InitialWeights(**plan.weights)),
            lgbm_ai=replace(config.lgbm_ai, pinned_version=plan.pinned_model),
            actors=actors,
        )

    def _ticks(self, window: Window) -> int:
        return max(1, (window.end - window.start) // INTERVAL_MS[self.config.feed.interval])

    async def _watch(self, recording: Path, window: Window, task: TaskID) -> None:
        """Bars recorded so far, from the recorder's last durable batch (read-only, while it writes)."""
        interval = INTERVAL_MS[self.config.feed.interval]
        while True:
            await asyncio.sleep(0.25)
            try:
                with Store(recording, readonly=True) as store:
                    raw = store.get_meta(LAST_BATCH_KEY)
            except StoreError:
                continue
            if raw:
                last_clock = msgspec.msgpack.decode(raw, type=BatchRecord).last_clock
                if last_clock >= window.start:
                    self.progress.update(task, completed=(last_clock - window.start) // interval + 1)

    def _conclude(self, plan: SessionPlan, recording: Path, config: PeperConfig, started: float,
                  weights_before: int) -> SessionOutcome:
        with Store(recording, readonly=True) as store:
            versions = all_weights(store)
            for name in ("models", "llm_cache"):
                copy_database(store, self.catalog.store, name)
            copy_database(store, self.catalog.store, "weights")
        data = read_recording(recording)
        rows = [trade_row(t) for t in data.trades]
        metrics = msgspec.structs.asdict(trade_metrics(rows, config.trader.initial_equity))
        per_symbol = {s: sum(1 for t in data.trades if t.symbol == s) for s in data.symbols}
        metrics["min_trades_per_symbol"] = min(per_symbol.values(), default=0)
        metrics["bars"] = sum(len(bars) for bars in data.bars.values())
        final = dict(versions[-1].weights) if plan.learning and len(versions) > weights_before else dict(plan.weights)
        record = SessionRecord(
            id=plan.id, run=plan.run, kind=plan.kind, iteration=plan.iteration, source=config.feed.source,
            interval=config.feed.interval, start=plan.window.start, end=plan.window.end,
            algorithm=config.learning.algorithm, seed=config.learning.seed, config_hash=config_hash(config),
            recording=str(recording.relative_to(self.catalog.path.parent)), started_at=started, ended_at=time.time(),
            interrupted=self.interrupted, learning=plan.learning,
            weights_from=weights_before if plan.learning else plan.weights_version,
            weights_to=len(versions) - 1 if plan.learning else plan.weights_version,
            metrics=metrics, notes=llm_notes(data, config),
        )
        self.catalog.put_session(record)
        return SessionOutcome(record, final)

    def newest_model(self) -> int:
        found = latest_model(self.catalog.store)
        return found[0] if found else 0


def llm_notes(data: Recording, config: PeperConfig) -> list[str]:
    """What mistral_ai did, in words, when it was part of the topology."""
    spec = config.actors.get("mistral_ai")
    if spec is None or not spec.enabled:
        return ["mistral_ai was not part of the topology"]
    voted = data.votes.get("mistral_ai", 0)
    reasons = data.abstentions.get("mistral_ai", {})
    abstained = sum(reasons.values())
    notes = [f"mistral_ai voted on {voted} and abstained on {abstained} symbol-bars"
             + (f" ({', '.join(f'{r}: {n}' for r, n in sorted(reasons.items()))})" if reasons else "")]
    if data.llm_errors:
        notes.append("LLM server: " + "; ".join(data.llm_errors[:3]))
    return notes
