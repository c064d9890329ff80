"""The report's PNG plots (matplotlib, Agg), each returned with the series drawn.

Consumes the report document and the recordings it was computed from; produces, in a folder:
`weights.png` (each model's weight by version, session starts marked), `equity.png` (the test
session's realised equity with buy-and-hold and initial weights, drawdown below), `models.png`
(each model's cumulative counterfactual PnL over the test trades) and `sessions.png` (win rate
and ROI of every session). Returns {plot name: {"file", "series"}} — the data behind each line
or bar, so tests check what was drawn without reading pixels.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from analytics.evaluation import enabled_models
from analytics.recording import Recording
from analytics.simulate import buy_and_hold_equity, simulate
from config.schema import MODEL_NAMES, PeperConfig
from learning.attribution import stance
from learning.engine import project
from messages.trading import TradeClosed

HOURS = 3_600_000


def write_plots(document: dict, recordings: dict[str, Recording], config: PeperConfig, folder: Path) -> dict[str, dict]:
    folder.mkdir(parents=True, exist_ok=True)
    plots = {"weights": weights_plot(document, folder / "weights.png"),
             "sessions": sessions_plot(document, folder / "sessions.png")}
    section = document.get("out_of_sample") or document.get("in_sample")
    if section:
        recording = recordings[section["session"]]
        plots["equity"] = equity_plot(recording, config, folder / "equity.png")
        plots["models"] = models_plot(recording.trades, enabled_models(config), folder / "models.png")
    return plots


def weights_plot(document: dict, path: Path) -> dict:
    versions = [w["version"] for w in document["weights"]]
    series = {m: [w["weights"].get(m, 0.0) for w in document["weights"]] for m in MODEL_NAMES}
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
    start = next(iter(recording.bars), 0)
    initial = project({m: getattr(config.learning.initial_weights, m) for m in MODEL_NAMES}, config.learning)
    curves = {"learned": realised_equity(recording.trades, config.trader.initial_equity, start),
              "initial_weights": realised_equity(simulate(recording, initial, config.trader), config.trader.initial_equity, start)}
    times, values = buy_and_hold_equity(recording, config.trader)
    step = max(1, len(times) // 2000)
    curves["buy_and_hold"] = (times[::step] + times[-1:], values[::step] + values[-1:])
    learned_times, learned = curves["learned"]
    peak, drawdown = float("-inf"), []
    for value in learned:
        peak = max(peak, value)
        drawdown.append((peak - value) / peak)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, height_ratios=(3, 1))
    for name, (xs, ys) in curves.items():
        top.plot([(x - start) / HOURS for x in xs], ys, label=name, drawstyle="steps-post" if name != "buy_and_hold" else "default")
    top.set(title="Equity (realised for the strategies, marked to market for buy-and-hold)", ylabel="equity (USDT)")
    top.legend(fontsize=8)
    bottom.fill_between([(x - start) / HOURS for x in learned_times], [-d * 100 for d in drawdown], step="post", color="tab:red", alpha=0.5)
    bottom.set(xlabel="hours since the window start", ylabel="drawdown (%)")
    _save(figure, path)
    return {"file": path.name, "series": {name: {"time": xs, "equity": ys} for name, (xs, ys) in curves.items()}
            | {"drawdown": drawdown}}


def realised_equity(trades: list[TradeClosed], initial_equity: float, start: int) -> tuple[list[int], list[float]]:
    times, values, equity = [start], [initial_equity], initial_equity
    for trade in sorted(trades, key=lambda t: (t.exit_time, t.trade_id)):
        equity += trade.pnl
        times.append(trade.exit_time)
        values.append(equity)
    return times, values


def models_plot(trades: list[TradeClosed], models: list[str], path: Path) -> dict:
    ordered = sorted(trades, key=lambda t: (t.exit_time, t.trade_id))
    series: dict[str, list[float]] = {}
    for model in models:
        total, cumulative = 0.0, []
        for trade in ordered:
            vote = next((v for v in trade.votes if v.model == model), None)
            total += (0 if vote is None else stance(vote, trade.side)) * trade.pnl
            cumulative.append(total)
        series[model] = cumulative
    figure, axes = plt.subplots(figsize=(9, 4.5))
    for model, values in series.items():
        axes.plot(range(1, len(values) + 1), values, label=model)
    axes.axhline(0, color="grey", linewidth=0.6)
    axes.set(title="Each model's counterfactual PnL on the trades made (its stance x the trade's PnL)",
             xlabel="trades (in exit order)", ylabel="cumulative PnL (USDT)")
    axes.legend(fontsize=8)
    _save(figure, path)
    return {"file": path.name, "series": series}


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
