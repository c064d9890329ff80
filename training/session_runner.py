"""Run one session: one window replayed through the whole topology, recorded in its own LMDB.

Consumes the run's config, a `SessionPlan` (its id and window), the catalog, a Rich progress bar
and the callable that runs a topology to its end (`RunTopology`: the command line hands in the
daemon; training never imports it); produces the session's recording
(`<catalog>.sessions/<id>.lmdb`: every bar, vote, decision, trade and weights version, and the
lgbm_ai models trained walk-forward along it) and its `SessionRecord` in the catalog. LLM answers
are shared: the catalog's cache seeds the session's, and what the session asked is copied back.
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

from analytics.evaluation import session_figures
from analytics.recording import Recording, read_recording
from common.times import INTERVAL_MS, iso
from config.build import configured
from config.schema import PeperConfig
from config.topology import topology_of
from llm.models import served_model
from messages.errors import StoreError
from storage.catalog import Catalog, config_hash
from storage.recording import last_batch
from storage.sessions import SessionKind, SessionRecord, copy_database
from storage.store import Store
from storage.weights import all_weights
from training.windows import Window


class SessionTopology:
    """What runs a session's topology to its end: `start(config)` returns once the replay has been
    fully traded, learned and recorded; `stop(reason)` ends it early, keeping what was recorded."""

    async def run(self, config: PeperConfig) -> None:
        raise NotImplementedError

    def stop(self, reason: str) -> None:
        raise NotImplementedError


RunTopology = Callable[[], SessionTopology]


@dataclass(frozen=True)
class SessionPlan:
    id: str
    run: int
    kind: SessionKind
    window: Window


class SessionRunner:
    def __init__(
        self,
        config: PeperConfig,
        catalog: Catalog,
        topology: RunTopology,
        progress: Progress,
        on_session: Callable[[Path], None] | None = None,
    ):
        self.config = config
        self.on_session = on_session
        self.catalog = catalog
        self.make_topology = topology
        self.progress = progress
        self.topology: SessionTopology | None = None
        self.interrupted = False

    def interrupt(self) -> None:
        """Ctrl-C: end the current session in order; what it recorded is kept."""
        self.interrupted = True
        if self.topology is not None:
            self.topology.stop("interrupted (Ctrl-C): ending this session, keeping what was recorded")

    async def run(self, plan: SessionPlan) -> SessionRecord:
        recording = self.catalog.recording_path(plan.id)
        if recording.exists():
            shutil.rmtree(recording)
        recording.parent.mkdir(parents=True, exist_ok=True)
        with Store(recording) as store:
            copy_database(self.catalog.store, store, "llm_cache")
        config = self.session_config(plan, recording)
        if self.on_session:
            self.on_session(recording)
        started = time.time()
        bars_task = self.progress.add_task(f"{plan.id}: {plan.window.describe()}", total=self._ticks(plan.window))
        self.topology = self.make_topology()
        watcher = asyncio.ensure_future(self._watch(recording, plan.window, bars_task))
        try:
            await self.topology.run(config)
        finally:
            watcher.cancel()
            self.topology = None
            self.progress.remove_task(bars_task)
        return self._conclude(plan, recording, config, started)

    def session_config(self, plan: SessionPlan, recording: Path) -> PeperConfig:
        window = plan.window
        return configured(
            self.config,
            feed={"mode": "replay", "start": iso(window.start), "end": iso(window.end), "speed": "max"},
            database={"path": str(recording)},
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
                    record = last_batch(store)
            except StoreError:
                continue
            if record is not None and record.last_clock >= window.start:
                self.progress.update(task, completed=(record.last_clock - window.start) // interval + 1)

    def _conclude(self, plan: SessionPlan, recording: Path, config: PeperConfig, started: float) -> SessionRecord:
        with Store(recording, readonly=True) as store:
            copy_database(store, self.catalog.store, "llm_cache")
            versions = all_weights(store)
        data = read_recording(recording)
        metrics = msgspec.to_builtins(session_figures(data, config))
        metrics["bars"] = sum(batch.rows for batch in data.klines)
        record = SessionRecord(
            id=plan.id,
            run=plan.run,
            kind=plan.kind,
            iteration=0,
            source=config.feed.source,
            interval=config.feed.interval,
            start=plan.window.start,
            end=plan.window.end,
            algorithm=config.learning.algorithm,
            seed=config.learning.seed,
            config_hash=config_hash(config),
            recording=str(recording.relative_to(self.catalog.path.parent)),
            started_at=started,
            ended_at=time.time(),
            interrupted=self.interrupted,
            learning=topology_of(config).learner is not None,
            weights_from=versions[0].version if versions else 0,
            weights_to=versions[-1].version if versions else 0,
            metrics=metrics,
            notes=llm_notes(data, config),
        )
        self.catalog.put_session(record)
        return record


def llm_notes(data: Recording, config: PeperConfig) -> list[str]:
    """What mistral_ai did, in words, when it was part of the topology."""
    if "mistral_ai" not in topology_of(config).models:
        return ["mistral_ai was not part of the topology"]
    voted = data.votes.get("mistral_ai", 0)
    reasons = data.abstentions.get("mistral_ai", {})
    abstained = sum(reasons.values())
    served = served_model(config.mistral)
    notes = [
        f"mistral_ai asked {served.name if served is not None else 'no model'}"
        + (f" (the fallback from the {served.packaged.distribution} package)" if served and served.packaged else "")
        + f"; it voted on {voted} and abstained on {abstained} symbol-bars"
        + (f" ({', '.join(f'{r}: {n}' for r, n in sorted(reasons.items()))})" if reasons else "")
    ]
    if data.llm_errors:
        notes.append("LLM server: " + "; ".join(data.llm_errors[:3]))
    return notes
