"""The target-weight paper book, one tick at a time: the oracle `trading.portfolio.PortfolioBook`
(which marks whole stretches at once and visits only the ticks where something happens) must equal.

Per tick, in order: every pending order of a symbol with a bar at this tick fills at its open
(slipped, with fees; a position turning round closes first); marks move to this tick's closes;
the equity is the cash plus every holding at its mark, less what the shorts have borrowed so far
this tick (charged per tick on their notional); the breaker trips when the equity is the limit
below its running peak (orders everything closed, ignores decisions for the cooldown); else a
decision at this tick orders each target whose weight differs from the held one by more than the
band (or that opens, closes or turns a position); the peak follows the equity. A growing fill is a
lot; a shrinking one closes the oldest lots first, each closed part a trade with its share of the
fees and of the borrowing.
"""

from __future__ import annotations

from messages.trading import TradeClosed
from trading.portfolio import LONG, SHORT, BookRules


class Lot:
    def __init__(self, name: str, time: int, price: float, quantity: float, fee: float):
        self.trade_id, self.time, self.price, self.quantity, self.fee_per_unit = (
            f"{name}-{time}",
            time,
            price,
            quantity,
            fee / quantity,
        )


class Position:
    def __init__(self, name: str, side: int):
        self.name, self.side, self.quantity, self.borrow = name, side, 0.0, 0.0
        self.lots: list[Lot] = []


class ReferenceBook:
    def __init__(self, rules: BookRules, symbols: list[str]):
        self.rules, self.symbols = rules, list(symbols)
        self.cash = rules.initial_equity
        self.positions: dict[str, Position] = {}
        self.pending: dict[str, float] = {}
        self.marks: dict[str, float] = {}
        self.peak = rules.initial_equity
        self.cooldown_until = -1
        self.trips = 0
        self.closed: list[TradeClosed] = []
        self.equity: list[float] = []

    def tick(
        self, time: int, bars: dict[str, tuple[float, float]], interval_ms: int, targets: dict[str, float] | None
    ) -> None:
        """bars: symbol -> (open, close) at this tick; targets: the decision at this tick's close, if any."""
        rules = self.rules
        for name in [n for n in self.pending if n in bars]:
            self._fill(name, self.pending.pop(name), bars[name][0], time)
        for name, (_, close) in bars.items():
            self.marks[name] = close
        for position in self.positions.values():
            if position.quantity < 0:
                cost = (
                    -position.quantity
                    * self.marks.get(position.name, 0.0)
                    * rules.borrow_rate_per_day
                    * interval_ms
                    / 86_400_000
                )
                self.cash -= cost
                position.borrow += cost
        equity = self.cash + sum(p.quantity * self.marks.get(p.name, 0.0) for p in self.positions.values())
        self.equity.append(equity)
        peak = max(self.peak, equity)
        gross = sum(abs(p.quantity) for p in self.positions.values())
        if (
            rules.drawdown_limit
            and time >= self.cooldown_until
            and gross > 0
            and equity <= peak * (1 - rules.drawdown_limit)
        ):
            self.peak = peak
            self.trips += 1
            self.cooldown_until = time + rules.cooldown_ms
            self.pending = {name: 0.0 for name in self.positions}
            return
        self.peak = peak
        if targets is None or time < self.cooldown_until:
            return
        if self.cooldown_until >= 0:
            self.cooldown_until, self.peak = -1, equity
        for name, weight in targets.items():
            if not rules.allow_short:
                weight = max(0.0, weight)
            price = self.marks.get(name, 0.0)
            if price <= 0 or equity <= 0:
                continue
            held = self.positions.get(name)
            current = held.quantity * price / equity if held else 0.0
            turning = (weight == 0.0) != (current == 0.0) or weight * current < 0
            if turning or abs(weight - current) > rules.rebalance_band:
                self.pending[name] = weight * equity / price
            else:
                self.pending.pop(name, None)

    def _fill(self, name: str, target: float, open_: float, time: int) -> None:
        held = self.positions.get(name)
        current = held.quantity if held else 0.0
        if held is not None and (target * current < 0 or target == 0.0):
            self._trade(name, -current, open_, time)
            current = 0.0
        if target != current:
            self._trade(name, target - current, open_, time)

    def _trade(self, name: str, change: float, open_: float, time: int) -> None:
        rules = self.rules
        price = open_ * (1 + rules.slippage if change > 0 else 1 - rules.slippage)
        fee = abs(change) * price * rules.fee_rate
        self.cash -= change * price + fee
        held = self.positions.get(name)
        if held is None:
            held = self.positions[name] = Position(name, LONG if change > 0 else SHORT)
        if change * held.side > 0:
            held.lots.append(Lot(name, time, price, abs(change), fee))
            held.quantity += change
            return
        units, exit_fee = abs(change), fee / abs(change)
        start = abs(held.quantity)
        while units > 1e-12 * start and held.lots:
            lot = held.lots[0]
            part = min(units, lot.quantity)
            borrow = held.borrow * part / abs(held.quantity)
            pnl = held.side * (price - lot.price) * part - (lot.fee_per_unit + exit_fee) * part - borrow
            held.borrow -= borrow
            held.quantity -= held.side * part
            lot.quantity -= part
            units -= part
            if lot.quantity <= 1e-12 * start:
                held.lots.pop(0)
            self.closed.append(
                TradeClosed(
                    trade_id=f"{lot.trade_id}-{time}",
                    symbol=name,
                    side="LONG" if held.side == LONG else "SHORT",
                    entry_time=lot.time,
                    entry_price=lot.price,
                    exit_time=time,
                    exit_price=price,
                    quantity=part,
                    fees=(lot.fee_per_unit + exit_fee) * part,
                    pnl=pnl,
                    ret=pnl / (lot.price * part),
                    exit_reason="target",
                    votes=[],
                    ts_event=time,
                )
            )
        if not held.lots:
            del self.positions[name]
