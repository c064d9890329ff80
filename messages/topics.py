"""Every topic string of the bus, built here and nowhere else.

SUB sockets match by prefix, so `family()` maps a topic to its family (`sig.trading_ai` ->
`sig.`) and `MESSAGE_TYPE_BY_FAMILY` says which message type each family may carry; a frame
whose topic or type does not fit is malformed.
"""

from __future__ import annotations

from messages.learning import Weights, WeightsCommand
from messages.llm import LlmStatus
from messages.market import Clock, KlineBatch
from messages.signals import VoteBatch
from messages.system import Ack, ErrorEvent, Gap, Hello, Lifecycle, Pulse, Resync, StreamEnd
from messages.trading import Decision, TradeClosed, TradeOpen

KLINE = "md.kline"
CLOCK = "clock"
DECISION = "decision"
TRADE_OPEN = "trade.open"
TRADE_CLOSED = "trade.closed"
WEIGHTS = "rl.weights"
WEIGHTS_COMMAND = "rl.command"
LLM_STATUS = "llm.status"
LIFECYCLE = "sys.lifecycle"
GAP = "sys.gap"
ERROR = "sys.error"
STREAM_END = "sys.end"
RESYNC = "sys.resync"
FEED_TOPICS = (KLINE, CLOCK, GAP, STREAM_END)  # what a resync re-sends
PULSE = "bench.pulse"

SIGNAL_PREFIX = "sig."
ACK_PREFIX = "ack."
HELLO_PREFIX = "_hello."
SYSTEM_PREFIX = "sys."


def signal(model: str) -> str:
    return SIGNAL_PREFIX + model


def ack(actor: str) -> str:
    return ACK_PREFIX + actor


def hello(actor: str) -> str:
    return HELLO_PREFIX + actor


MESSAGE_TYPE_BY_FAMILY: dict[str, type] = {
    KLINE: KlineBatch,
    CLOCK: Clock,
    DECISION: Decision,
    TRADE_OPEN: TradeOpen,
    TRADE_CLOSED: TradeClosed,
    WEIGHTS: Weights,
    WEIGHTS_COMMAND: WeightsCommand,
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
