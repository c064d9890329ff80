"""Read one session's LMDB recording into what the analytics need.

Consumes an LMDB environment written by the recorder (opened read-only); produces a `Recording`:
the bars per clock tick, the trader's decisions, the closed trades, the weights versions, the gap
ledger, each model's abstentions by reason, and the LLM server's states as mistral_ai saw them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from messages import topics
from messages.codec import Codec
from messages.learning import Weights
from messages.llm import LlmStatus
from messages.market import KlineBatch
from messages.signals import VoteBatch
from messages.system import Gap
from messages.trading import Decision, TradeClosed
from signals import Bar
from storage.store import Store
from storage.stream import StreamReader
from storage.weights import all_weights


@dataclass
class Recording:
    interval_ms: int = 0
    synthetic: bool = False
    bars: dict[int, dict[str, Bar]] = field(default_factory=dict)   # tick -> symbol -> bar
    decisions: list[Decision] = field(default_factory=list)        # by (bar_time, symbol)
    trades: list[TradeClosed] = field(default_factory=list)        # by (exit_time, trade_id)
    weights: list[Weights] = field(default_factory=list)           # by version
    gaps: list[Gap] = field(default_factory=list)
    votes: Counter[str] = field(default_factory=Counter)           # model -> votes cast (not abstentions)
    abstentions: dict[str, Counter[str]] = field(default_factory=dict)  # model -> reason -> count
    llm_states: Counter[str] = field(default_factory=Counter)      # LlmStatus.state -> messages
    llm_errors: list[str] = field(default_factory=list)            # distinct last_error texts
    symbols: list[str] = field(default_factory=list)


def read_recording(path: Path) -> Recording:
    codec = Codec()
    recording = Recording()
    voted: set[tuple[str, str, int]] = set()
    with Store(path, readonly=True) as store:
        reader = StreamReader(store)
        for topic, _, _, _, payload in reader.records():
            message = codec.decode_payload(payload)
            match message:
                case KlineBatch():
                    recording.interval_ms = message.interval_ms
                    recording.synthetic = recording.synthetic or message.synthetic
                    for i, symbol in enumerate(message.symbol):
                        recording.bars.setdefault(message.open_time[i], {})[symbol] = Bar(
                            message.open_time[i], message.open[i], message.high[i], message.low[i],
                            message.close[i], message.volume[i])
                case Decision():
                    recording.decisions.append(message)
                case TradeClosed():
                    recording.trades.append(message)
                case Gap():
                    recording.gaps.append(message)
                case VoteBatch() if topic.startswith(topics.SIGNAL_PREFIX):
                    reasons = recording.abstentions.setdefault(message.model, Counter())
                    for symbol, bar_time, action, reason in zip(message.symbol, message.bar_time, message.action, message.reason):
                        if (message.model, symbol, bar_time) in voted:
                            continue
                        voted.add((message.model, symbol, bar_time))
                        if action is None:
                            reasons[reason_kind(reason)] += 1
                        else:
                            recording.votes[message.model] += 1
                case LlmStatus():
                    recording.llm_states[message.state] += 1
                    if message.last_error and message.last_error not in recording.llm_errors:
                        recording.llm_errors.append(message.last_error)
        recording.weights = all_weights(store)
    recording.decisions = _unique(recording.decisions, lambda d: (d.bar_time, d.symbol))
    recording.trades = _unique(recording.trades, lambda t: (t.exit_time, t.trade_id))
    recording.bars = dict(sorted(recording.bars.items()))
    recording.symbols = sorted({symbol for bars in recording.bars.values() for symbol in bars})
    return recording


def reason_kind(reason: str) -> str:
    """An abstention's reason without its particulars: "warm-up 3/30 bars" -> "warm-up"."""
    return re.split(r"[:\d(]", reason, maxsplit=1)[0].strip() or "unknown"


def _unique(messages, key):
    """Sorted by key; a message re-sent after a restart is recorded twice but counted once."""
    return [found for _, found in sorted({key(message): message for message in messages}.items())]


def trade_row(trade: TradeClosed) -> dict[str, object]:
    """A closed trade in the `export trades` form, which the metrics read."""
    return {"trade_id": trade.trade_id, "symbol": trade.symbol, "side": trade.side, "entry_time": trade.entry_time,
            "entry_price": trade.entry_price, "exit_time": trade.exit_time, "exit_price": trade.exit_price,
            "fees": trade.fees, "pnl": trade.pnl, "return": trade.ret,
            "votes": [{"model": v.model, "action": v.action, "confidence": v.confidence} for v in trade.votes]}
