"""Typed counters: one Struct per kind of actor, reported with every heartbeat.

Each actor holds one of these (`self.counters`), bumps its fields, and the runtime sends it in
every `Heartbeat`; `status`, the monitor, the benchmarks and the tests read the same fields. The
runtime's own counts (messages in and out, malformed frames, seq gaps, duplicates) are fields of
`Heartbeat` itself. Counts by a reason that is only known at run time are dicts keyed by it.
"""

from __future__ import annotations

import msgspec


class Counters(msgspec.Struct, kw_only=True, tag=True, tag_field="kind"):
    """Base of every actor's counters: mutable, tagged by class name."""


class NoCounters(Counters):
    pass


class FeedCounters(Counters):
    bars: int = 0  # replay: bars in the window
    replay_s: float = 0.0  # replay: first send to the last acknowledgement, once complete (s)
    replay_cpu_s: float = 0.0  # replay: this process's CPU over the same span (s)
    peak_rss_mb: float = 0.0  # replay: this process's peak resident memory when complete (MiB)
    ticks_sent: int = 0
    last_bar: int = 0  # ms UTC of the newest bar sent
    resent_frames: int = 0
    resyncs: int = 0
    gaps: dict[str, int] = {}  # gap-ledger entries by kind: source, disconnect, backfilled
    dropped: dict[str, int] = {}  # live frames dropped by reason (not_json, stale, ...)


class RecorderCounters(Counters):
    written: int = 0
    batches: int = 0
    backups: int = 0
    last_clock: int = -1  # ms UTC of the newest clock durably recorded


class VotingCounters(Counters):
    votes: int = 0  # BUY, SELL or HOLD given
    abstentions: int = 0
    unusable_bars: int = 0  # non-finite or non-positive bars, unknown symbols
    checkpoints: int = 0
    restored_upto: int = -1  # after a restart: the bar time the checkpoint reached


class LgbmCounters(VotingCounters):
    trainings: int = 0
    model_version: int = 0
    training_s: float = 0.0  # seconds spent training, in total


class MistralCounters(VotingCounters):
    llm_requests: int = 0
    retried_requests: int = 0  # replay: asked again after the server went away mid-request
    cache_hits: int = 0
    answers: int = 0
    no_vote: dict[str, int] = {}  # abstentions by reason (not_ready, timeout, not_json, ...)


class TraderCounters(Counters):
    ticks: int = 0
    decisions: int = 0
    trades_opened: int = 0
    trades_closed: int = 0
    missing_votes: int = 0  # live: votes that missed the deadline
    weights_version: int = 0
    weight_waits: int = 0  # times a bar waited for its weights version
    equity: float = 0.0  # marked to market, quote currency
    checkpoints: int = 0
    exchange_reports: int = 0  # executor: the exchange's fills (or refusals) of this book's trades taken
    exchange_adjusted: int = 0  # ... of which moved the book (a partial fill, the lot step, a refusal, ...)
    exchange_cash_adjusted: float = 0.0  # ... by this much cash in all (quote currency)
    exchange_foreign_commissions: int = 0  # ... whose commission was in a third asset (BNB): not converted


class ExecutorCounters(Counters):
    orders: int = 0  # placed and answered by the exchange
    filled: int = 0
    refused: dict[str, int] = {}  # by the limit or the exchange's error that refused it
    retries: dict[str, int] = {}  # attempts again, by cause: timeout, 5xx, 429, clock
    found_after_doubt: int = 0  # orders whose answer was lost, found on the exchange by client order id
    reconciled_drift: int = 0  # symbols whose holding differed from the exchange's at a start (the exchange won)
    holdings: dict[str, float] = {}  # symbol -> base asset held on the exchange, by its fills
    stream_reports: int = 0  # executionReports from the user data stream
    stream_unmatched: int = 0  # ... for an order this process did not place or look up (e.g. placed by hand)
    stream_reconnects: int = 0
    stream_malformed: int = 0  # frames of the stream that are not a JSON event
    halted: bool = False
    checkpoints: int = 0


class LearnerCounters(Counters):
    checkpoints: int = 0
    version: int = 0
    updates: int = 0
    ticks: int = 0
    rollbacks: int = 0


class LlmSupervisorCounters(Counters):
    restarts: int = 0
    probes: int = 0
    failed_probes: int = 0
    busy_probes: int = 0  # unanswered while the server worked (an answer in flight): not a hang
    failed_starts: int = 0  # starts that did not come up (counted against the budget)
    start_to_ready_ms: int = 0
    states: dict[str, int] = {}  # llm.status messages by state


class CustomCounters(Counters):
    """For an actor outside Peper's own kinds (a user's, a test's): counts by name."""

    counts: dict[str, int] = {}


class PulseCounters(Counters):
    sent: int = 0


class SinkCounters(Counters):
    pulses: int = 0
    out_of_order: int = 0
    ends: int = 0


ActorCounters = (
    NoCounters
    | FeedCounters
    | RecorderCounters
    | VotingCounters
    | LgbmCounters
    | MistralCounters
    | TraderCounters
    | ExecutorCounters
    | LearnerCounters
    | LlmSupervisorCounters
    | CustomCounters
    | PulseCounters
    | SinkCounters
)


def bump(counts: dict[str, int], key: str, by: int = 1) -> int:
    """Add to a by-reason count; return the new value (callers rate-limit their logs on it)."""
    counts[key] = value = counts.get(key, 0) + by
    return value
