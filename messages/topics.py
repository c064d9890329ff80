"""Every topic string of the bus, built here and nowhere else.

SUB sockets match by prefix, so `family()` maps a topic to its family (`sig.trading_ai` ->
`sig.`) and `MESSAGE_TYPE_BY_FAMILY` says which message type each family may carry; a frame
whose topic or type does not fit is malformed.
"""

from __future__ import annotations

from messages.execution import ExecutionCommand, ExecutionState, OrderReport
from messages.learning import Credit, Weights, WeightsCommand
from messages.llm import LlmStatus
from messages.market import Clock, KlineBatch
from messages.signals import VoteBatch
from messages.system import (
    Ack,
    ErrorEvent,
    Gap,
    Hello,
    Lifecycle,
    Pulse,
    Resync,
    StreamEnd,
)
from messages.trading import DecisionBatch, TradeClosed, TradeOpen

KLINE = "md.kline"
BAR = "md.bar"  # the decision bars a chunk of md.kline completes (marketdata.aggregate)
CLOCK = "clock"
DECISION = "decision"
TRADE_OPEN = "trade.open"
TRADE_CLOSED = "trade.closed"
ORDER_REPORT = "order.report"  # the executor's orders on the exchange
EXECUTION_COMMAND = "exec.command"  # supervisor halt -> executor
EXECUTION_STATE = "exec.state"  # executor: halted or not
WEIGHTS = "rl.weights"
WEIGHTS_COMMAND = "rl.command"
CREDIT = "rl.credit"
LLM_STATUS = "llm.status"
LIFECYCLE = "sys.lifecycle"
GAP = "sys.gap"
ERROR = "sys.error"
STREAM_END = "sys.end"
RESYNC = "sys.resync"
FEED_TOPICS = (KLINE, BAR, CLOCK, GAP, STREAM_END)
PULSE = "bench.pulse"

SIGNAL_PREFIX = "sig."
ACK_PREFIX = "ack."
HELLO_PREFIX = "_hello."


# Data topics: a replay's deterministic stream — what a restarted publisher repeats seq for seq, what
# a restarted consumer has re-sent, what two replays of the same data must record identically.
DATA_TOPICS = frozenset({*FEED_TOPICS, DECISION, TRADE_OPEN, TRADE_CLOSED, ORDER_REPORT, WEIGHTS, CREDIT})


def is_data(topic: str) -> bool:
    return topic in DATA_TOPICS or topic.startswith(SIGNAL_PREFIX)


def signal(model: str) -> str:
    return SIGNAL_PREFIX + model


def ack(actor: str) -> str:
    return ACK_PREFIX + actor


def hello(actor: str) -> str:
    return HELLO_PREFIX + actor


MESSAGE_TYPE_BY_FAMILY: dict[str, type] = {
    KLINE: KlineBatch,
    BAR: KlineBatch,
    CLOCK: Clock,
    DECISION: DecisionBatch,
    TRADE_OPEN: TradeOpen,
    TRADE_CLOSED: TradeClosed,
    ORDER_REPORT: OrderReport,
    EXECUTION_COMMAND: ExecutionCommand,
    EXECUTION_STATE: ExecutionState,
    WEIGHTS: Weights,
    WEIGHTS_COMMAND: WeightsCommand,
    CREDIT: Credit,
    LLM_STATUS: LlmStatus,
    LIFECYCLE: Lifecycle,
    GAP: Gap,
    ERROR: ErrorEvent,
    STREAM_END: StreamEnd,
    RESYNC: Resync,
    PULSE: Pulse,
    SIGNAL_PREFIX: VoteBatch,
    ACK_PREFIX: Ack,
    HELLO_PREFIX: Hello,
}
_PREFIX_FAMILIES = (SIGNAL_PREFIX, ACK_PREFIX, HELLO_PREFIX)


def family(topic: str) -> str | None:
    """The family a topic belongs to, or None for a topic Peper does not know."""
    if topic in MESSAGE_TYPE_BY_FAMILY and topic not in _PREFIX_FAMILIES:
        return topic
    for prefix in _PREFIX_FAMILIES:
        if topic.startswith(prefix) and len(topic) > len(prefix):
            return prefix
    return None
