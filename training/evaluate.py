"""A strategy's part of a window: what `analytics.performance` measures, cut from a continuous run.

Consumes continuous offline runs (`learning.offline.Simulation`: ticks, equity marked to market at
each tick's close, fills, exposure, closed round trips and the open ones' PnL at every window edge)
or the bars themselves (buy-and-hold, cash), and windows; produces a `Part` per window — its ticks,
equity, the equity just before it, fills and exposure, and each trade's PnL earned inside the
window: a lot open across an edge counts in both windows, each with the part of its PnL that
accrued there (marked at the edge's close, per unit, so a lot closed in parts shares its start
mark out by units), so nothing is counted twice in the aggregate.
"""

from __future__ import annotations

import numpy as np

from analytics.baselines import buy_and_hold
from analytics.performance import Part
from config.schema import TraderConfig
from learning.offline import Simulation
from trading.assembly import VotedChunk
from training.windows import Window


def run_part(run: Simulation, window: Window) -> Part:
    times, equity = run.curve()
    lo, hi = np.searchsorted(times, [window.start, window.end])
    before = float(equity[lo - 1]) if lo > 0 else run.initial_equity
    at_start, at_end = run.open_at.get(window.start, {}), run.open_at.get(window.end, {})

    def earlier(lot: str, units: float) -> float:
        """The PnL `units` of a lot had earned before the window."""
        held, pnl = at_start.get(lot, (1.0, 0.0))
        return pnl * units / held

    pnls = [
        trade.pnl - earlier(f"{trade.symbol}-{trade.entry_time}", trade.quantity)
        for trade in run.trades
        if window.start <= trade.exit_time < window.end
    ]
    pnls += [pnl - earlier(lot, units) for lot, (units, pnl) in at_end.items()]
    return Part(times[lo:hi], equity[lo:hi], before, pnls, run.fills()[lo:hi], run.exposures()[lo:hi])


def cash_part(ticks: np.ndarray, window: Window, initial_equity: float) -> Part:
    lo, hi = np.searchsorted(ticks, [window.start, window.end])
    return Part(
        ticks[lo:hi], np.full(hi - lo, initial_equity), initial_equity, [], np.zeros(hi - lo), np.zeros(hi - lo)
    )


def buy_and_hold_part(chunks: list[VotedChunk], window: Window, trader: TraderConfig) -> Part:
    """Equal parts bought at the window's first opens (`analytics.baselines.buy_and_hold`)."""
    ticks, value, pnls = buy_and_hold(chunks, trader, window.start, window.end)
    traded = np.zeros(len(ticks))
    if len(ticks):
        traded[0] = traded[-1] = trader.initial_equity  # bought at the start, sold (on paper) at the end
    return Part(ticks, value, trader.initial_equity, pnls, traded, np.ones(len(ticks)))


def at_exposure(hold: Part, exposure: float) -> Part:
    """Buy-and-hold at another strategy's mean exposure: that share of the equity in it, rebalanced
    at every tick without cost (so its Sharpe is buy-and-hold's, its ROI and drawdown scaled)."""
    if not len(hold.equity):
        return hold
    steps = np.diff(np.concatenate([[hold.before], hold.equity])) / np.concatenate([[hold.before], hold.equity[:-1]])
    equity = hold.before * np.cumprod(1 + exposure * steps)
    return Part(
        hold.times,
        equity,
        hold.before,
        [pnl * exposure for pnl in hold.pnls],
        hold.traded * exposure,
        np.full(len(hold.times), exposure),
    )
