"""The report's PNG plots (matplotlib, Agg), each returned with the series drawn.

Consumes the report document and the span's recording; produces, in a folder: `equity.png` (each
strategy's equity over the folds' test windows one after another, from the daily returns the
aggregate is computed from, the learned policy's drawdown below), `folds.png` (each strategy's ROI
per fold), `weights.png` (the policy's weights over the span, each expert by day) and `models.png`
(each expert's shadow-book equity over the span), `iterations.png` (after `train --iterations`: the
seed's criteria by iteration) and `trades-<SYMBOL>.png` (the price with the
span's entries and exits, `analytics.trade_charts`); for a plain recording, `equity.png` is every
strategy's equity at each tick instead and there are no folds or weights plots. Dates on every
time axis, at the scale of what it shows (the equity from the first test window's start, the
weights from the span's start to its end). Returns {plot name: {"file", "series", "x_range"}} —
the data behind each line or bar and a time axis's range, so tests check what was drawn without
reading pixels.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np

from analytics.baselines import recorded_chunks, shadow_equity
from analytics.recording import Recording
from analytics.trade_charts import dates_of, trade_charts
from config.schema import PeperConfig

HIGHLIGHTED = ("learned", "cash", "buy_and_hold", "equal_weights", "initial_weights", "seed")


def write_plots(document: dict, recording: Recording, config: PeperConfig, folder: Path) -> dict[str, dict]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "equity": equity_plot(document, config, folder / "equity.png"),
        "folds": folds_plot(document, folder / "folds.png"),
        "weights": weights_plot(document, folder / "weights.png"),
        "models": models_plot(recording, config, folder / "models.png"),
        **({"iterations": iterations_plot(document, folder / "iterations.png")} if document.get("iterations") else {}),
        **trade_charts(recording, recording.trades, folder),
    }


def write_recording_plots(recording: Recording, curves: dict, config: PeperConfig, folder: Path) -> dict[str, dict]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "equity": curves_plot(curves, config.trader.initial_equity, folder / "equity.png"),
        "models": models_plot(recording, config, folder / "models.png"),
        **trade_charts(recording, recording.trades, folder),
    }


def curves_plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], initial: float, path: Path) -> dict:
    """Every strategy's equity marked to market at each tick, the session's own drawdown below."""
    times, traded = curves["as_traded"]
    peak = np.maximum.accumulate(np.maximum(traded, initial)) if len(traded) else traded
    drawdown = (peak - traded) / peak if len(traded) else traded
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, height_ratios=(3, 1))
    for name, (t, values) in curves.items():
        top.plot(
            dates_of(t),
            values,
            label=name,
            linewidth=2.0 if name == "as_traded" else 1.0,
            alpha=1.0 if name in ("as_traded", *HIGHLIGHTED) else 0.5,
        )
    top.set(title="Equity marked to market at every bar: as traded and every baseline", ylabel="equity (USDT)")
    top.legend(fontsize=7, ncol=2)
    bottom.fill_between(dates_of(times), -drawdown * 100, color="tab:red", alpha=0.5)
    bottom.set(xlabel="date (UTC)", ylabel="as-traded drawdown (%)")
    figure.autofmt_xdate()
    _save(figure, path)
    return {
        "file": path.name,
        "series": {
            name: {"final": float(v[-1]) if len(v) else initial, "points": len(v)} for name, (_, v) in curves.items()
        }
        | {"max_drawdown": float(drawdown.max()) if len(drawdown) else 0.0},
    }


def equity_plot(document: dict, config: PeperConfig, path: Path) -> dict:
    """From the initial equity at the first test window's start, then each day's close at its end."""
    daily = document["daily"]
    start = _day(document["folds"][0]["test"]["start"])
    days = [start, *(_day(text) + timedelta(days=1) for text in daily["day"])]
    initial = config.trader.initial_equity
    series = {
        name: [initial, *(initial * np.cumprod(1 + np.asarray(daily["returns"][name]))).tolist()]
        for name in document["aggregate"]
        if name in daily["returns"]
    }
    learned = np.asarray(series["learned"])
    peak = np.maximum.accumulate(learned) if len(learned) else learned
    drawdown = ((peak - learned) / peak).tolist() if len(learned) else []
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, height_ratios=(3, 1))
    for name, values in series.items():
        top.plot(
            days,
            values,
            label=name,
            linewidth=2.0 if name == "learned" else 1.0,
            alpha=1.0 if name in HIGHLIGHTED else 0.5,
        )
    for fold in document["folds"][1:]:
        top.axvline(_day(fold["test"]["start"]), color="grey", linewidth=0.6, linestyle=":")
    top.set(title="Equity over the folds' test windows, one after another (daily closes)", ylabel="equity (USDT)")
    top.legend(fontsize=7, ncol=2)
    bottom.fill_between(days, [-d * 100 for d in drawdown], color="tab:red", alpha=0.5)
    bottom.set(xlabel="date (UTC)", ylabel="learned drawdown (%)")
    figure.autofmt_xdate()
    x_range = _save(figure, path, dated=True)
    drawn = {"day": [day.isoformat() for day in days], **series, "drawdown": drawdown}
    return {"file": path.name, "series": drawn, "x_range": x_range}


def folds_plot(document: dict, path: Path) -> dict:
    folds = document["folds"]
    names = list(document["aggregate"])
    series = {name: [fold["strategies"][name]["roi"] * 100 for fold in folds] for name in names}
    figure, axes = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(1, len(names))
    for index, name in enumerate(names):
        axes.bar(np.arange(len(folds)) + index * width, series[name], width, label=name)
    axes.set_xticks(
        np.arange(len(folds)) + 0.4 - width / 2, [f"fold {f['number']}\n{f['test']['start'][:10]}" for f in folds]
    )
    axes.axhline(0, color="black", linewidth=0.6)
    axes.set(title="ROI on each fold's test window", ylabel="ROI (%)")
    axes.legend(fontsize=7, ncol=3)
    _save(figure, path)
    return {"file": path.name, "series": {"fold": [f["number"] for f in folds], **series}}


def iterations_plot(document: dict, path: Path) -> dict:
    """The seed's criteria by iteration of its loop, each against its bar where it has one."""
    iterations = document["iterations"]
    numbers = [i["number"] for i in iterations]
    figures = [i["figures"] for i in iterations]
    series = {
        "win_rate": [100 * (f["win_rate"] or 0.0) for f in figures],
        "roi": [100 * f["roi"] for f in figures],
        "trades": [f["trades"] for f in figures],
        "max_drawdown": [100 * f["max_drawdown"] for f in figures],
    }
    bars = {"win_rate": 100 * document["target_win_rate"], "roi": 0.0, "max_drawdown": 100 * document["max_drawdown"]}
    labels = {
        "win_rate": "win rate (%)",
        "roi": "ROI (%)",
        "trades": "trades (round trips)",
        "max_drawdown": "max drawdown (%)",
    }
    figure, axes = plt.subplots(2, 2, figsize=(10, 6), sharex=True)
    for axis, (name, values) in zip(axes.flat, series.items()):
        axis.plot(numbers, values, marker="o")
        if name in bars:
            axis.axhline(bars[name], color="grey", linewidth=0.8, linestyle="--")
        axis.set(ylabel=labels[name])
    for axis in axes[1]:
        axis.set(xlabel="iteration", xticks=numbers)
    figure.suptitle("The seed's criteria by iteration (dashed: the bar)")
    _save(figure, path)
    return {"file": path.name, "series": {"iteration": numbers, **series}}


