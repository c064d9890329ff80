"""The report of a training run, as one JSON-ready document (the seed's ReinforcementAnalytics).

Consumes the catalog (sessions, weights, the run's config) and the sessions' recordings; produces
a dict with: the run (source, windows, algorithm, seed, config hash, stop reason, kept weights),
one row per iteration, `in_sample` (the kept iteration's training session) and `out_of_sample`
(the test session), each with metrics, baselines, per-model and per-symbol results, gaps and the
seed's production criteria; the weights history; `--compare` documents. Wall-clock fields live
only under `sessions[*].started_at/ended_at` and `generated_at`, so two runs of the same training
give documents equal apart from them.
"""

from __future__ import annotations

import time

from analytics.evaluation import evaluate
from analytics.recording import Recording, read_recording
from config.schema import PeperConfig
from config.times import iso
from messages.errors import ReportError
from storage.catalog import Catalog
from storage.sessions import SessionRecord
from storage.weights import all_weights

MAX_DRAWDOWN = 0.15  # the seed's production criterion
TRADES_FACTOR = 2    # ... trades at least twice the initial-weights baseline's
COMPARED = ("win_rate", "roi", "total_pnl", "trades", "max_drawdown", "sharpe", "profit_factor")


def build_report(catalog: Catalog, run: int | None = None) -> tuple[dict[str, object], dict[str, Recording]]:
    """The document, and the recordings it was computed from (for the plots), by session id."""
    runs = catalog.runs()
    if not runs:
        raise ReportError(f"{catalog.path} holds no training run yet (run `python -m supervisor train`)")
    run = runs[-1] if run is None else run
    if run not in runs:
        raise ReportError(f"{catalog.path} has no run {run}; it has runs {', '.join(map(str, runs))}")
    config = catalog.run_config(run)
    sessions = catalog.sessions(run)
    by_id = {s.id: s for s in sessions}
    best = catalog.best(run) or {}
    kept = by_id.get(str(best.get("session", "")))
    recordings: dict[str, Recording] = {}
    sections: dict[str, object] = {}
    train_sessions = [s for s in sessions if s.kind == "train"]
    validations = [s for s in sessions if s.kind == "validate"]
    in_sample = by_id.get(f"{run}.train-{kept.iteration}") if kept else (train_sessions[-1] if train_sessions else None)
    for name, session, improvements in (
        ("in_sample", in_sample, [s.metrics.get("win_rate") for s in train_sessions]),
        ("out_of_sample", by_id.get(f"{run}.test"), [s.metrics.get("win_rate") for s in validations]),
    ):
        if session is None:
            sections[name] = None
            continue
        recordings[session.id] = read_recording(catalog.path.parent / session.recording)
        section = evaluate(recordings[session.id], config)
        section["session"] = session.id
        section["window"] = _window(session)
        section["criteria"] = criteria(section, improvements, config)
        section["llm"] = session.notes
        sections[name] = section
    versions = [w for w in all_weights(catalog.store)
                if train_sessions and train_sessions[0].weights_from <= w.version <= int(best.get("version", w.version))]
    document = {
        "run": run,
        "source": sessions[0].source if sessions else "",
        "interval": config.feed.interval,
        "symbols": list(config.test.symbols),
        "algorithm": config.learning.algorithm,
        "seed": config.learning.seed,
        "config_hash": sessions[0].config_hash if sessions else "",
        "windows": {kind: _window(next(s for s in sessions if s.kind == kind))
                    for kind in ("train", "validate", "test") if any(s.kind == kind for s in sessions)},
        "target_win_rate": config.test.target_win_rate,
        "min_trades_per_symbol": config.test.min_trades_per_symbol,
        "kept": best,
        "interrupted": any(s.interrupted for s in sessions),
        "iterations": iteration_rows(sessions),
        **sections,
        "weights": [{"version": w.version, "weights": w.weights, "cause": w.cause[:2]} for w in versions],
        "sessions": [{"id": s.id, "kind": s.kind, "window": _window(s), "weights_from": s.weights_from,
                      "weights_to": s.weights_to, "metrics": s.metrics, "interrupted": s.interrupted,
                      "started_at": s.started_at, "ended_at": s.ended_at} for s in sessions],
        "generated_at": time.time(),
    }
    return document, recordings


def iteration_rows(sessions: list[SessionRecord]) -> list[dict[str, object]]:
    rows: dict[int, dict[str, object]] = {}
    for session in sessions:
        if session.kind in ("train", "validate"):
            row = rows.setdefault(session.iteration, {"iteration": session.iteration})
            row[session.kind] = {k: session.metrics.get(k) for k in ("trades", "win_rate", "roi", "max_drawdown", "min_trades_per_symbol")}
            if session.kind == "train":
                row["weights_version"] = session.weights_to
    return [rows[i] for i in sorted(rows)]


def criteria(section: dict[str, object], win_rates: list[object], config: PeperConfig) -> list[dict[str, object]]:
    """The seed's production criteria, each with the figure and whether it is met (None: not judgeable)."""
    metrics = section["metrics"]
    initial_trades = section["baselines"]["initial_weights"]["trades"]
    win_rate = metrics["win_rate"]
    rates = [float(r) for r in win_rates if r is not None]
    steps = [later > earlier for earlier, later in zip(rates, rates[1:])]
    return [
        {"criterion": f"win rate >= {config.test.target_win_rate:.0%}", "value": _percent(win_rate),
         "met": None if win_rate is None else win_rate >= config.test.target_win_rate},
        {"criterion": "ROI > 0", "value": _percent(metrics["roi"]), "met": metrics["roi"] > 0},
        {"criterion": f"trades >= {TRADES_FACTOR}x initial weights ({initial_trades})", "value": str(metrics["trades"]),
         "met": metrics["trades"] >= TRADES_FACTOR * initial_trades},
        {"criterion": f"max drawdown <= {MAX_DRAWDOWN:.0%}", "value": _percent(metrics["max_drawdown"]),
         "met": metrics["max_drawdown"] <= MAX_DRAWDOWN},
        {"criterion": "win rate improved on every iteration",
         "value": " -> ".join(_percent(r) for r in rates) or "-",
         "met": all(steps) if steps else None},
    ]


def compare(catalog: Catalog, before: str, after: str) -> dict[str, object]:
    """The seed's calculate_improvement_metrics: after minus before, for each compared metric."""
    sessions = {s.id: s for s in catalog.sessions()}
    for session_id in (before, after):
        if session_id not in sessions:
            raise ReportError(f"no session {session_id!r} in {catalog.path}; it has: {', '.join(sessions) or 'none'}")
    a, b = sessions[before].metrics, sessions[after].metrics
    return {
        "before": before, "after": after,
        "metrics": {key: {"before": a.get(key), "after": b.get(key),
                          "change": None if a.get(key) is None or b.get(key) is None else b[key] - a[key]}
                    for key in COMPARED},
    }


def _window(session: SessionRecord) -> dict[str, object]:
    return {"start": iso(session.start), "end": iso(session.end), "days": (session.end - session.start) / 86_400_000}


def _percent(value: object) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f} %"
