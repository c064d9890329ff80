"""What other weights would have done on the same bars and votes: the baselines of every report.

Consumes a `Recording` (its bars and the votes inside its decisions — every model votes on every
bar whatever the weights, so the votes are the same for any weights) and fixed weights; produces
the closed trades the trader would have made, through the same `combine` and `PaperBroker` in the
same order (per tick: fills for every symbol, then decisions). With the weights of a frozen
session it reproduces that session's trades exactly. Also buy-and-hold: an equal-weight
portfolio of the symbols, bought at the first open and marked at every close.
"""

from __future__ import annotations

from analytics.recording import Recording
from config.schema import TraderConfig
from messages.trading import TradeClosed
from trading.broker import PaperBroker
from trading.ensemble import combine


def simulate(recording: Recording, weights: dict[str, float], config: TraderConfig) -> list[TradeClosed]:
    broker = PaperBroker(config)
    closed: list[TradeClosed] = []
    decisions = iter(recording.decisions)
    pending = next(decisions, None)
    for tick, bars in recording.bars.items():
        for symbol in sorted(bars):
            closed.extend(broker.on_bar(symbol, bars[symbol])[1])
        while pending is not None and pending.bar_time <= tick:
            if pending.bar_time == tick:
                _, action = combine(pending.votes, weights, config.entry_threshold)
                broker.decide(pending.symbol, tick, action, pending.votes)
            pending = next(decisions, None)
    return closed


def buy_and_hold_equity(recording: Recording, config: TraderConfig) -> tuple[list[int], list[float]]:
    """(tick times, portfolio value at each tick): equal parts of the initial equity in each symbol,
    bought at its first bar's open and valued at every close as if sold there (fee and slippage
    paid on both sides)."""
    cost = 1 + config.fee_rate + config.slippage
    proceeds = 1 - config.fee_rate - config.slippage
    symbols = len(recording.symbols)
    share = config.initial_equity / max(1, symbols)
    units: dict[str, float] = {}
    last_close: dict[str, float] = {}
    times: list[int] = []
    values: list[float] = []
    for tick, bars in recording.bars.items():
        for symbol, bar in bars.items():
            if symbol not in units:
                units[symbol] = share / (bar.open * cost)
            last_close[symbol] = bar.close
        times.append(tick)
        values.append(sum(units[s] * last_close[s] for s in units) * proceeds + share * (symbols - len(units)))
    return times, values
