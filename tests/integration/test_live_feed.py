"""The live path against the Binance double: disconnects, stalls and bad frames lose nothing.

Real websocket and HTTP on 127.0.0.1, real supervisor, feed and recorder processes, real LMDB;
the double serves rows of ../shared/data in Binance's combined-stream and REST formats.
"""

from __future__ import annotations

from marketdata.sources import load_source, parse_time
from messages.system import Gap
from tests.helpers.binance_double import BinanceDouble
from tests.helpers.daemon import running_daemon
from tests.helpers.data import KLINES, SYMBOLS, requires_shared_data
from tests.helpers.recording import recorded_bars, recorded_messages, table_bars


def live_topology(db, double: BinanceDouble, extra: str = "", feed_after: tuple[str, ...] = ("recorder",)) -> str:
    return f"""
    [test]
    symbols = {SYMBOLS!r}
    [database]
    path = "{db}"
    [feed]
    mode = "live"
    ws_url = "{double.ws_url}"
    rest_url = "{double.rest_url}"
    reconnect_initial_s = 0.05
    reconnect_max_s = 0.5
    stall_timeout_s = 0.5
    tick_deadline_s = 10.0
    {extra}
    [actors.recorder]
    [actors.market_feed]
    after = {list(feed_after)!r}
    """


def run_live(tmp_path, table, faults, bar_period_s=0.01):
    db = tmp_path / "live.lmdb"
    double = BinanceDouble(table, bar_period_s=bar_period_s, faults=faults).start()
    last_bar = int(table.open_time[-1])
    try:
        with running_daemon(tmp_path, live_topology(db, double)) as daemon:
            feed = daemon.wait_for(
                lambda: (f := daemon.actor("market_feed")).counters.get("last_bar") == last_bar and f, 120,
                "the feed gave out the double's last bar",
            )
            recorder = daemon.wait_for(
                lambda: (r := daemon.actor("recorder")).msgs_in >= 2 * feed.counters["ticks_sent"] and r, 30,
                "the recorder received every tick",
            )
            log = daemon.log()
    finally:
        double.stop()
    return db, feed, recorder, log, double


@requires_shared_data
def test_twenty_disconnects_leave_the_recorded_stream_equal_to_the_source(tmp_path):
    table = load_source(str(KLINES), interval="1m", symbols=SYMBOLS,
                        start_ms=parse_time("2021-05-01"), end_ms=parse_time("2021-05-01T20:00"))
    faults = {100 + 50 * i: "drop" for i in range(20)}
    db, feed, recorder, _, double = run_live(tmp_path, table, faults)
    assert double.accepted == 21 and double.rest_requests >= 20 * len(SYMBOLS)
    assert feed.restarts == 0 and recorder.restarts == 0
    assert recorded_bars(db) == table_bars(table)  # every row, once, in order: no hole, no duplicate
    gaps = [g for g in recorded_messages(db, "sys.gap") if isinstance(g, Gap)]
    assert sum(g.kind == "disconnect" for g in gaps) == 20
    assert sum(g.kind == "backfilled" for g in gaps) == 20
    assert not [g for g in gaps if g.kind == "source"]


@requires_shared_data
def test_bad_frames_stalls_duplicates_and_reordering_are_counted_dropped_and_survived(tmp_path):
    table = load_source(str(KLINES), interval="1m", symbols=SYMBOLS,
                        start_ms=parse_time("2021-05-02"), end_ms=parse_time("2021-05-02T02:30"))
    faults = {20: "malformed", 40: "duplicate", 60: "reorder", 80: "stall"}
    db, feed, _, log, _ = run_live(tmp_path, table, faults, bar_period_s=0.02)
    counts = feed.counters
    assert feed.restarts == 0
    assert counts["dropped_not_json"] >= 1 and counts["dropped_bad_shape"] >= 1
    assert counts["dropped_bad_price"] >= 2  # NaN close, negative open
    assert counts["dropped_unknown_symbol"] >= 1
    assert counts.get("dropped_stale", 0) + counts.get("dropped_duplicate", 0) >= 2 * len(SYMBOLS)
    assert counts["gaps_disconnect"] >= 1  # the stall was noticed and the connection replaced
    for reason in ("not_json:", "bad_price: ADAUSDT", "unknown_symbol: 'DOGEUSDT'", "Stalled: no frame for 0.5 s"):
        assert reason in log
    assert recorded_bars(db) == table_bars(table)


@requires_shared_data
def test_live_the_trader_decides_at_the_deadline_and_records_silent_models_as_missing(tmp_path):
    table = load_source(str(KLINES), interval="1m", symbols=SYMBOLS,
                        start_ms=parse_time("2021-05-03"), end_ms=parse_time("2021-05-03T01:30"))
    db = tmp_path / "live.lmdb"
    double = BinanceDouble(table, bar_period_s=0.05).start()  # its clock starts when the feed connects
    models = """
    [trader]
    vote_deadline_ms = 200
    [actors.trading_ai]
    [actors.lava_ai]
    module = "actors.sink"  # enabled as a model, but it never votes
    [actors.trader]
    """
    topology = live_topology(db, double, extra=models, feed_after=("recorder", "trading_ai", "lava_ai", "trader"))
    try:
        with running_daemon(tmp_path, topology) as daemon:
            # trading_ai warms up for 35 bars; past that its votes must reach the decisions
            daemon.wait_for(lambda: daemon.actor("trader").counters.get("decisions", 0) >= 45 * len(SYMBOLS), 60,
                            "45 ticks decided")
            trader = daemon.actor("trader")
    finally:
        double.stop()
    assert trader.counters["missing_votes"] >= 45 * len(SYMBOLS)
    decisions = recorded_messages(db, "decision")
    assert len(decisions) >= 45 * len(SYMBOLS)
    for decision in decisions:
        votes = {vote.model: vote for vote in decision.votes}
        assert votes["lava_ai"].action is None  # missed the deadline: recorded as missing
        assert "trading_ai" in votes
    assert any(d.votes[0].action is not None for d in decisions)  # trading_ai's votes were used
