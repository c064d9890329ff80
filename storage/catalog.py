"""The training catalog: one LMDB holding the training runs, their outcomes and their policies.

Consumes the path of `[database] training_path`; produces a `Catalog` that numbers runs, stores
each run's resolved config and its outcome document (what `report` renders), and lays out the
sessions' own recordings in `<name>.sessions/` beside it. Each policy's weights and lgbm_ai model
are catalog versions (`weights`, `models`), so `python -m supervisor weights list --db <catalog>`
shows every policy's weights.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TypeVar

import msgspec

from config.schema import PeperConfig
from storage.sessions import SessionRecord, all_sessions, put_session
from storage.store import Store

T = TypeVar("T")
RUN_CONFIG_KEY = "train.config.{run}"
RESULT_KEY = "train.result.{run}"
TRIALS_KEY = "train.trials"  # every configuration ever tried here: its daily Sharpe on validation


class Catalog:
    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = path
        self.store = Store(path, readonly=readonly)
        self.sessions_dir = path.parent / f"{path.name.removesuffix('.lmdb')}.sessions"

    def close(self) -> None:
        self.store.close()

    def sessions(self, run: int | None = None) -> list[SessionRecord]:
        return [s for s in all_sessions(self.store) if run is None or s.run == run]

    def runs(self) -> list[int]:
        return sorted({s.run for s in all_sessions(self.store)})

    def next_run(self) -> int:
        runs = self.runs()
        return (runs[-1] + 1) if runs else 1

    def put_session(self, record: SessionRecord) -> None:
        put_session(self.store, record)

    def recording_path(self, session_id: str) -> Path:
        return self.sessions_dir / f"{session_id}.lmdb"

    def save_run_config(self, run: int, config: PeperConfig) -> None:
        self.store.put_meta(RUN_CONFIG_KEY.format(run=run), msgspec.json.encode(config))

    def run_config(self, run: int) -> PeperConfig:
        raw = self.store.get_meta(RUN_CONFIG_KEY.format(run=run))
        if raw is None:
            raise KeyError(f"run {run} is not in {self.path}")
        return msgspec.json.decode(raw, type=PeperConfig)

    def save_result(self, run: int, outcome: msgspec.Struct) -> None:
        self.store.put_meta(RESULT_KEY.format(run=run), msgspec.json.encode(outcome))

    def result(self, run: int, kind: type[T]) -> T | None:
        """The run's outcome (`analytics.outcome.Outcome`), or None for a run interrupted before it."""
        raw = self.store.get_meta(RESULT_KEY.format(run=run))
        return None if raw is None else msgspec.json.decode(raw, type=kind)

    def trials(self) -> list[float]:
        """The daily Sharpe ratio on validation of every configuration tried in this catalog (the
        deflated Sharpe ratio's trials, counted across runs)."""
        raw = self.store.get_meta(TRIALS_KEY)
        return [] if raw is None else msgspec.json.decode(raw, type=list[float])

    def add_trials(self, sharpes: list[float]) -> None:
        self.store.put_meta(TRIALS_KEY, msgspec.json.encode([*self.trials(), *sharpes]))


def config_hash(config: PeperConfig) -> str:
    """sha256 of what decides a session's result: the config without paths, windows or the bus."""
    document = msgspec.to_builtins(config)
    for section, keys in (
        ("database", ("path", "training_path")),
        ("feed", ("start", "end", "speed")),
        ("bus", ("run_dir",)),
    ):
        for key in keys:
            document[section].pop(key, None)
    document["learning"].pop("initial_weights", None)
    return hashlib.sha256(msgspec.json.encode(document, order="sorted")).hexdigest()[:16]
