"""A strategy's part of a span: what `analytics.performance` measures, cut from a continuous run.

Consumes continuous offline runs (`learning.offline.Simulation`: ticks, equity marked to market at
each tick's close, fills, exposure, closed round trips and the open ones' PnL at every cut) or the
bars themselves (buy-and-hold, cash), and spans [start, end) in ms UTC — a walk-forward window, or
a whole session (`WHOLE`); produces a `Part` per span: its ticks, equity, the equity just before
it, fills and exposure, and each trade's PnL earned inside the span. A lot open across an edge
counts in both spans, each with the part of its PnL that accrued there (marked at the edge's
close, per unit, so a lot closed in parts shares its start mark out by units), so nothing is
counted twice in an aggregate.
"""

from __future__ import annotations

import numpy as np

from analytics.baselines import buy_and_hold
from analytics.performance import Part
from config.schema import TraderConfig
from learning.offline import Simulation
from trading.assembly import VotedChunk

END = 2**62  # a cut after every bar: the trades still open at the end
WHOLE = (0, END)  # a session's whole span


def run_part(run: Simulation, start: int, end: int) -> Part:
    """The run's part in [start, end); the run must have been cut at both (`cuts`)."""
    times, equity = run.curve()
    lo, hi = np.searchsorted(times, [start, end])
    before = float(equity[lo - 1]) if lo > 0 else run.initial_equity
    at_start, at_end = run.open_at.get(start, {}), run.open_at.get(end, {})

    def earlier(lot: str, units: float) -> float:
        """The PnL `units` of a lot had earned before the span."""
        held, pnl = at_start.get(lot, (1.0, 0.0))
        return pnl * units / held

    pnls = [
        trade.pnl - earlier(f"{trade.symbol}-{trade.entry_time}", trade.quantity)
        for trade in run.trades
        if start <= trade.exit_time < end
    ]
    pnls += [pnl - earlier(lot, units) for lot, (units, pnl) in at_end.items()]
    return Part(times[lo:hi], equity[lo:hi], before, pnls, run.fills()[lo:hi], run.exposures()[lo:hi])


def cash_part(ticks: np.ndarray, start: int, end: int, initial_equity: float) -> Part:
    lo, hi = np.searchsorted(ticks, [start, end])
    return Part(
        ticks[lo:hi], np.full(hi - lo, initial_equity), initial_equity, [], np.zeros(hi - lo), np.zeros(hi - lo)
    )


def buy_and_hold_part(chunks: list[VotedChunk], start: int, end: int, trader: TraderConfig) -> Part:
    """Equal parts bought at the span's first opens (`analytics.baselines.buy_and_hold`)."""
    ticks, value, pnls = buy_and_hold(chunks, trader, start, end)
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
