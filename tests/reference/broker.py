"""A paper broker: one position per symbol, filled at the next bar's open, with fees and slippage.

Consumes, per symbol and in time order, each new bar (`on_bar`, before the decision on that bar)
and the decision made at its close (`decide`); produces `TradeOpen` and `TradeClosed` records.
An order decided on bar t fills at the open of the symbol's next bar, never at a price of bar t.
Stop-loss and take-profit rest from the entry on: a bar whose low (high) reaches the stop
(target) exits there, or at its open when it opens beyond it; the stop is assumed hit first when
both are. A position held `max_holding_bars` bars is closed at the next open. Long-only unless
`allow_short`. Size: `position_fraction` of the realised equity at entry. Fees: `fee_rate` of
the notional on each side; slippage moves every fill against the trader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from config.schema import TraderConfig
from messages.signals import Action
from messages.trading import ModelVote, TradeClosed, TradeOpen
from tests.reference import Bar


@dataclass
class Position:
    trade_id: str
    side: str            # LONG or SHORT
    entry_time: int
    entry_price: float
    quantity: float
    entry_fee: float
    votes: list[ModelVote]
    bars_held: int = 0


@dataclass
class Order:
    kind: str            # open_long, open_short, close
    decided_at: int
    votes: list[ModelVote] = field(default_factory=list)
    reason: str = "signal"


class PaperBroker:
    def __init__(self, config: TraderConfig):
        self.config = config
        self.equity = config.initial_equity
        self.positions: dict[str, Position] = {}
        self.orders: dict[str, Order] = {}

    def on_bar(self, symbol: str, bar: Bar) -> tuple[list[TradeOpen], list[TradeClosed]]:
        """Fill the order decided on an earlier bar at this bar's open, then check the risk limits."""
        opened: list[TradeOpen] = []
        closed: list[TradeClosed] = []
        order = self.orders.pop(symbol, None)
        if order is not None and order.decided_at < bar.open_time:
            if order.kind == "close" and symbol in self.positions:
                closed.append(self._exit(symbol, bar.open_time, bar.open, order.reason))
            elif order.kind in ("open_long", "open_short") and symbol not in self.positions:
                opened.append(self._enter(symbol, "LONG" if order.kind == "open_long" else "SHORT", bar, order.votes))
        position = self.positions.get(symbol)
        if position is not None:
            position.bars_held += 1
            exit_price, reason = self._risk_exit(position, bar)
            if exit_price is not None:
                closed.append(self._exit(symbol, bar.open_time, exit_price, reason, slipped=False))
            elif position.bars_held >= self.config.max_holding_bars:
                self.orders[symbol] = Order("close", bar.open_time, reason="max holding time")
        return opened, closed

    def decide(self, symbol: str, bar_time: int, action: Action, votes: list[ModelVote]) -> None:
        """The ensemble's action at the close of `bar_time`; it fills at the next bar's open."""
        position = self.positions.get(symbol)
        if symbol in self.orders:
            return  # a risk exit is already scheduled
        if position is None:
            if action == "BUY":
                self.orders[symbol] = Order("open_long", bar_time, votes)
            elif action == "SELL" and self.config.allow_short:
                self.orders[symbol] = Order("open_short", bar_time, votes)
        elif (position.side == "LONG" and action == "SELL") or (position.side == "SHORT" and action == "BUY"):
            self.orders[symbol] = Order("close", bar_time, reason="signal")

    def _enter(self, symbol: str, side: str, bar: Bar, votes: list[ModelVote]) -> TradeOpen:
        slip = self.config.slippage
        price = bar.open * (1 + slip) if side == "LONG" else bar.open * (1 - slip)
        quantity = self.equity * self.config.position_fraction / price
        fee = price * quantity * self.config.fee_rate
        trade_id = f"{symbol}-{bar.open_time}"
        self.positions[symbol] = Position(trade_id, side, bar.open_time, price, quantity, fee, votes)
        return TradeOpen(trade_id=trade_id, symbol=symbol, side=side, entry_time=bar.open_time, entry_price=price,
                         quantity=quantity, votes=votes, ts_event=bar.open_time)

    def _risk_exit(self, position: Position, bar: Bar) -> tuple[float | None, str]:
        config = self.config
        if position.side == "LONG":
            stop, target = position.entry_price * (1 - config.stop_loss), position.entry_price * (1 + config.take_profit)
            if config.stop_loss and bar.low <= stop:
                return min(stop, bar.open), "stop-loss"
            if config.take_profit and bar.high >= target:
                return max(target, bar.open), "take-profit"
        else:
            stop, target = position.entry_price * (1 + config.stop_loss), position.entry_price * (1 - config.take_profit)
            if config.stop_loss and bar.high >= stop:
                return max(stop, bar.open), "stop-loss"
            if config.take_profit and bar.low <= target:
                return min(target, bar.open), "take-profit"
        return None, ""

    def _exit(self, symbol: str, time: int, price: float, reason: str, slipped: bool = True) -> TradeClosed:
        position = self.positions.pop(symbol)
        long = position.side == "LONG"
        if slipped:
            price = price * (1 - self.config.slippage) if long else price * (1 + self.config.slippage)
        quantity = position.quantity
        exit_fee = price * quantity * self.config.fee_rate
        fees = position.entry_fee + exit_fee
        gross = (price - position.entry_price) * quantity * (1 if long else -1)
        pnl = gross - fees
        self.equity += pnl
        return TradeClosed(
            trade_id=position.trade_id, symbol=symbol, side=position.side, entry_time=position.entry_time,
            entry_price=position.entry_price, exit_time=time, exit_price=price, quantity=quantity, fees=fees,
            pnl=pnl, ret=pnl / (position.entry_price * quantity), exit_reason=reason, votes=position.votes,
            ts_event=time,
        )
