"""Per symbol, the price with the trades on it: the chart a trader looks at first.

Consumes a `Recording` (its kline batches give each symbol's closes) and closed trades; produces,
in a folder, `trades-<SYMBOL>.png` for every symbol of the recording: the close over time (dates
on the axis), each entry marked, each exit marked green for a winner and red for a loser. Returns
{plot name: {"file", "series"}} where the series are the markers drawn (time in ms UTC, price in
the quote currency) and the number of bars, so a test checks the trades drawn without pixels.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from analytics.recording import Recording
from messages.trading import TradeClosed


def closes_by_symbol(recording: Recording) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """symbol -> (open times in ms UTC, closes), in time order."""
    parts: dict[str, list[tuple[int, float]]] = {}
    for batch in recording.klines:
        for symbol, open_time, close in zip(batch.symbol, batch.open_time.tolist(), batch.close.tolist()):
            parts.setdefault(symbol, []).append((open_time, close))
    found = {}
    for symbol, rows in sorted(parts.items()):
        times, closes = np.asarray(rows, dtype=np.float64).T
        found[symbol] = (times.astype(np.int64), closes)
    return found


def trade_markers(trades: list[TradeClosed], symbol: str) -> dict[str, list[list[float]]]:
    """The points drawn for a symbol's trades: [[time ms, price], ...] per kind."""
    mine = [t for t in trades if t.symbol == symbol]
    return {
        "entries": [[t.entry_time, t.entry_price] for t in mine],
        "winning_exits": [[t.exit_time, t.exit_price] for t in mine if t.pnl > 0],
        "losing_exits": [[t.exit_time, t.exit_price] for t in mine if t.pnl <= 0],
    }


def trade_charts(recording: Recording, trades: list[TradeClosed], folder: Path) -> dict[str, dict]:
    folder.mkdir(parents=True, exist_ok=True)
    charts = {}
    for symbol, (times, closes) in closes_by_symbol(recording).items():
        path = folder / f"trades-{symbol}.png"
        markers = trade_markers(trades, symbol)
        figure, axes = plt.subplots(figsize=(10, 4.5))
        axes.plot(dates_of(times), closes, color="grey", linewidth=0.7, label=f"{symbol} close")
        for kind, style in (
            ("entries", {"marker": "^", "color": "tab:blue", "label": "entry"}),
            ("winning_exits", {"marker": "v", "color": "tab:green", "label": "exit, won"}),
            ("losing_exits", {"marker": "v", "color": "tab:red", "label": "exit, lost"}),
        ):
            points = np.asarray(markers[kind], dtype=np.float64).reshape(-1, 2)
            axes.scatter(dates_of(points[:, 0]), points[:, 1], s=18, zorder=3, **style)
        won, lost = len(markers["winning_exits"]), len(markers["losing_exits"])
        axes.set(
            title=f"{symbol}: {won + lost} closed trades ({won} won, {lost} lost)",
            xlabel="date (UTC)",
            ylabel="price (quote currency)",
        )
        axes.legend(fontsize=8, loc="upper left")
        figure.autofmt_xdate()
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)
        charts[f"trades-{symbol}"] = {"file": path.name, "series": {"bars": len(times), **markers}}
    return charts


def dates_of(times_ms) -> list[datetime]:
    """Matplotlib's time axis from ms UTC."""
    return [datetime.fromtimestamp(float(t) / 1000, UTC) for t in times_ms]