def weights_plot(document: dict, path: Path) -> dict:
    """Each expert's weight from the span's start (the version in force then) to its end, in steps."""
    path_points = document["policy_weights"]
    path_points = [*path_points, {"day": document["span"]["end"], "weights": path_points[-1]["weights"]}]
    days = [_day(point["day"]) for point in path_points]
    experts = sorted({e for point in path_points for e in point["weights"]})
    series = {e: [point["weights"].get(e, 0.0) for point in path_points] for e in experts}
    figure, axes = plt.subplots(figsize=(10, 4.5))
    for expert, values in series.items():
        axes.plot(days, values, label=expert, drawstyle="steps-post")
    axes.set(
        title="The policy's weights as it learned along the span",
        xlabel="date (UTC)",
        ylabel="weight (fraction)",
        ylim=(0, 1),
    )
    axes.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    x_range = _save(figure, path, dated=True)
    return {"file": path.name, "series": {"day": [point["day"] for point in path_points], **series}, "x_range": x_range}


POINTS = 4000  # the most points a line of a plot over a recording draws


def models_plot(recording: Recording, config: PeperConfig, path: Path) -> dict:
    """Each expert's shadow-book equity at the close of every tick (every k-th past POINTS ticks; the
    last always), its portfolio alone, traded like the trader."""
    times, equity = shadow_equity(recorded_chunks(recording, config), config)
    keep = (
        np.unique(np.concatenate([np.arange(0, len(times), max(1, len(times) // POINTS)), [len(times) - 1]]))
        if len(times)
        else np.empty(0, np.int64)
    )
    times = times[keep]
    series = {expert: values[keep].tolist() for expert, values in equity.items()}
    dates = dates_of(times)
    figure, axes = plt.subplots(figsize=(10, 4.5))
    for expert, values in series.items():
        axes.plot(dates, values, label=expert)
    axes.set(
        title="Each expert's shadow book over the span: its portfolio alone, traded like the trader",
        xlabel="date (UTC)",
        ylabel="equity (USDT)",
    )
    axes.legend(fontsize=8)
    figure.autofmt_xdate()
    x_range = _save(figure, path, dated=True)
    return {"file": path.name, "series": {"time": times.tolist(), **series}, "x_range": x_range}


def comparison_plot(documents: dict[int, dict], initial_equity: float, path: Path) -> Path:
    """The seed's plot_performance_comparison: two runs' learned equity over their test windows."""
    figure, axes = plt.subplots(figsize=(10, 4.5))
    for run, daily in documents.items():
        axes.plot(
            [_day(text) for text in daily["day"]],
            initial_equity * np.cumprod(1 + np.asarray(daily["returns"]["learned"])),
            label=f"run {run}",
        )
    axes.set(title="Learned equity over the test windows", xlabel="date (UTC)", ylabel="equity (USDT)")
    axes.legend()
    figure.autofmt_xdate()
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(figure, path)
    return path


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text[:10]).replace(tzinfo=UTC)


def _save(figure, path: Path, *, dated: bool = False) -> list[str]:
    """Write the PNG; with `dated` (a time axis) return the first axes' x range as ISO datetimes (UTC)."""
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    x_range = [mdates.num2date(x).isoformat() for x in figure.axes[0].get_xlim()] if dated else []
    plt.close(figure)
    return x_range
