"""How a strategy did over a window, and over the folds' test windows one after another.

Consumes continuous offline runs (`learning.simulate.Simulation`: ticks, equity marked to market at
each tick's close, closed trades) or the bars themselves (buy-and-hold, cash), and windows;
produces a `Part` per window — its ticks, equity, the equity just before it and the PnL of the
trades closed in it — and from parts the five figures every strategy is judged by: ROI (the
equity at the last close over the equity before the window), Sharpe (daily returns of that equity,
annualised with sqrt(365); 0 for a flat one), max drawdown (over every close), trades closed and
their win rate. `summarize` of several parts is the walk-forward aggregate: the test windows one
after the other, each with the configuration its fold chose, returns compounded; its daily
returns are what the bootstrap resamples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.bootstrap import annualised_sharpe
from analytics.simulate import buy_and_hold
from config.schema import TraderConfig
from config.times import DAY_MS
from learning.simulate import Simulation
from trading.assembly import Ready
from training.windows import Window

FIELDS = ("roi", "sharpe", "max_drawdown", "win_rate", "trades")


@dataclass(frozen=True)
class Part:
    times: np.ndarray    # the window's ticks
    equity: np.ndarray   # marked to market at each tick's close
    before: float        # the equity just before the window
    pnls: list[float]    # of the trades closed in the window (buy-and-hold: one per symbol, as if sold at the end)


def run_part(run: Simulation, window: Window) -> Part:
    times, equity = run.curve()
    lo, hi = np.searchsorted(times, [window.start, window.end])
    before = float(equity[lo - 1]) if lo > 0 else run.initial_equity
    pnls = [t.pnl for t in run.trades if window.start <= t.exit_time < window.end]
    return Part(times[lo:hi], equity[lo:hi], before, pnls)


def cash_part(ticks: np.ndarray, window: Window, initial_equity: float) -> Part:
    lo, hi = np.searchsorted(ticks, [window.start, window.end])
    return Part(ticks[lo:hi], np.full(hi - lo, initial_equity), initial_equity, [])


def buy_and_hold_part(chunks: list[Ready], window: Window, trader: TraderConfig) -> Part:
    """Equal parts bought at the window's first opens (`analytics.simulate.buy_and_hold`)."""
    ticks, value, pnls = buy_and_hold(chunks, trader, window.start, window.end)
    return Part(ticks, value, trader.initial_equity, pnls)


def daily_returns(part: Part) -> np.ndarray:
    """Each UTC day's return of the marked equity (its last close over the previous day's)."""
    if not len(part.times):
        return np.empty(0)
    days = part.times // DAY_MS
    last = np.flatnonzero(np.concatenate([days[1:] != days[:-1], [True]]))
    closes = np.concatenate([[part.before], part.equity[last]])
    return closes[1:] / closes[:-1] - 1


def summarize(parts: list[Part]) -> tuple[dict[str, float | int | None], np.ndarray]:
    """The five figures of parts run one after another (returns compounded), and their daily returns."""
    path = [1.0]
    for part in parts:
        if len(part.equity):
            path.extend((path[-1] * part.equity / part.before).tolist())
    daily = np.concatenate([daily_returns(part) for part in parts]) if parts else np.empty(0)
    pnls = [pnl for part in parts for pnl in part.pnls]
    curve = np.array(path)
    peak = np.maximum.accumulate(curve)
    return {
        "roi": float(curve[-1] - 1),
        "sharpe": float(annualised_sharpe(daily)) if len(daily) >= 2 else None,
        "max_drawdown": float(((peak - curve) / peak).max()),
        "win_rate": sum(pnl > 0 for pnl in pnls) / len(pnls) if pnls else None,
        "trades": len(pnls),
    }, daily
