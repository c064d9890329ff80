"""What the monitor knows: the latest of everything, folded from a snapshot and then bus updates.

Consumes the daemon's `StatusReply` (every refresh), the recording's snapshot (weights history,
closed trades, gaps — read-only from LMDB when attaching) and decoded bus messages (among them
each expert's shadow-book equity from `rl.credit`); produces plain fields the view draws: among
them each symbol's last bar and its age (live: since the bar closed; replay: since it arrived),
late when live and older than a bar plus the feed's tick deadline, and the PnL of the current
bar's UTC day. Updates older than the snapshot (a weights version or a trade it already holds)
are dropped, so attaching mid-run neither loses nor double-counts anything.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from analytics.performance import max_drawdown, win_rate
from common.times import DAY_MS
from messages.control import StatusReply
from messages.learning import Credit, Weights
from messages.llm import LlmStatus
from messages.market import Clock, KlineBatch
from messages.signals import VoteBatch
from messages.system import Gap
from messages.trading import TradeClosed, TradeOpen

WEIGHT_HISTORY = 60  # versions kept for each sparkline


@dataclass
class Rates:
    """msgs/s from two successive counter readings."""

    last: dict[str, tuple[float, int, int]] = field(default_factory=dict)  # actor -> (time, in, out)
    rates: dict[str, tuple[float, float]] = field(default_factory=dict)

    def update(self, name: str, now: float, msgs_in: int, msgs_out: int) -> None:
        previous = self.last.get(name)
        if previous and now > previous[0] and msgs_in >= previous[1]:
            elapsed = now - previous[0]
            self.rates[name] = ((msgs_in - previous[1]) / elapsed, (msgs_out - previous[2]) / elapsed)
        self.last[name] = (now, msgs_in, msgs_out)


@dataclass
class MonitorState:
    mode: str = "replay"
    initial_equity: float = 10_000.0
    status: StatusReply | None = None
    daemon_note: str = ""  # "reconnecting ...", "daemon restarted ..."
    snapshot_seq: int = 0  # the recorder's batch number the snapshot was read at
    rates: Rates = field(default_factory=Rates)
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)  # symbol -> (first, last) close
    last_bars: dict[str, tuple[int, float]] = field(default_factory=dict)  # symbol -> (open time ms, wall s received)
    interval_s: float = 60.0
    tick_deadline_s: float = 5.0
    bar_time: int | None = None
    speed: float = 0.0  # market time per wall time (x real time)
    _clock_seen: tuple[float, int] | None = None
    synthetic: bool = False
    votes: dict[str, dict[str, tuple[str | None, float, str]]] = field(default_factory=dict)  # model -> symbol -> vote
    weights: dict[int, dict[str, float]] = field(default_factory=dict)  # version -> weights (recent)
    shadow_equity: dict[str, float] = field(default_factory=dict)  # expert -> its shadow book's equity (USDT)
    open_positions: dict[str, TradeOpen] = field(default_factory=dict)  # symbol -> open trade
    closed: dict[str, TradeClosed] = field(default_factory=dict)  # trade id -> trade
    llm: LlmStatus | None = None
    gaps: deque[Gap] = field(default_factory=lambda: deque(maxlen=5))
    lmdb_bytes: int = 0
    last_backup: float | None = None  # wall clock of the newest backup
    received: int = 0
    dropped: int = 0  # bus messages the monitor missed (seq gaps): never the topology's
    _seqs: dict[tuple[str, str], int] = field(default_factory=dict)
    equity_path: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))  # the trader's marked equity

    # ----- inputs -------------------------------------------------------------------------
    def on_status(self, reply: StatusReply, now: float) -> None:
        if self.status is not None and reply.daemon_pid != self.status.daemon_pid:
            self.daemon_note = f"daemon restarted (pid {self.status.daemon_pid} -> {reply.daemon_pid}); reattached"
        elif self.daemon_note.startswith("reconnecting"):
            self.daemon_note = "reconnected"
        self.status = reply
        for actor in reply.actors:
            self.rates.update(actor.name, now, actor.msgs_in, actor.msgs_out)
            equity = getattr(actor.counters, "equity", 0.0) if actor.name == "trader" else 0.0
            if equity > 0:
                self.equity_path.append(equity)

    def on_unreachable(self, error: str) -> None:
        self.daemon_note = f"reconnecting: daemon unreachable ({error})"

    def on_snapshot(self, weights: list[Weights], trades: list[TradeClosed], gaps: list[Gap], seq: int) -> None:
        self.snapshot_seq = seq
        for version in weights[-WEIGHT_HISTORY:]:
            self.weights[version.version] = dict(version.weights)
        for trade in trades:
            self.closed[trade.trade_id] = trade
        self.gaps.extend(gaps[-5:])

    def on_message(self, topic: str, message: object, now: float | None = None) -> None:
        self.received += 1
        key = (getattr(message, "src", ""), topic)
        seq = getattr(message, "seq", 0)
        expected = self._seqs.get(key)
        if expected is not None and seq > expected + 1:
            self.dropped += seq - expected - 1
        self._seqs[key] = max(seq, expected or 0)
        match message:
            case KlineBatch():
                self.synthetic = message.synthetic
                received = time.time()
                for symbol, close, open_time in zip(message.symbol, message.close.tolist(), message.open_time.tolist()):
                    first = self.prices.get(symbol, (close, close))[0]
                    self.prices[symbol] = (first, close)
                    self.last_bars[symbol] = (open_time, received)
            case Clock():
                self._on_clock(message.bar_time, time.monotonic() if now is None else now)
            case VoteBatch():
                latest = self.votes.setdefault(message.model, {})
                for symbol, action, confidence, reason in zip(
                    message.symbol, message.action, message.confidence.tolist(), message.reason
                ):
                    latest[symbol] = (action, confidence, reason)
            case Weights():
                if message.version not in self.weights:
                    self.weights[message.version] = dict(message.weights)
                    for old in sorted(self.weights)[:-WEIGHT_HISTORY]:
                        del self.weights[old]
            case Credit():
                self.shadow_equity.update(zip(message.experts, message.equity))
            case TradeOpen():
                self.open_positions.setdefault(message.symbol, message)  # the position's first lot
            case TradeClosed():
                self.closed.setdefault(message.trade_id, message)
                if message.remaining == 0:  # the symbol's position is flat now
                    self.open_positions.pop(message.symbol, None)
            case LlmStatus():
                self.llm = message
            case Gap():
                self.gaps.append(message)

    def _on_clock(self, bar_time: int, now: float) -> None:
        if self._clock_seen is not None and now - self._clock_seen[0] >= 1.0:
            seen_at, seen_bar = self._clock_seen
            self.speed = (bar_time - seen_bar) / 1000 / (now - seen_at)
            self._clock_seen = (now, bar_time)
        elif self._clock_seen is None:
            self._clock_seen = (now, bar_time)
        self.bar_time = bar_time

    # ----- derived ------------------------------------------------------------------------
    def bar_age(self, symbol: str, now: float | None = None) -> tuple[float | None, bool]:
        """(age of the symbol's last bar in s, late?): live, since the bar closed — late past one bar
        plus the tick deadline; replay, since it arrived — never late."""
        if symbol not in self.last_bars:
            return None, False
        open_time, received = self.last_bars[symbol]
        now = time.time() if now is None else now
        if self.mode != "live":
            return max(0.0, now - received), False
        age = max(0.0, now - (open_time / 1000 + self.interval_s))
        return age, age > self.interval_s + self.tick_deadline_s

    def day_pnl(self) -> float:
        """PnL of the trades closed on the current bar's UTC day (quote currency)."""
        if self.bar_time is None:
            return 0.0
        day = self.bar_time // DAY_MS
        return sum(trade.pnl for trade in self.closed.values() if trade.exit_time // DAY_MS == day)

    def trading_figures(self) -> dict[str, float | int | None]:
        """The paper book by `analytics.performance`'s definitions: round trips closed and their win
        rate, realised PnL, and from the trader's marked equity its ROI and max drawdown so far."""
        pnls = [trade.pnl for trade in self.closed.values()]
        equity = self.equity_path[-1] if self.equity_path else self.initial_equity
        return {
            "trades": len(pnls),
            "win_rate": win_rate(pnls),
            "realised_pnl": sum(pnls),
            "roi": equity / self.initial_equity - 1,
            "max_drawdown": max_drawdown(np.array([self.initial_equity, *self.equity_path])),
        }

    def weight_series(self) -> dict[str, list[float]]:
        versions = sorted(self.weights)
        models = sorted({m for w in self.weights.values() for m in w})
        return {m: [self.weights[v].get(m, 0.0) for v in versions] for m in models}
