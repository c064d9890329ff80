"""Performance metrics of a trade log, each a plain number with its unit in its name or docstring.

Consumes closed trades (dicts in the `export trades` form: pnl, return, exit_time, ...) and the
initial equity; produces `TradeMetrics`: trades, win rate (fraction of trades with pnl > 0), ROI
(total pnl / initial equity), total and average pnl (quote currency), max drawdown (largest fall
of realised equity from a running peak, as a positive fraction of that peak), profit factor
(gross profit / gross loss; None without losses) and Sharpe (mean / std of daily realised-equity
returns, times sqrt(365); None with fewer than two days). `curve_metrics` measures an equity curve
marked to market (buy-and-hold); `strategy_metrics` puts a strategy on that same basis: ROI,
drawdown and Sharpe from its marked-to-market equity, the rest from its closed trades.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import msgspec

DAY_MS = 86_400_000


class TradeMetrics(msgspec.Struct, frozen=True):
    trades: int
    win_rate: float | None
    roi: float
    total_pnl: float
    average_pnl: float | None
    max_drawdown: float
    profit_factor: float | None
    sharpe: float | None


def trade_metrics(trades: Iterable[Mapping[str, object]], initial_equity: float) -> TradeMetrics:
    ordered = sorted(trades, key=lambda t: (t["exit_time"], t["trade_id"]))
    pnls = [float(t["pnl"]) for t in ordered]
    wins = [p for p in pnls if p > 0]
    losses = [-p for p in pnls if p <= 0]
    total = math.fsum(pnls)
    equity, peak, drawdown = initial_equity, initial_equity, 0.0
    daily: dict[int, float] = {}
    for trade, pnl in zip(ordered, pnls):
        equity += pnl
        peak = max(peak, equity)
        drawdown = max(drawdown, (peak - equity) / peak)
        daily[int(trade["exit_time"]) // DAY_MS] = equity
    return TradeMetrics(
        trades=len(pnls),
        win_rate=len(wins) / len(pnls) if pnls else None,
        roi=total / initial_equity,
        total_pnl=total,
        average_pnl=total / len(pnls) if pnls else None,
        max_drawdown=drawdown,
        profit_factor=(math.fsum(wins) / math.fsum(losses)) if losses and math.fsum(losses) > 0 else None,
        sharpe=_daily_sharpe(daily, initial_equity),
    )


def _daily_sharpe(daily_equity: dict[int, float], initial_equity: float) -> float | None:
    if len(daily_equity) < 2:
        return None
    days = range(min(daily_equity), max(daily_equity) + 1)
    equity, previous, returns = initial_equity, initial_equity, []
    for day in days:
        equity = daily_equity.get(day, equity)
        returns.append(equity / previous - 1)
        previous = equity
    mean = math.fsum(returns) / len(returns)
    variance = math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return None if variance == 0 else mean / math.sqrt(variance) * math.sqrt(365)


def curve_metrics(times: list[int], values: list[float], initial_equity: float, *, positions: int,
                  winners: int) -> TradeMetrics:
    """Metrics of a marked-to-market equity curve (buy-and-hold): drawdown over every point, Sharpe
    over daily closes; `positions` counts as trades and `winners` of them as wins."""
    peak, drawdown, daily = initial_equity, 0.0, {}
    for time, value in zip(times, values):
        peak = max(peak, value)
        drawdown = max(drawdown, (peak - value) / peak)
        daily[time // DAY_MS] = value
    final = values[-1] if values else initial_equity
    return TradeMetrics(
        trades=positions, win_rate=winners / positions if positions else None, roi=final / initial_equity - 1,
        total_pnl=final - initial_equity, average_pnl=(final - initial_equity) / positions if positions else None,
        max_drawdown=drawdown, profit_factor=None, sharpe=_daily_sharpe(daily, initial_equity),
    )


def exposure(trades: Iterable[Mapping[str, object]], symbol_bars: int, interval_ms: int) -> float:
    """Fraction of (symbol, bar) pairs spent holding a position."""
    held = sum((int(t["exit_time"]) - int(t["entry_time"])) // interval_ms for t in trades)
    return held / symbol_bars if symbol_bars else 0.0


def strategy_metrics(trades: Iterable[Mapping[str, object]], times, equity, initial_equity: float) -> TradeMetrics:
    """A strategy's metrics on the same basis as buy-and-hold's: ROI, drawdown and Sharpe from its
    equity marked to market at every tick; trades, win rate, PnL and profit factor from its closed trades."""
    closed = trade_metrics(trades, initial_equity)
    marked = curve_metrics([int(t) for t in times], [float(v) for v in equity], initial_equity, positions=closed.trades,
                           winners=0)
    return msgspec.structs.replace(closed, roi=marked.roi, max_drawdown=marked.max_drawdown, sharpe=marked.sharpe)
