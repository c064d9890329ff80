"""A paper broker over chunks: one position per symbol, orders filled at the symbol's next open.

Consumes, chunk after chunk, the bars (`BarChunk`) and each row's ensemble score (-1..1);
produces the trades opened and closed (`TradeOpen`, `TradeClosed`) and the book's equity marked to
market at the close of every tick. The rules, per symbol and bar, in this order:
1. an order decided on an earlier bar fills at this bar's open, slipped against the trader;
2. a position held: its bars are counted; a bar whose low (high) reaches the stop (target) exits
   there, or at its open when it opens beyond it — the stop first when both are reached — and
   slipped when `slip_risk_exits`; a position held `max_holding_bars` is closed at the next open;
3. the decision at the bar's close: flat, a score >= `enter_threshold` buys (<= -enter_threshold
   sells short, when allowed) — with `trend_bars`, only while the close is above (short: below) the
   symbol's EMA over that many bars, carried across chunks, and never when the rules forbid entries
   (`entries`: a trader standing aside); long, a score <= `exit_threshold` held
   at least `min_holding_bars` closes (short: >= -exit_threshold). A bar with an order already
   pending decides nothing.
Size: `position_fraction` of the realised equity at the fill; fees: `fee_rate` of the notional on
each side. Exits change the realised equity, so fills are processed in (tick, symbol) order across
symbols, as a per-bar loop would; but a symbol's bars are visited only where something can
happen (an entry signal, a pending fill, a stop, a target, the holding limit, an exit signal), the
stretches between found with numpy. Equity marked to market = realised equity + every open
position's (close - entry) x quantity x side - its entry fee, a symbol without a bar in a tick
marked at its last close.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
import numpy as np

from config.schema import TraderConfig
from marketdata.chunk import BarChunk
from messages.trading import ModelVote, TradeClosed, TradeOpen
from signals.kernels import ema

LONG, SHORT = 1, -1
SIDE_NAMES = {LONG: "LONG", SHORT: "SHORT"}


@dataclass(frozen=True)
class BookRules:
    fee_rate: float
    slippage: float
    position_fraction: float
    stop_loss: float
    take_profit: float
    max_holding_bars: int
    allow_short: bool
    enter_threshold: float
    exit_threshold: float
    min_holding_bars: int = 0
    slip_risk_exits: bool = False
    trend_bars: int = 0             # entries only with the symbol's trend (its close beyond this EMA); 0: any time
    exits: bool = True              # False: never leaves a position (the `hold` reference expert)
    entries: bool = True            # False: never opens one (a trader told to stand aside)

    @staticmethod
    def of(config: TraderConfig) -> BookRules:
        return BookRules(
            fee_rate=config.fee_rate, slippage=config.slippage, position_fraction=config.position_fraction,
            stop_loss=config.stop_loss, take_profit=config.take_profit, max_holding_bars=config.max_holding_bars,
            allow_short=config.allow_short, enter_threshold=config.entry_threshold,
            exit_threshold=config.exit_threshold, min_holding_bars=config.min_holding_bars,
            slip_risk_exits=config.slip_risk_exits, trend_bars=config.trend_bars, entries=not config.stand_aside,
        )


class Position(msgspec.Struct):
    trade_id: str
    side: int
    entry_time: int
    entry_price: float
    quantity: float
    entry_fee: float
    bars_held: int
    votes: list[ModelVote]


class Order(msgspec.Struct):
    kind: str          # "open" or "close"
    side: int
    decided_at: int
    reason: str = "signal"
    votes: list[ModelVote] = []


class BookState(msgspec.Struct):
    equity: float                               # realised, quote currency
    positions: dict[str, Position] = {}
    orders: dict[str, Order] = {}
    marks: dict[str, float] = {}                # symbol -> last close seen
    trend: dict[str, float] = {}                # symbol -> its close's EMA over `trend_bars` (the entry gate)


@dataclass
class BookResult:
    opened: list[TradeOpen]
    closed: list[TradeClosed]
    equity: np.ndarray        # marked to market at each tick's close


VotesAt = Callable[[int], list[ModelVote]]


class PaperBroker:
    def __init__(self, rules: BookRules, initial_equity: float, symbols: list[str]):
        self.rules = rules
        self.symbols = list(symbols)
        self.state = BookState(equity=initial_equity)

    # ----- one chunk ----------------------------------------------------------------------------
    def run(self, chunk: BarChunk, ticks: np.ndarray, score: np.ndarray, votes_at: VotesAt | None = None) -> BookResult:
        """Advance the book over a chunk; `ticks` are its distinct bar times, `votes_at(row)` the
        votes kept with a trade opened on a decision at that row (None: keep none)."""
        series = self._series(chunk, ticks, score)
        opening = self.state.equity
        result = BookResult([], [], np.empty(len(ticks)))
        exits: list[tuple[int, float, float]] = []           # (tick index, realised equity after, pnl)
        held: list[tuple[str, int, int, Position]] = []       # (symbol, first tick, end tick, position)
        open_since = {name: 0 for name in self.state.positions}
        visited = {symbol: 0 for symbol in series}            # a symbol's bars before this were visited
        queue: list[tuple[int, int, int]] = []                # (tick index, symbol index, local bar)
        for symbol, bars in series.items():
            self._schedule(queue, symbol, bars, 0)
        while queue:
            tick, symbol, local = heapq.heappop(queue)
            bars, name = series[symbol], self.symbols[symbol]
            before = self.state.positions.get(name)
            if before is not None:
                before.bars_held += local - visited[symbol]   # the bars skipped over held it too
            self._bar(symbol, bars, local, result, exits, votes_at)
            after = self.state.positions.get(name)
            if before is not None and after is not before:
                held.append((name, open_since.pop(name), tick, before))
            if after is not None and after is not before:
                open_since[name] = tick
            visited[symbol] = local + 1
            self._schedule(queue, symbol, bars, local + 1)
        for symbol, bars in series.items():
            position = self.state.positions.get(self.symbols[symbol])
            if position is not None:
                position.bars_held += len(bars.tick) - visited[symbol]
        for name, position in self.state.positions.items():
            held.append((name, open_since.get(name, 0), len(ticks), position))
        result.equity = self._marked(series, len(ticks), opening, exits, held)
        for symbol, bars in series.items():
            self.state.marks[self.symbols[symbol]] = float(bars.close[-1])
        return result

    def _schedule(self, queue: list[tuple[int, int, int]], symbol: int, bars: PaperBroker.Series, start: int) -> None:
        event = self._next_event(symbol, bars, start)
        if event < len(bars.tick):
            heapq.heappush(queue, (int(bars.tick[event]), symbol, event))

    # ----- per symbol ---------------------------------------------------------------------------
    @dataclass
    class Series:
        rows: np.ndarray
        tick: np.ndarray
        time: np.ndarray
        open: np.ndarray
        high: np.ndarray
        low: np.ndarray
        close: np.ndarray
        score: np.ndarray
        long_allowed: np.ndarray   # an entry long may be decided at this bar's close (the trend gate)
        short_allowed: np.ndarray
        entries: np.ndarray        # the local bars where a flat book decides to enter, ascending
        long_exits: np.ndarray     # ... where the score closes a long (held long enough), and a short
        short_exits: np.ndarray

    def _series(self, chunk: BarChunk, ticks: np.ndarray, score: np.ndarray) -> dict[int, PaperBroker.Series]:
        tick_of_row = np.searchsorted(ticks, chunk.open_time)
        rules = self.rules
        found = {}
        for symbol, rows in chunk.rows_by_symbol():
            close, scores = chunk.close[rows], score[rows]
            long_allowed, short_allowed = self._trend_gate(self.symbols[symbol], close)
            entering = (scores >= rules.enter_threshold) & long_allowed & rules.entries
            if rules.allow_short:
                entering |= (scores <= -rules.enter_threshold) & short_allowed & rules.entries
            found[symbol] = PaperBroker.Series(rows, tick_of_row[rows], chunk.open_time[rows], chunk.open[rows],
                                              chunk.high[rows], chunk.low[rows], close, scores,
                                              long_allowed, short_allowed, np.flatnonzero(entering),
                                              np.flatnonzero(scores <= rules.exit_threshold),
                                              np.flatnonzero(scores >= -rules.exit_threshold))
        return found

    def _trend_gate(self, name: str, close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where an entry long / short may be decided: everywhere, or with the trend EMA's state carried."""
        if not self.rules.trend_bars:
            everywhere = np.ones(len(close), bool)
            return everywhere, everywhere
        trend, self.state.trend[name] = ema(close.tolist(), 2.0 / (self.rules.trend_bars + 1),
                                            self.state.trend.get(name))
        return close > trend, close < trend

    def _next_event(self, symbol: int, bars: PaperBroker.Series, start: int) -> int:
        """The first local bar at or after `start` where this symbol's book can change."""
        n = len(bars.tick)
        if start >= n:
            return n
        name = self.symbols[symbol]
        if name in self.state.orders:
            return start
        rules = self.rules
        position = self.state.positions.get(name)
        if position is None:
            return _first_at(bars.entries, start, n)
        if not rules.exits:
            return n
        candidates = [start + rules.max_holding_bars - position.bars_held - 1]
        stop, target = _levels(position, rules)
        if position.side == LONG:
            risk = np.zeros(n - start, bool)
            if rules.stop_loss:
                risk |= bars.low[start:] <= stop
            if rules.take_profit:
                risk |= bars.high[start:] >= target
            exits = bars.long_exits
        else:
            risk = np.zeros(n - start, bool)
            if rules.stop_loss:
                risk |= bars.high[start:] >= stop
            if rules.take_profit:
                risk |= bars.low[start:] <= target
            exits = bars.short_exits
        candidates.append(start + _first(risk))
        held_long_enough = start + max(0, rules.min_holding_bars - position.bars_held - 1)  # from here on
        candidates.append(_first_at(exits, held_long_enough, n))
        return max(start, min(candidates))

    def _bar(self, symbol: int, bars: PaperBroker.Series, local: int, result: BookResult,
             exits: list[tuple[int, float, float]], votes_at: VotesAt | None) -> None:
        """Everything that happens to one symbol on one bar (fill, risk, decision), in that order."""
        state, rules = self.state, self.rules
        name = self.symbols[symbol]
        time, tick = int(bars.time[local]), int(bars.tick[local])
        order = state.orders.pop(name, None)
        if order is not None and order.decided_at < time:
            if order.kind == "close" and name in state.positions:
                closed = self._exit(name, time, float(bars.open[local]), order.reason, slipped=True)
                result.closed.append(closed)
                exits.append((tick, state.equity, closed.pnl))
            elif order.kind == "open" and name not in state.positions:
                result.opened.append(self._enter(name, order.side, time, float(bars.open[local]), order.votes))
        position = state.positions.get(name)
        if position is not None:
            position.bars_held += 1
            price, reason = self._risk_exit(position, bars, local)
            if price is not None:
                closed = self._exit(name, time, price, reason, slipped=rules.slip_risk_exits)
                result.closed.append(closed)
                exits.append((tick, state.equity, closed.pnl))
            elif rules.exits and position.bars_held >= rules.max_holding_bars:
                state.orders[name] = Order("close", position.side, time, reason="max holding time")
        if name in state.orders:
            return
        score = float(bars.score[local])
        position = state.positions.get(name)
        if position is None:
            side = (LONG if score >= rules.enter_threshold and bars.long_allowed[local] else
                    SHORT if rules.allow_short and score <= -rules.enter_threshold and bars.short_allowed[local] else 0)
            if side:
                votes = votes_at(int(bars.rows[local])) if votes_at is not None else []
                state.orders[name] = Order("open", side, time, votes=votes)
        elif rules.exits and position.bars_held >= rules.min_holding_bars and (
                score <= rules.exit_threshold if position.side == LONG else score >= -rules.exit_threshold):
            state.orders[name] = Order("close", position.side, time)

    def _risk_exit(self, position: Position, bars: PaperBroker.Series, local: int) -> tuple[float | None, str]:
        rules = self.rules
        if not rules.exits:
            return None, ""
        stop, target = _levels(position, rules)
        low, high, open_ = float(bars.low[local]), float(bars.high[local]), float(bars.open[local])
        if position.side == LONG:
            if rules.stop_loss and low <= stop:
                return min(stop, open_), "stop-loss"
            if rules.take_profit and high >= target:
                return max(target, open_), "take-profit"
        else:
            if rules.stop_loss and high >= stop:
                return max(stop, open_), "stop-loss"
            if rules.take_profit and low <= target:
                return min(target, open_), "take-profit"
        return None, ""

    def _enter(self, name: str, side: int, time: int, open_: float, votes: list[ModelVote]) -> TradeOpen:
        rules = self.rules
        price = open_ * (1 + rules.slippage) if side == LONG else open_ * (1 - rules.slippage)
        quantity = self.state.equity * rules.position_fraction / price
        fee = price * quantity * rules.fee_rate
        trade_id = f"{name}-{time}"
        self.state.positions[name] = Position(trade_id, side, time, price, quantity, fee, 0, votes)
        return TradeOpen(trade_id=trade_id, symbol=name, side=SIDE_NAMES[side], entry_time=time, entry_price=price,
                         quantity=quantity, votes=votes, ts_event=time)

    def _exit(self, name: str, time: int, price: float, reason: str, *, slipped: bool) -> TradeClosed:
        rules = self.rules
        position = self.state.positions.pop(name)
        long = position.side == LONG
        if slipped:
            price = price * (1 - rules.slippage) if long else price * (1 + rules.slippage)
        quantity = position.quantity
        fees = position.entry_fee + price * quantity * rules.fee_rate
        pnl = (price - position.entry_price) * quantity * position.side - fees
        self.state.equity += pnl
        return TradeClosed(
            trade_id=position.trade_id, symbol=name, side=SIDE_NAMES[position.side], entry_time=position.entry_time,
            entry_price=position.entry_price, exit_time=time, exit_price=price, quantity=quantity, fees=fees, pnl=pnl,
            ret=pnl / (position.entry_price * quantity), exit_reason=reason, votes=position.votes, ts_event=time,
        )

    # ----- marking to market --------------------------------------------------------------------
    def _marked(self, series: dict[int, PaperBroker.Series], ticks: int, opening: float,
                exits: list[tuple[int, float, float]], held: list[tuple[str, int, int, Position]]) -> np.ndarray:
        """Equity at each tick's close: the realised equity then, plus every position open at that
        close marked at its symbol's last close (before the chunk's first bar: the carried mark).
        Computed the same way however the ticks are cut into chunks: the realised equity as it
        stood after each exit, the open positions summed over the symbols in a fixed order."""
        realised = np.full(ticks, np.nan)
        for tick, equity_after, _ in exits:
            realised[tick] = equity_after
        realised = _forward_filled(realised, opening)
        unrealised = np.zeros((len(self.symbols), ticks))
        index = {name: i for i, name in enumerate(self.symbols)}
        marks: dict[str, np.ndarray] = {}
        for symbol, bars in series.items():
            name = self.symbols[symbol]
            mark = np.full(ticks, np.nan)
            mark[bars.tick] = bars.close
            marks[name] = _forward_filled(mark, self.state.marks.get(name, np.nan))
        for name, first, end, position in held:
            mark = marks.get(name)
            if mark is None:
                mark = np.full(ticks, self.state.marks.get(name, np.nan))
            window = mark[first:end]
            window = np.where(np.isnan(window), position.entry_price, window)
            unrealised[index[name], first:end] = _unrealised(position, window)
        return realised + unrealised.sum(axis=0)


def _first(mask: np.ndarray) -> int:
    """Index of the first True, or len(mask)."""
    index = int(np.argmax(mask)) if len(mask) else 0
    return index if len(mask) and mask[index] else len(mask)


def _first_at(ascending: np.ndarray, start: int, n: int) -> int:
    """The first of `ascending` at or after `start`, or n."""
    at = int(np.searchsorted(ascending, start))
    return int(ascending[at]) if at < len(ascending) else n


def _forward_filled(values: np.ndarray, before: float) -> np.ndarray:
    """Each NaN replaced by the last value before it (`before` at the start)."""
    index = np.where(np.isnan(values), -1, np.arange(len(values)))
    np.maximum.accumulate(index, out=index)
    return np.where(index >= 0, values[np.maximum(index, 0)], before)


def _levels(position: Position, rules: BookRules) -> tuple[float, float]:
    if position.side == LONG:
        return position.entry_price * (1 - rules.stop_loss), position.entry_price * (1 + rules.take_profit)
    return position.entry_price * (1 + rules.stop_loss), position.entry_price * (1 - rules.take_profit)


def _unrealised(position: Position, close):
    return (close - position.entry_price) * position.quantity * position.side - position.entry_fee
