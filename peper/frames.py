"""Peper's results as pandas DataFrames, for a notebook: a recording and a training catalog.

Consumes an LMDB recording (what `run --db` or a training session wrote) or a training catalog (what
`train` wrote), both opened read-only, so a notebook can read while a daemon writes; produces
DataFrames with typed columns and UTC timestamps (`datetime64[ns, UTC]`):
- `Recording.trades`, `.decisions`, `.weights`: the rows of `export trades|decisions|weights
  --format csv` (the same columns, in the same order), times as timestamps;
- `Recording.shadow_equity`: each expert's shadow book (its portfolio alone, traded like the
  trader), in USDT at every tick's close, indexed by the tick's time;
- `Catalog.sessions`, `.folds(run)` (every strategy's figures on each fold's test window),
  `.configurations(run)` (each configuration tried and its validation figures per fold),
  `.aggregate(run)`, `.daily_returns(run)`, and `.recording(session_id)`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd

from analytics.baselines import recorded_chunks, shadow_equity
from analytics.exports import flat, record_rows
from analytics.outcome import Outcome
from analytics.recording import read_recording
from config.loader import load_config
from config.schema import PeperConfig
from messages.errors import ReportError
from storage.catalog import Catalog as CatalogStore
from storage.store import Store

TIME_COLUMNS = ("entry_time", "exit_time", "bar_time", "effective_from", "start", "end")


def utc(milliseconds) -> pd.DatetimeIndex:
    """ms since the epoch -> UTC timestamps."""
    return pd.to_datetime(np.asarray(milliseconds, dtype=np.int64), unit="ms", utc=True)


def rows_frame(rows: list[dict]) -> pd.DataFrame:
    """Flat rows as a frame; the time columns (ms UTC) as timestamps."""
    frame = pd.DataFrame([flat(row) for row in rows])
    for column in TIME_COLUMNS:
        if column in frame:
            frame[column] = utc(frame[column])
    return frame


class Recording:
    """One recording's trades, decisions, weights versions and shadow books; `config` is the one it
    ran with (a catalog's session: the run's; otherwise ./peper.toml or the shipped defaults)."""

    def __init__(self, path: str | Path, config: PeperConfig | None = None):
        self.path = Path(path)
        Store(self.path, readonly=True).close()  # a clear StoreError now for a path with no recording
        self.config = config if config is not None else load_config()

    def __repr__(self) -> str:
        return f"peper.Recording({str(self.path)!r})"

    @cached_property
    def trades(self) -> pd.DataFrame:
        return rows_frame(record_rows(self.path, "trades"))

    @cached_property
    def decisions(self) -> pd.DataFrame:
        return rows_frame(record_rows(self.path, "decisions"))

    @cached_property
    def weights(self) -> pd.DataFrame:
        return rows_frame(record_rows(self.path, "weights"))

    @cached_property
    def shadow_equity(self) -> pd.DataFrame:
        times, equity = shadow_equity(recorded_chunks(read_recording(self.path), self.config), self.config)
        return pd.DataFrame(equity, index=pd.Index(utc(times), name="time"))


class Catalog:
    """A training catalog: its sessions, each run's folds, configurations tried and outcome."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        store = CatalogStore(self.path, readonly=True)
        try:
            self._sessions = store.sessions()
            self.runs = store.runs()
            self._configs = {run: store.run_config(run) for run in self.runs}
            self._outcomes = {run: store.result(run, Outcome) for run in self.runs}
        finally:
            store.close()
        if not self._sessions:
            raise ReportError(f"{self.path} holds no training run: for a plain run's recording, use open_recording")

    def __repr__(self) -> str:
        return f"peper.Catalog({str(self.path)!r}, runs={self.runs})"

    @property
    def sessions(self) -> pd.DataFrame:
        rows = [
            {
                **{k: v for k, v in msgspec.to_builtins(s).items() if k not in ("metrics", "notes")},
                **{f"metrics.{k}": v for k, v in s.metrics.items()},
            }
            for s in self._sessions
        ]
        frame = rows_frame(rows)
        for column in ("started_at", "ended_at"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        return frame

    def outcome(self, run: int | None = None) -> Outcome:
        """The run's outcome as stored (`analytics.outcome.Outcome`); the latest run by default."""
        chosen = self.runs[-1] if run is None else run
        found = self._outcomes.get(chosen)
        if found is None:
            raise ReportError(f"{self.path}: run {chosen} has no outcome (interrupted, or not one of {self.runs})")
        return found

    def folds(self, run: int | None = None) -> pd.DataFrame:
        """One row per fold and strategy: its figures on the fold's test window."""
        rows = [
            {
                "fold": fold.number,
                "test_start": pd.Timestamp(fold.test.start),
                "test_end": pd.Timestamp(fold.test.end),
                "chosen": fold.chosen,
                "strategy": strategy,
                **msgspec.to_builtins(figures),
            }
            for fold in self.outcome(run).folds
            for strategy, figures in fold.strategies.items()
        ]
        return pd.DataFrame(rows)

    def aggregate(self, run: int | None = None) -> pd.DataFrame:
        """Every strategy's figures over the folds' test windows one after another, by strategy."""
        figures = self.outcome(run).aggregate
        return pd.DataFrame(
            [msgspec.to_builtins(f) for f in figures.values()], index=pd.Index(figures, name="strategy")
        )

    def configurations(self, run: int | None = None) -> pd.DataFrame:
        """One row per configuration tried and fold: what it changed and its validation figures."""
        rows = [
            {
                "configuration": tried.number,
                "changes": dict(tried.changes),
                "fold": fold + 1,
                **msgspec.to_builtins(figures),
            }
            for tried in self.outcome(run).tried
            for fold, figures in enumerate(tried.validation)
        ]
        return pd.DataFrame(rows)

    def daily_returns(self, run: int | None = None) -> pd.DataFrame:
        """Each strategy's daily return (fraction) on the test windows, by UTC day."""
        daily = self.outcome(run).daily
        return pd.DataFrame(daily.returns, index=pd.Index(pd.to_datetime(daily.day, utc=True), name="day"))

    def recording(self, session_id: str) -> Recording:
        """One session's recording (ids as in `sessions`, e.g. "1.span"), with its run's config."""
        found = {s.id: s for s in self._sessions}
        if session_id not in found:
            raise ReportError(f"{self.path} has no session {session_id!r}; it has: {', '.join(found)}")
        session = found[session_id]
        return Recording(self.path.parent / session.recording, self._configs.get(session.run))


def open_recording(path: str | Path, config: PeperConfig | None = None) -> Recording:
    """A recording, read-only: `.trades`, `.decisions`, `.weights`, `.shadow_equity` as DataFrames."""
    return Recording(path, config)


def open_catalog(path: str | Path) -> Catalog:
    """A training catalog, read-only: `.sessions`, `.folds()`, `.configurations()`, `.recording(id)`."""
    return Catalog(path)
