"""The report's PNG plots (matplotlib, Agg), each returned with the series drawn.

Consumes the report document and the recordings it was computed from; produces, in a folder:
`weights.png` (each model's weight by version, session starts marked), `equity.png` (the test
session's equity with buy-and-hold and initial weights, all marked to market, drawdown below),
`models.png` (each expert's shadow-book equity) and `sessions.png` (win rate and ROI of every
session). Returns {plot name: {"file", "series"}} — the data behind each line
or bar, so tests check what was drawn without reading pixels.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from analytics.recording import Recording, read_recording
from analytics.simulate import as_traded, buy_and_hold_equity, shadow_equity, with_weights
from config.schema import PeperConfig
from config.topology import topology_of
from learning.engine import project
from storage.catalog import Catalog

HOURS = 3_600_000


def write_plots(document: dict, recordings: dict[str, Recording], config: PeperConfig, folder: Path) -> dict[str, dict]:
    folder.mkdir(parents=True, exist_ok=True)
    plots = {"weights": weights_plot(document, folder / "weights.png"),
             "sessions": sessions_plot(document, folder / "sessions.png")}
    section = document.get("out_of_sample") or document.get("in_sample")
    if section:
        recording = recordings[section["session"]]
        plots["equity"] = equity_plot(recording, config, folder / "equity.png")
        plots["models"] = models_plot(recording, config, folder / "models.png")
    return plots


def weights_plot(document: dict, path: Path) -> dict:
    versions = [w["version"] for w in document["weights"]]
    models = sorted({m for w in document["weights"] for m in w["weights"]})
    series = {m: [w["weights"].get(m, 0.0) for w in document["weights"]] for m in models}
    marks = {s["id"]: s["weights_from"] for s in document["sessions"] if s["kind"] == "train"}
    figure, axes = plt.subplots(figsize=(9, 4.5))
    for model, values in series.items():
        axes.plot(versions, values, label=model, drawstyle="steps-post")
    for session_id, version in marks.items():
        axes.axvline(version, color="grey", linewidth=0.6, linestyle=":")
        axes.annotate(session_id, (version, 1.0), fontsize=7, rotation=90, va="top", color="grey")
    axes.set(title="Model weights by version", xlabel="weights version", ylabel="weight (fraction)", ylim=(0, 1))
    axes.legend(loc="upper left", fontsize=8)
    _save(figure, path)
    return {"file": path.name, "series": {"version": versions, **series, "session_starts": marks}}


def equity_plot(recording: Recording, config: PeperConfig, path: Path) -> dict:
    """The session's equity and the baselines', all marked to market at every tick, drawdown below."""
    topology = topology_of(config)
    initial = topology.initial_weights(config)
    chunks = recording.chunks(topology.models, config.test.symbols)
    traded = as_traded(recording, config, topology.models, initial, chunks)
    baseline = with_weights(recording, project(initial, config.learning), config, topology.models, chunks)
    curves = {"learned": traded.curve(), "initial_weights": baseline.curve(), "buy_and_hold": buy_and_hold_equity(recording, config)}
    thinned = {name: _thin(*curve) for name, curve in curves.items()}
    start = int(thinned["learned"][0][0]) if len(thinned["learned"][0]) else 0
    learned_times, learned = thinned["learned"]
    peak = np.maximum.accumulate(learned) if len(learned) else learned
    drawdown = ((peak - learned) / peak).tolist() if len(learned) else []
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, height_ratios=(3, 1))
    for name, (xs, ys) in thinned.items():
        top.plot((xs - start) / HOURS, ys, label=name)
    top.set(title="Equity, marked to market at every bar", ylabel="equity (USDT)")
    top.legend(fontsize=8)
    bottom.fill_between((learned_times - start) / HOURS, [-d * 100 for d in drawdown], color="tab:red", alpha=0.5)
    bottom.set(xlabel="hours since the window start", ylabel="drawdown (%)")
    _save(figure, path)
    return {"file": path.name, "series": {name: {"time": xs.tolist(), "equity": ys.tolist()} for name, (xs, ys) in thinned.items()}
            | {"drawdown": drawdown}}


def _thin(times: np.ndarray, values: np.ndarray, points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    step = max(1, len(times) // points)
    keep = np.unique(np.concatenate([np.arange(0, len(times), step), [len(times) - 1]])) if len(times) else np.empty(0, int)
    return np.asarray(times)[keep], np.asarray(values)[keep]


def models_plot(recording: Recording, config: PeperConfig, path: Path) -> dict:
    """Each expert's shadow-book equity after every chunk (its votes alone, traded like the trader)."""
    times, series = shadow_equity(recording, config, topology_of(config).models)
    start = times[0] if times else 0
    figure, axes = plt.subplots(figsize=(9, 4.5))
    for expert, values in series.items():
        axes.plot([(t - start) / HOURS for t in times], values, label=expert)
    axes.set(title="Each expert's shadow book: its votes alone, traded like the trader",
             xlabel="hours since the window start", ylabel="equity (USDT)")
    axes.legend(fontsize=8)
    _save(figure, path)
    return {"file": path.name, "series": {"time": times, **series}}


def sessions_plot(document: dict, path: Path) -> dict:
    sessions = document["sessions"]
    labels = [s["id"] for s in sessions]
    win_rates = [(s["metrics"].get("win_rate") or 0.0) * 100 for s in sessions]
    rois = [(s["metrics"].get("roi") or 0.0) * 100 for s in sessions]
    colours = {"train": "tab:blue", "validate": "tab:orange", "test": "tab:green"}
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
    for axes, values, title, unit in ((left, win_rates, "Win rate by session", "win rate (%)"),
                                      (right, rois, "ROI by session", "ROI (%)")):
        axes.bar(range(len(values)), values, color=[colours[s["kind"]] for s in sessions])
        axes.set_xticks(range(len(values)), labels, rotation=60, fontsize=7, ha="right")
        axes.set(title=title, ylabel=unit)
    left.axhline(document["target_win_rate"] * 100, color="grey", linestyle="--", linewidth=0.8)
    _save(figure, path)
    return {"file": path.name, "series": {"session": labels, "win_rate_pct": win_rates, "roi_pct": rois}}


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def comparison_plot(catalog: Catalog, before: str, after: str, path: Path) -> Path:
    """The seed's plot_performance_comparison: both sessions' equity, marked to market, from each start."""
    sessions = {s.id: s for s in catalog.sessions()}
    figure, axes = plt.subplots(figsize=(9, 4.5))
    for session_id in (before, after):
        session = sessions[session_id]
        config = catalog.run_config(session.run)
        recording = read_recording(catalog.path.parent / session.recording)
        topology = topology_of(config)
        times, values = as_traded(recording, config, topology.models, topology.initial_weights(config)).curve()
        axes.plot((times - session.start) / HOURS, values, label=session_id)
    axes.set(title="Equity, marked to market", xlabel="hours since the session's window start", ylabel="equity (USDT)")
    axes.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(figure, path)
    return path
