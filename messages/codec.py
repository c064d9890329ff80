"""One ZeroMQ frame per bus message: `topic + b" " + msgpack(message)`.

One frame rather than a multipart message halves the per-message cost in pyzmq (DESIGN.md §9),
and SUB prefix matching still works on the topic at the front. `decode_frame` checks the topic
is known and carries the message type its family allows; anything else raises `MalformedFrame`
with the reason, which the runtime counts and drops. Recordings may also hold message types that
are no longer published (schema version 1's per-row `Decision`, version 2's list-based kline and
vote batches): `decode_payload` reads those too.
"""

from __future__ import annotations

import msgspec

from messages.errors import MalformedFrame
from messages.execution import ExecutionCommand, ExecutionState, OrderReport
from messages.learning import Credit, Weights, WeightsCommand
from messages.legacy import KlineBatchV2, VoteBatchV2
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
from messages.topics import MESSAGE_TYPE_BY_FAMILY, family
from messages.trading import Decision, DecisionBatch, TradeClosed, TradeOpen

BusMessage = (
    KlineBatch
    | Clock
    | VoteBatch
    | DecisionBatch
    | TradeOpen
    | TradeClosed
    | OrderReport
    | ExecutionCommand
    | ExecutionState
    | Weights
    | WeightsCommand
    | Credit
    | LlmStatus
    | Lifecycle
    | Gap
    | ErrorEvent
    | StreamEnd
    | Resync
    | Ack
    | Hello
    | Pulse
)
RecordedMessage = BusMessage | Decision | KlineBatchV2 | VoteBatchV2  # what a recording may hold, since version 1
SEPARATOR = b" "


class Codec:
    """Encoder and decoder built once per process (msgspec's fast path)."""

    def __init__(self) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(BusMessage)
        self._recorded = msgspec.msgpack.Decoder(RecordedMessage)

    def encode(self, topic: str, message: BusMessage) -> bytes:
        return topic.encode() + SEPARATOR + self._encoder.encode(message)

    def decode(self, frame: bytes) -> tuple[str, BusMessage]:
        topic_bytes, separator, payload = frame.partition(SEPARATOR)
        if not separator:
            raise MalformedFrame(f"no topic separator in a {len(frame)}-byte frame")
        try:
            topic = topic_bytes.decode()
        except UnicodeDecodeError as exc:
            raise MalformedFrame(f"topic is not UTF-8: {topic_bytes[:40]!r}") from exc
        topic_family = family(topic)
        if topic_family is None:
            raise MalformedFrame(f"unknown topic {topic[:60]!r}")
        try:
            message = self._decoder.decode(payload)
        except msgspec.DecodeError as exc:
            raise MalformedFrame(f"undecodable payload on {topic!r}: {exc}") from exc
        expected = MESSAGE_TYPE_BY_FAMILY[topic_family]
        if type(message) is not expected:
            raise MalformedFrame(f"{type(message).__name__} on {topic!r}, which carries {expected.__name__}")
        return topic, message

    def decode_payload(self, payload: bytes) -> RecordedMessage:
        """Decode the msgpack part alone (recordings store it apart from the topic); old types included."""
        return self._recorded.decode(payload)
