"""One frame per message: round trips exactly; anything else is MalformedFrame with the reason."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages import topics
from messages.codec import Codec
from messages.errors import MalformedFrame
from messages.learning import Credit
from messages.legacy import KlineBatchV2, VoteBatchV2
from messages.market import Clock, KlineBatch
from messages.signals import VoteBatch
from messages.system import Ack, Pulse
from messages.trading import Decision, DecisionBatch, ModelVote
from storage.schema import current

codec = Codec()


def test_a_kline_batch_round_trips_through_one_frame():
    batch = KlineBatch.of(
        interval_ms=60_000,
        symbol=["BTCUSDT", "ETHUSDT"],
        open_time=[0, 0],
        open=[1.0, 2.0],
        high=[1.5, 2.5],
        low=[0.5, 1.5],
        close=[1.2, 2.2],
        volume=[10.0, 20.0],
        quote_volume=[math.nan] * 2,
        trades=[math.nan] * 2,
        taker_buy_base=[math.nan] * 2,
        seq=7,
        src="market_feed",
        ts_event=60_000,
    )
    frame = codec.encode(topics.KLINE, batch)
    assert frame.startswith(b"md.kline ")
    topic, decoded = codec.decode(frame)
    assert topic == topics.KLINE and decoded == batch
    assert decoded.symbol == ["BTCUSDT", "ETHUSDT"] and decoded.close.tolist() == [1.2, 2.2] and decoded.seq == 7
    assert decoded.open_time.dtype == np.int64 and all(math.isnan(value) for value in decoded.trades)


def test_prefix_families_carry_their_own_type():
    votes = VoteBatch.of(
        model="trading_ai",
        version="1",
        symbol=["BTCUSDT", "ETHUSDT", "BTCUSDT"],
        bar_time=[0, 0, 60_000],
        action=[None, "SELL", "BUY"],
        confidence=[0.0, 0.25, 1.0],
        reason=["warm-up", "score below lower third", "warm-up"],
    )
    decoded = codec.decode(codec.encode(topics.signal("trading_ai"), votes))[1]
    assert decoded == votes
    assert decoded.action == [None, "SELL", "BUY"] and decoded.action_code.tolist() == [2, -1, 1]
    assert decoded.reason == ["warm-up", "score below lower third", "warm-up"] and decoded.reasons == decoded.reason[:2]
    assert decoded.symbol == ["BTCUSDT", "ETHUSDT", "BTCUSDT"] and decoded.bar_time.tolist() == [0, 0, 60_000]
    assert codec.decode(codec.encode(topics.ack("recorder"), Ack(upto=5)))[1] == Ack(upto=5)


def _with(message, **raw) -> bytes:
    """The frame of `message` with some of its wire fields replaced."""
    fields = msgspec.msgpack.decode(msgspec.msgpack.encode(message))
    return b"md.kline " + msgspec.msgpack.encode(fields | raw)


@pytest.mark.parametrize(
    ("replaced", "reason"),
    [
        ({"close": b"\x00" * 15}, "column 'close' holds 15 bytes, not 2 rows of 8"),
        ({"open_time": b"\x00" * 8}, "column 'open_time' holds 8 bytes, not 2 rows of 8"),
        ({"symbols": ["BTCUSDT"]}, "column 'symbol' refers past its 1 distinct values"),
        ({"close": [1.2, 2.2]}, "Expected `bytes`, got `array`"),
    ],
)
def test_a_kline_batch_whose_columns_disagree_is_malformed_with_the_column_named(replaced, reason):
    batch = KlineBatch.of(interval_ms=60_000, symbol=["BTCUSDT", "ETHUSDT"], open_time=[0, 0], close=[1.2, 2.2])
    with pytest.raises(MalformedFrame, match=reason):
        codec.decode(_with(batch, **replaced))


@pytest.mark.parametrize("rows", [2, 127, 128, 1000])  # a code column under and over the small-batch path
def test_a_symbol_code_past_the_distinct_symbols_is_malformed_at_any_size(rows):
    batch = KlineBatch.of(interval_ms=60_000, symbol=["BTCUSDT"] * (rows - 1) + ["ETHUSDT"], open_time=[0] * rows)
    assert codec.decode(_with(batch))[1] == batch
    with pytest.raises(MalformedFrame, match="column 'symbol' refers past its 1 distinct values"):
        codec.decode(_with(batch, symbols=["BTCUSDT"]))


def test_a_vote_batch_with_an_unknown_action_code_is_malformed():
    votes = VoteBatch.of(
        model="lava_ai",
        version="1",
        symbol=["BTCUSDT"],
        bar_time=[0],
        action=["BUY"],
        confidence=[1.0],
        reason=["band"],
    )
    fields = msgspec.msgpack.decode(msgspec.msgpack.encode(votes)) | {"action": b"\x07"}
    with pytest.raises(MalformedFrame, match="an action code outside -1..2"):
        codec.decode(b"sig.lava_ai " + msgspec.msgpack.encode(fields))


def test_schema_version_2_list_batches_still_read_and_become_todays_columns():
    old_klines = KlineBatchV2(
        interval_ms=60_000,
        symbol=["BTCUSDT"],
        open_time=[0],
        open=[1.0],
        high=[1.5],
        low=[0.5],
        close=[1.2],
        volume=[3.0],
        quote_volume=[4.0],
        trades=[5.0],
        taker_buy_base=[6.0],
        seq=3,
    )
    old_votes = VoteBatchV2(
        model="lava_ai",
        version="2",
        symbol=["BTCUSDT"],
        bar_time=[0],
        action=[None],
        confidence=[0.0],
        reason=["warm-up"],
        seq=4,
        src="lava_ai",
    )
    klines = current(codec.decode_payload(msgspec.msgpack.encode(old_klines)))
    votes = current(codec.decode_payload(msgspec.msgpack.encode(old_votes)))
    assert klines == KlineBatch.of(
        interval_ms=60_000,
        symbol=["BTCUSDT"],
        open_time=[0],
        open=[1.0],
        high=[1.5],
        low=[0.5],
        close=[1.2],
        volume=[3.0],
        quote_volume=[4.0],
        trades=[5.0],
        taker_buy_base=[6.0],
        seq=3,
    )
    assert votes == VoteBatch.of(
        model="lava_ai",
        version="2",
        symbol=["BTCUSDT"],
        bar_time=[0],
        action=[None],
        confidence=[0.0],
        reason=["warm-up"],
        seq=4,
        src="lava_ai",
    )


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"clock", "no topic separator in a 5-byte frame"),
        (b"\xff\xfe \x90", "topic is not UTF-8"),
        (b"weather.report \x90", "unknown topic 'weather.report'"),
        (b"sig. \x90", "unknown topic 'sig.'"),
        (b"clock \xc1", "undecodable payload on 'clock'"),
        (codec.encode(topics.CLOCK, Pulse(payload=b"")), "Pulse on 'clock', which carries Clock"),
    ],
)
def test_malformed_frames_raise_with_the_reason(frame, reason):
    with pytest.raises(MalformedFrame, match=reason):
        codec.decode(frame)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_anything_but_malformed_frame(frame):
    try:
        topic, message = codec.decode(frame)
    except MalformedFrame:
        return
    assert topics.family(topic) is not None
    assert type(message) is topics.MESSAGE_TYPE_BY_FAMILY[topics.family(topic)]


@given(st.integers(min_value=0, max_value=2**62), st.text(max_size=20))
def test_clock_round_trips_any_time_and_source(bar_time, src):
    clock = Clock(bar_time=bar_time, src=src, seq=1)
    assert codec.decode(codec.encode(topics.CLOCK, clock)) == (topics.CLOCK, clock)


def test_a_decision_batch_and_credit_round_trip_and_an_old_per_row_decision_still_decodes():
    batch = DecisionBatch(
        symbol=["BTCUSDT", "ETHUSDT"],
        bar_time=[0, 0],
        weights_version=[3, 3],
        score=[0.4, -0.1],
        action=["BUY", "HOLD"],
        models=["lava_ai", "trading_ai"],
        vote_action=[["BUY", None], ["HOLD", "SELL"]],
        vote_confidence=[[0.9, 0.0], [1.0, 0.2]],
    )
    assert codec.decode(codec.encode(topics.DECISION, batch))[1] == batch
    assert batch.votes(1) == [ModelVote("lava_ai", None, 0.0), ModelVote("trading_ai", "SELL", 0.2)]
    credit = Credit(
        experts=["lava_ai", "cash"],
        bar_time=[0, 60_000],
        returns=[[0.01, -0.02], [0.0, 0.0]],
        equity=[9900.0, 10_000.0],
    )
    assert codec.decode(codec.encode(topics.CREDIT, credit))[1] == credit
    old = Decision(
        symbol="BTCUSDT",
        bar_time=0,
        weights_version=2,
        score=0.5,
        action="BUY",
        votes=[ModelVote("lava_ai", "BUY", 0.5)],
        seq=4,
        src="trader",
    )
    payload = msgspec.msgpack.encode(old)
    assert codec.decode_payload(payload) == old  # recordings of schema version 1 still read
    with pytest.raises(MalformedFrame, match="undecodable payload on 'decision': Invalid value 'Decision'"):
        codec.decode(b"decision " + payload)  # but it is no longer something the bus carries
