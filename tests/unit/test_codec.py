"""One frame per message: round trips exactly; anything else is MalformedFrame with the reason."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages import topics
from messages.codec import Codec
from messages.errors import MalformedFrame
from messages.learning import Credit
from messages.market import Clock, KlineBatch
from messages.signals import VoteBatch
from messages.system import Ack, Pulse
from messages.trading import Decision, DecisionBatch, ModelVote

codec = Codec()


def test_a_kline_batch_round_trips_through_one_frame():
    batch = KlineBatch(
        interval_ms=60_000, symbol=["BTCUSDT", "ETHUSDT"], open_time=[0, 0], open=[1.0, 2.0], high=[1.5, 2.5],
        low=[0.5, 1.5], close=[1.2, 2.2], volume=[10.0, 20.0], quote_volume=[math.nan] * 2, trades=[math.nan] * 2,
        taker_buy_base=[math.nan] * 2, seq=7, src="market_feed", ts_event=60_000,
    )
    frame = codec.encode(topics.KLINE, batch)
    assert frame.startswith(b"md.kline ")
    topic, decoded = codec.decode(frame)
    assert topic == topics.KLINE
    assert decoded.symbol == batch.symbol and decoded.close == batch.close and decoded.seq == 7
    assert all(math.isnan(value) for value in decoded.trades)


def test_prefix_families_carry_their_own_type():
    votes = VoteBatch(model="trading_ai", version="1", symbol=["BTCUSDT"], bar_time=[0], action=[None],
                      confidence=[0.0], reason=["warm-up"])
    assert codec.decode(codec.encode(topics.signal("trading_ai"), votes))[1] == votes
    assert codec.decode(codec.encode(topics.ack("recorder"), Ack(upto=5)))[1] == Ack(upto=5)


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
    batch = DecisionBatch(symbol=["BTCUSDT", "ETHUSDT"], bar_time=[0, 0], weights_version=[3, 3], score=[0.4, -0.1],
                          action=["BUY", "HOLD"], models=["lava_ai", "trading_ai"],
                          vote_action=[["BUY", None], ["HOLD", "SELL"]], vote_confidence=[[0.9, 0.0], [1.0, 0.2]])
    assert codec.decode(codec.encode(topics.DECISION, batch))[1] == batch
    assert batch.votes(1) == [ModelVote("lava_ai", None, 0.0), ModelVote("trading_ai", "SELL", 0.2)]
    credit = Credit(experts=["lava_ai", "cash"], bar_time=[0, 60_000], returns=[[0.01, -0.02], [0.0, 0.0]],
                    equity=[9900.0, 10_000.0])
    assert codec.decode(codec.encode(topics.CREDIT, credit))[1] == credit
    old = Decision(symbol="BTCUSDT", bar_time=0, weights_version=2, score=0.5, action="BUY",
                   votes=[ModelVote("lava_ai", "BUY", 0.5)], seq=4, src="trader")
    payload = msgspec.msgpack.encode(old)
    assert codec.decode_payload(payload) == old  # recordings of schema version 1 still read
    with pytest.raises(MalformedFrame, match="undecodable payload on 'decision': Invalid value 'Decision'"):
        codec.decode(b"decision " + payload)  # but it is no longer something the bus carries
