"""Read a recording into what the analytics need, in today's message shapes.

Consumes an LMDB environment written by the recorder (opened read-only; an older schema version is
read through `storage.schema`); produces a `Recording`: the kline batches, the decision-bar batches
and every model's vote batches in order (from which `chunks()` rebuilds exactly the chunks the
trader decided — a recording before schema 4 has no decision bars: they are aggregated again from
its klines, and its votes, cast on feed bars, are left out), the bars per tick, the trader's decisions, the closed trades, each expert's credit, the weights versions,
the gap ledger, each model's votes and abstentions by reason, and the LLM server's states as
mistral_ai saw them. A frame re-sent after a restart is recorded once (same key), and counted once.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from marketdata.aggregate import DecisionTable
from marketdata.chunk import Universe
from marketdata.table import KlineTable
from messages import topics
from messages.codec import Codec
from messages.learning import Credit, Weights
from messages.llm import LlmStatus
from messages.market import KlineBatch
from messages.signals import VoteBatch
from messages.system import Gap
from messages.trading import DecisionBatch, ModelVote, TradeClosed
from storage.schema import current
from storage.store import Store
from storage.stream import StreamReader
from storage.weights import all_weights

KLINE_COLUMNS = ("open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base")
from trading.assembly import ChunkAssembler, VotedChunk


@dataclass
class Recording:
    interval_ms: int = 0
    synthetic: bool = False
    klines: list[KlineBatch] = field(default_factory=list)  # in feed order
    decision_bars: list[KlineBatch] = field(default_factory=list)  # md.bar, in feed order
    vote_batches: dict[str, list[VoteBatch]] = field(default_factory=dict)  # model -> in order
    decisions: list[DecisionBatch] = field(default_factory=list)  # in time order
    trades: list[TradeClosed] = field(default_factory=list)  # by (exit_time, trade_id)
    credits: list[Credit] = field(default_factory=list)
    weights: list[Weights] = field(default_factory=list)  # the store's, by version
    published: list[Weights] = field(default_factory=list)  # this recording's rl.weights, by version
    gaps: list[Gap] = field(default_factory=list)
    votes: Counter[str] = field(default_factory=Counter)  # model -> votes cast (not abstentions)
    abstentions: dict[str, Counter[str]] = field(default_factory=dict)  # model -> reason -> count
    llm_states: Counter[str] = field(default_factory=Counter)  # LlmStatus.state -> messages
    llm_errors: list[str] = field(default_factory=list)  # distinct last_error texts
    symbols: list[str] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        return sorted(self.vote_batches)

    def ticks(self) -> np.ndarray:
        return np.unique(np.concatenate([b.open_time for b in self.klines])) if self.klines else np.empty(0, np.int64)

    def chunks(self, models: list[str], symbols: list[str], decision_ms: int) -> list[VotedChunk]:
        """The chunks as the trader saw them: each kline batch with its decision bars and every model's
        votes on them (`decision_ms` aggregates them again for a recording that has none)."""
        assembler = ChunkAssembler(models, Universe(symbols))
        bars = {batch.ts_event: batch for batch in self.decision_bars} or self._aggregated(decision_ms)
        cursors = {model: iter(self.vote_batches.get(model, []) if self.decision_bars else []) for model in models}
        waiting = {model: next(cursors[model], None) for model in models}
        found = []
        for batch in self.klines:
            assembler.add_bars(batch)
            assembler.add_decision_bars(bars.get(batch.ts_event) or _empty_like(batch, decision_ms))
            for model in models:
                while waiting[model] is not None and waiting[model].ts_event <= batch.ts_event:
                    assembler.add_votes(waiting[model])
                    waiting[model] = next(cursors[model], None)
            voted = assembler.take(force=True)
            if voted is not None:
                found.append(voted)
        return found

    def _aggregated(self, decision_ms: int) -> dict[int, KlineBatch]:
        """Decision bars of a recording before schema 4, aggregated from its klines, by chunk."""
        if not self.klines:
            return {}
        symbols = sorted({name for batch in self.klines for name in batch.symbols})
        per_symbol: dict[str, tuple[list, dict[str, list]]] = {}
        for batch in self.klines:
            for name, time, *values in zip(
                batch.symbol, batch.open_time.tolist(), *(getattr(batch, c).tolist() for c in KLINE_COLUMNS)
            ):
                times, columns = per_symbol.setdefault(name, ([], {c: [] for c in KLINE_COLUMNS}))
                times.append(time)
                for column, value in zip(KLINE_COLUMNS, values):
                    columns[column].append(value)
        table = KlineTable.merge(
            {
                name: (np.array(times), {c: np.array(v, np.float64) for c, v in columns.items()})
                for name, (times, columns) in per_symbol.items()
            },
            self.interval_ms,
        )
        tick_time = np.unique(table.open_time)
        aggregated = DecisionTable.of(table.select(symbols), tick_time, decision_ms)
        found = {}
        for batch in self.klines:
            first, last = np.searchsorted(tick_time, [batch.open_time[0], batch.open_time[-1]])
            found[batch.ts_event] = aggregated.batch(int(first), int(last) + 1, batch.ts_event)
        return found


def read_recording(path: Path) -> Recording:
    codec = Codec()
    recording = Recording()
    with Store(path, readonly=True) as store:
        for topic, _, _, _, payload in StreamReader(store).records():
            message = current(codec.decode_payload(payload))
            match message:
                case KlineBatch() if topic == topics.BAR:
                    recording.decision_bars.append(message)
                case KlineBatch():
                    recording.interval_ms = message.interval_ms
                    recording.synthetic = recording.synthetic or message.synthetic
                    recording.klines.append(message)
                case DecisionBatch():
                    recording.decisions.append(message)
                case TradeClosed():
                    recording.trades.append(message)
                case Credit():
                    recording.credits.append(message)
                case Weights():
                    recording.published.append(message)
                case Gap():
                    recording.gaps.append(message)
                case VoteBatch() if topic.startswith(topics.SIGNAL_PREFIX):
                    recording.vote_batches.setdefault(message.model, []).append(message)
                case LlmStatus():
                    recording.llm_states[message.state] += 1
                    if message.last_error and message.last_error not in recording.llm_errors:
                        recording.llm_errors.append(message.last_error)
        recording.weights = all_weights(store)
    recording.klines = _unique(recording.klines, lambda b: (int(b.open_time[0]), int(b.open_time[-1])))
    recording.decision_bars = _unique(recording.decision_bars, lambda b: b.ts_event)
    recording.decisions = _unique(recording.decisions, lambda d: (d.bar_time[0], d.bar_time[-1], d.symbol[0]))
    recording.trades = _unique(recording.trades, lambda t: (t.exit_time, t.trade_id))
    recording.credits = _unique(recording.credits, lambda c: c.bar_time[0])
    recording.published = _unique(recording.published, lambda w: w.version)
    for model, batches in recording.vote_batches.items():
        recording.vote_batches[model] = _unique(
            batches, lambda b: (int(b.bar_time[0]), b.symbols[b.symbol_index[0]], int(b.bar_time[-1]))
        )
        _count_votes(recording, model)
    recording.symbols = sorted(
        {batch.symbols[i] for batch in recording.klines for i in np.unique(batch.symbol_index).tolist()}
    )
    return recording


def _count_votes(recording: Recording, model: str) -> None:
    reasons = recording.abstentions.setdefault(model, Counter())
    for batch in recording.vote_batches[model]:
        for action, reason in zip(batch.action, batch.reason):
            if action is None:
                reasons[reason_kind(reason)] += 1
            else:
                recording.votes[model] += 1


def reason_kind(reason: str) -> str:
    """An abstention's reason without its particulars: "timeout: no answer within 60 s" -> "timeout"."""
    return re.split(r"[:\d(]", reason, maxsplit=1)[0].strip() or "unknown"


