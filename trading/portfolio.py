"""A paper book that holds target weights: decided at a decision bar's close, filled at the next bar's open.

Consumes, part of a chunk at a time, the feed's prices (`trading.prices.ChunkPrices`) and the
decisions in that part — at a tick, a target weight (signed fraction of equity) for some symbols;
produces the fills, the round-trip trades opened and closed (`TradeOpen`, `TradeClosed`), and per
tick the equity marked to market at its close and the gross exposure. The rules, in order:

1. a symbol's pending order fills at the open of its next bar, slipped against the book
   (`slippage`), paying `fee_rate` of the notional: the book moves from what it holds to the
   quantity its target weight was worth at the decision's close;
2. every tick's close marks the book: cash plus every holding at its symbol's last close (a symbol
   without a bar in a tick is marked at its previous close); a short pays `borrow_rate_per_day` on
   its notional for the time it is held;
3. the drawdown circuit breaker: a close `drawdown_limit` below the equity's running peak orders
   every holding closed and ignores decisions for `drawdown_cooldown`; then the peak starts again
   from the equity there (0: no breaker);
4. a decision at a tick's close orders a symbol's target only when it differs from the weight the
   symbol holds now by more than `rebalance_band` of the equity — or when it opens, closes or turns
   round a position, whatever the size.

A trade is a position's round trip: from flat to flat (or to the other side). Its entry (exit) price
is the mean price of the fills that grew (shrank) it, its PnL every fill's cash net of fees, its
return the PnL over what was paid to build it. Traded through the executor, the exchange's fills
are the book's: `take_exchange_fill` moves it by what each filled beyond the paper fill. Between events nothing can change, so the book marks
whole stretches of ticks at once with numpy and visits only the ticks where something happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import msgspec
import numpy as np

from common.times import DAY_MS, duration_ms
from config.schema import TraderConfig
from messages.trading import ModelVote, TradeClosed, TradeOpen
from trading.prices import ChunkPrices

LONG, SHORT = 1, -1
SIDE_NAMES: dict[int, Literal["LONG", "SHORT"]] = {LONG: "LONG", SHORT: "SHORT"}


@dataclass(frozen=True)
class BookRules:
    fee_rate: float
    slippage: float
    allow_short: bool
    borrow_rate_per_day: float
    rebalance_band: float
    drawdown_limit: float
    cooldown_ms: int
    initial_equity: float

    @staticmethod
    def of(config: TraderConfig) -> BookRules:
        return BookRules(
            config.fee_rate,
            config.slippage,
            config.allow_short,
            config.borrow_rate_per_day,
            config.rebalance_band,
            config.drawdown_limit,
            duration_ms(config.drawdown_cooldown),
            config.initial_equity,
        )


class Lot(msgspec.Struct):
    trade_id: str  # "<symbol>-<entry time>"
    entry_time: int
    price: float  # its fill's price (slipped)
    quantity: float  # still held (units, > 0)
    fee_per_unit: float  # its entry fee per unit (quote)
    votes: list[ModelVote] = []


class Holding(msgspec.Struct):
    side: int
    quantity: float  # signed: negative short
    lots: list[Lot] = []  # oldest first
    borrow: float = 0.0  # quote paid to borrow (shorts) and not yet charged to a closed lot


class BookState(msgspec.Struct):
    cash: float  # quote currency
    holdings: dict[str, Holding] = {}
    pending: dict[str, tuple[float, int]] = {}  # symbol -> (target quantity, decided at)
    pending_votes: dict[str, list[ModelVote]] = {}  # the votes a pending order that opens a trade keeps
    marks: dict[str, float] = {}  # symbol -> last close seen
    peak: float = 0.0  # running peak of the marked equity (the breaker's)
    cooldown_until: int = -1  # ms: the breaker ignores decisions until then
    traded: float = 0.0  # quote notional of every fill, ever (turnover)
    fills: int = 0


@dataclass
class Decision:
    tick: int  # index into the part's ticks
    targets: dict[int, float]  # universe symbol index -> target weight
    votes: dict[int, list[ModelVote]] | None = None  # kept with a trade opened on this decision
    orders: dict[int, int] = field(default_factory=dict)  # filled in by the book: symbol -> +1 buy, -1 sell


@dataclass
class BookResult:
    opened: list[TradeOpen]
    closed: list[TradeClosed]
    equity: np.ndarray  # at each tick's close
    exposure: np.ndarray  # gross holdings / equity at each tick's close
    traded: np.ndarray  # quote notional filled at each tick
    fills: int


class PortfolioBook:
    def __init__(self, rules: BookRules, symbols: list[str]):
        self.rules = rules
        self.symbols = list(symbols)
        self.state = BookState(cash=rules.initial_equity, peak=rules.initial_equity)
        self._lo = 0  # the first tick of the part being run

    def run(self, prices: ChunkPrices, lo: int, hi: int, decisions: list[Decision]) -> BookResult:
        """Ticks [lo, hi) of the chunk; `decisions` at ticks in that range, ascending."""
        state, rules = self.state, self.rules
        n = hi - lo
        result = BookResult([], [], np.empty(n), np.empty(n), np.zeros(n), 0)
        marks = prices.marks_from(lo, hi, [state.marks.get(s, 0.0) for s in self.symbols])
        quantity = self._quantities()
        due = {symbol: prices.next_bar(symbol, lo) for symbol in self._pending_indices()}
        by_tick = {decision.tick: decision for decision in decisions}
        decision_ticks = sorted(by_tick)
        fills_before = state.fills
        self._lo = lo
        t = lo
        while t < hi:
            for symbol in [s for s, at in due.items() if at == t]:
                del due[symbol]
                self._fill(symbol, prices, t, result)
                quantity[symbol] = self._quantity(symbol)
            end = min([hi - 1, *(at - 1 for at in due.values()), *(d for d in decision_ticks if d >= t)])
            segment = marks[t - lo : end - lo + 1]
            borrowing = self._borrowing(segment, quantity, prices.interval_ms)  # [tick, symbol]
            cash = (
                np.cumsum(np.concatenate([[state.cash], -borrowing.sum(axis=1)]))[1:]
                if borrowing is not None
                else np.full(len(segment), state.cash)
            )
            equity = cash + _weighted(segment, quantity)
            tripped = self._breach(equity, prices.time[t : end + 1])
            if tripped is not None:
                end = t + tripped
                equity, cash, segment = equity[: tripped + 1], cash[: tripped + 1], segment[: tripped + 1]
            result.equity[t - lo : end - lo + 1] = equity
            result.exposure[t - lo : end - lo + 1] = _weighted(segment, np.abs(quantity)) / equity
            if borrowing is not None:
                self._charge(float(cash[-1]), borrowing[: len(segment)])
            state.peak = max(state.peak, float(equity.max()))
            now = int(prices.time[end])
            if tripped is not None:
                state.cooldown_until = now + rules.cooldown_ms
                state.pending = {name: (0.0, now) for name in state.holdings}
            elif end in by_tick and now >= state.cooldown_until:
                if state.cooldown_until >= 0:  # the cooldown is over: the peak starts again from here
                    state.cooldown_until, state.peak = -1, float(equity[-1])
                self._decide(by_tick[end], marks[end - lo], float(equity[-1]), now)
            due = {symbol: prices.next_bar(symbol, end + 1) for symbol in self._pending_indices()}
            t = end + 1
        if n:
            state.marks.update({name: float(mark) for name, mark in zip(self.symbols, marks[-1]) if mark > 0})
        result.fills = state.fills - fills_before
        return result

    def open_pnl(self) -> dict[str, tuple[float, float]]:
        """Each open lot's units and its PnL so far, marked at its symbol's last close (trade id -> (units, quote))."""
        found = {}
        for name, held in self.state.holdings.items():
            mark, units = self.state.marks.get(name, 0.0), abs(held.quantity)
            for lot in held.lots:
                pnl = held.side * (mark - lot.price) * lot.quantity - lot.fee_per_unit * lot.quantity
                found[lot.trade_id] = (lot.quantity, pnl - held.borrow * lot.quantity / units)
        return found

    def take_exchange_fill(self, name: str, units: float, cash: float, lot_id: str, time: int, price: float) -> None:
        """Move the book by what an exchange's fill differed from the paper one (`trading.exchange_fills`):
        the cash, and the units on the lot `lot_id` (an open's own lot) while it is held, else on the
        newest lots (a lot of their own, `<lot_id>-exchange` at `price`, when the book holds none); never
        below none: what a fill took beyond what the book still holds is gone already."""
        state = self.state
        state.cash += cash
        held = state.holdings.get(name)
        if held is None:
            if units <= 0.0:
                return  # the book holds none already: the exchange (spot) holds no less than none
            held = state.holdings[name] = Holding(LONG, 0.0)
        own = [lot for lot in held.lots if lot.trade_id == lot_id]
        along = units * held.side  # > 0: the position grows
        if along > 0:
            if held.lots:
                (own or held.lots)[-1].quantity += along
            else:
                held.lots.append(Lot(f"{lot_id}-exchange", time, price, along, 0.0))
            held.quantity += units
        position, left = abs(held.quantity), -along
        while left > 1e-12 * position and held.lots:
            lot = (own or held.lots)[-1]
            taken = min(left, lot.quantity)
            lot.quantity -= taken
            held.quantity -= held.side * taken
            left -= taken
            if lot.quantity <= 1e-12 * position:
                held.lots = [other for other in held.lots if other is not lot]
                own = []
        if not held.lots:
            del state.holdings[name]

    # ----- the rules --------------------------------------------------------------------------
    def _breach(self, equity: np.ndarray, times: np.ndarray) -> int | None:
        """The first offset in the segment where the breaker trips, or None."""
        limit, state = self.rules.drawdown_limit, self.state
        if not limit or not len(equity):
            return None
        armed = times >= state.cooldown_until
        peak = np.maximum(state.peak, np.maximum.accumulate(equity))
        breached = np.flatnonzero(armed & (equity <= peak * (1 - limit)) & (self._gross() > 0))
        return int(breached[0]) if len(breached) else None

    def _decide(self, decision: Decision, marks: np.ndarray, equity: float, now: int) -> None:
        rules, state = self.rules, self.state
        for symbol, weight in decision.targets.items():
            name, price = self.symbols[symbol], float(marks[symbol])
            if not rules.allow_short:
                weight = max(0.0, weight)
            if price <= 0 or equity <= 0:  # no price seen yet, or nothing left to trade with
                continue
            held = state.holdings.get(name)
            current = held.quantity * price / equity if held else 0.0
            turning = (weight == 0.0) != (current == 0.0) or weight * current < 0
            if turning or abs(weight - current) > rules.rebalance_band:
                state.pending[name] = (weight * equity / price, now)
                decision.orders[symbol] = 1 if weight > current else -1
                if decision.votes and symbol in decision.votes:
                    state.pending_votes[name] = decision.votes[symbol]
            else:
                state.pending.pop(name, None)
                state.pending_votes.pop(name, None)

    def _fill(self, symbol: int, prices: ChunkPrices, tick: int, result: BookResult) -> None:
        state = self.state
        name = self.symbols[symbol]
        target, _ = state.pending.pop(name)
        votes = state.pending_votes.pop(name, [])
        held = state.holdings.get(name)
        current = held.quantity if held else 0.0
        if held is not None and (target * current < 0 or target == 0.0):
            self._trade(name, -current, prices, tick, symbol, result, votes)
            current = 0.0
        if target != current:
            self._trade(name, target - current, prices, tick, symbol, result, votes)

    def _trade(
        self,
        name: str,
        change: float,
        prices: ChunkPrices,
        tick: int,
        symbol: int,
        result: BookResult,
        votes: list[ModelVote],
    ) -> None:
        rules, state = self.rules, self.state
        time = int(prices.time[tick])
        price = float(prices.open[tick, symbol]) * (1 + rules.slippage if change > 0 else 1 - rules.slippage)
        notional = abs(change) * price
        fee = notional * rules.fee_rate
        state.cash -= change * price + fee
        state.traded += notional
        state.fills += 1
        result.traded[tick - self._lo] += notional
        held = state.holdings.get(name)
        if held is None:
            held = state.holdings[name] = Holding(LONG if change > 0 else SHORT, 0.0)
        if change * held.side > 0:  # a new lot
            lot = Lot(f"{name}-{time}", time, price, abs(change), fee / abs(change), votes)
            held.lots.append(lot)
            held.quantity += change
            result.opened.append(
                TradeOpen(
                    trade_id=lot.trade_id,
                    symbol=name,
                    side=SIDE_NAMES[held.side],
                    entry_time=time,
                    entry_price=price,
                    quantity=lot.quantity,
                    votes=votes,
                    ts_event=time,
                )
            )
            return
        units, exit_fee = abs(change), fee / abs(change)
        position = abs(held.quantity)
        while units > 1e-12 * position and held.lots:
            lot = held.lots[0]
            closing = min(units, lot.quantity)
            borrow = held.borrow * closing / abs(held.quantity)
            pnl = held.side * (price - lot.price) * closing - (lot.fee_per_unit + exit_fee) * closing - borrow
            held.borrow -= borrow
            held.quantity -= held.side * closing
            lot.quantity -= closing
            units -= closing
            if lot.quantity <= 1e-12 * position:
                held.lots.pop(0)
            result.closed.append(
                TradeClosed(
                    trade_id=f"{lot.trade_id}-{time}",
                    symbol=name,
                    side=SIDE_NAMES[held.side],
                    entry_time=lot.entry_time,
                    entry_price=lot.price,
                    exit_time=time,
                    exit_price=price,
                    quantity=closing,
                    fees=(lot.fee_per_unit + exit_fee) * closing,
                    pnl=pnl,
                    ret=pnl / (lot.price * closing),
                    exit_reason="target",
                    votes=lot.votes,
                    remaining=abs(held.quantity) if held.lots else 0.0,
                    ts_event=time,
                )
            )
        if not held.lots:
            del state.holdings[name]

    def _borrowing(self, marks: np.ndarray, quantity: np.ndarray, interval_ms: int) -> np.ndarray | None:
        """What each short pays to borrow at each tick's close of the segment ([tick, symbol], quote), or None."""
        if not self.rules.borrow_rate_per_day or not (quantity < 0).any():
            return None
        short = np.where(quantity < 0, -quantity, 0.0)
        return marks * short * (self.rules.borrow_rate_per_day * interval_ms / DAY_MS)

    def _charge(self, cash: float, borrowing: np.ndarray) -> None:
        """The cash after a segment's borrowing, each short's own cost added to it tick by tick."""
        self.state.cash = cash
        for name, held in self.state.holdings.items():
            if held.quantity < 0:
                symbol = self.symbols.index(name)
                held.borrow = float(np.cumsum(np.concatenate([[held.borrow], borrowing[:, symbol]]))[-1])

    # ----- helpers ----------------------------------------------------------------------------
    def _quantities(self) -> np.ndarray:
        return np.array([self._quantity(i) for i in range(len(self.symbols))], np.float64)

    def _quantity(self, symbol: int) -> float:
        held = self.state.holdings.get(self.symbols[symbol])
        return held.quantity if held else 0.0

    def _gross(self) -> float:
        return sum(abs(h.quantity) for h in self.state.holdings.values())

    def _pending_indices(self) -> list[int]:
        return [self.symbols.index(name) for name in self.state.pending]


def _weighted(marks: np.ndarray, quantity: np.ndarray) -> np.ndarray:
    """Per tick, the sum over symbols of mark x quantity, added in symbol order: the same numbers
    however the ticks are cut into segments (a matrix product's summation order depends on its shape)."""
    total = np.zeros(len(marks))
    for symbol in np.flatnonzero(quantity):
        total = total + marks[:, symbol] * quantity[symbol]
    return total