def _unique(messages, key):
    """Sorted by key; a message re-sent after a restart is recorded twice but counted once."""
    return [found for _, found in sorted({key(message): message for message in messages}.items())]


def votes_of(votes: list[ModelVote]) -> list[dict[str, object]]:
    return [{"model": v.model, "action": v.action, "confidence": v.confidence} for v in votes]


def trade_row(trade: TradeClosed) -> dict[str, object]:
    """A closed trade in the `export trades` form, which the metrics read."""
    return {
        "trade_id": trade.trade_id,
        "symbol": trade.symbol,
        "side": trade.side,
        "entry_time": trade.entry_time,
        "entry_price": trade.entry_price,
        "exit_time": trade.exit_time,
        "exit_price": trade.exit_price,
        "fees": trade.fees,
        "pnl": trade.pnl,
        "return": trade.ret,
        "votes": votes_of(trade.votes),
    }


def decision_row(batch: DecisionBatch, row: int) -> dict[str, object]:
    """One decision in the `export decisions` form (`target` only where the recording has it)."""
    found = {
        "symbol": batch.symbol[row],
        "bar_time": batch.bar_time[row],
        "weights_version": batch.weights_version[row],
        "score": batch.score[row],
        "action": batch.action[row],
        "votes": votes_of(batch.votes(row)),
    }
    if batch.target:
        found["target"] = batch.target[row]
    return found


def _empty_like(batch: KlineBatch, decision_ms: int) -> KlineBatch:
    return KlineBatch.of(interval_ms=decision_ms, symbol=[], open_time=[], ts_event=batch.ts_event)


def recorded_messages(db: Path, topic: str) -> list:
    """Every message recorded on `topic` (a prefix such as `sig.` works too), in today's shapes."""
    codec = Codec()
    with Store(db, readonly=True) as store:
        reader = StreamReader(store)
        names = (
            [topic]
            if not topic.endswith(".")
            else sorted(
                name
                for kind, name in ((k[:1], v) for k, v in reader.names.names.items())
                if kind == b"T" and name.startswith(topic)
            )
        )
        return [current(codec.decode_payload(payload)) for name in names for *_, payload in reader.records(name)]
