"""The live path against the Binance double: disconnects, stalls and bad frames lose nothing.

Real websocket and HTTP on 127.0.0.1, real supervisor, feed and recorder processes, real LMDB;
the double serves rows of ../shared/data in Binance's combined-stream and REST formats.
"""

from __future__ import annotations

import os
from pathlib import Path

from common.times import parse_time
from marketdata.binance_double import BinanceDouble
from marketdata.sources import load_source
from messages.system import Gap
from supervisor.harness import running_daemon
from tests.helpers.data import KLINES, SYMBOLS, requires_shared_data
from tests.helpers.recording import recorded_bars, recorded_messages, table_bars
from tests.helpers.topologies import live_topology


def run_live(tmp_path, table, faults, bar_period_s=0.01):
    db = tmp_path / "live.lmdb"
    double = BinanceDouble(table, bar_period_s=bar_period_s, faults=faults).start()
    last_bar = int(table.open_time[-1])
    try:
        with running_daemon(tmp_path, live_topology(db, double)) as daemon:
            feed = daemon.wait_for(
                lambda: (f := daemon.actor("market_feed")).counters.last_bar == last_bar and f,
                120,
                "the feed gave out the double's last bar",
            )
            recorder = daemon.wait_for(
                lambda: (r := daemon.actor("recorder")).msgs_in >= 2 * feed.counters.ticks_sent and r,
                30,
                "the recorder received every tick",
            )
            log = daemon.log()
    finally:
        double.stop()
    return db, feed, recorder, log, double


@requires_shared_data
def test_twenty_disconnects_leave_the_recorded_stream_equal_to_the_source(tmp_path):
    table = load_source(
        str(KLINES),
        interval="1m",
        symbols=SYMBOLS,
        start_ms=parse_time("2021-05-01"),
        end_ms=parse_time("2021-05-01T20:00"),
    )
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
    table = load_source(
        str(KLINES),
        interval="1m",
        symbols=SYMBOLS,
        start_ms=parse_time("2021-05-02"),
        end_ms=parse_time("2021-05-02T02:30"),
    )
    faults = {20: "malformed", 40: "duplicate", 60: "reorder", 80: "stall"}
    db, feed, _, log, _ = run_live(tmp_path, table, faults, bar_period_s=0.02)
    dropped = feed.counters.dropped
    assert feed.restarts == 0
    assert dropped["not_json"] >= 1 and dropped["bad_shape"] >= 1
    assert dropped["bad_price"] >= 2  # NaN close, negative open
    assert dropped["unknown_symbol"] >= 1
    assert dropped.get("stale", 0) + dropped.get("duplicate", 0) >= 2 * len(SYMBOLS)
    assert feed.counters.gaps["disconnect"] >= 1  # the stall was noticed and the connection replaced
    for reason in ("not_json:", "bad_price: ADAUSDT", "unknown_symbol: 'DOGEUSDT'", "Stalled: no frame for 0.5 s"):
        assert reason in log
    assert recorded_bars(db) == table_bars(table)


@requires_shared_data
def test_live_the_trader_decides_at_the_deadline_and_records_silent_models_as_missing(tmp_path):
    table = load_source(
        str(KLINES),
        interval="1m",
        symbols=SYMBOLS,
        start_ms=parse_time("2021-05-03"),
        end_ms=parse_time("2021-05-03T01:30"),
    )
    db = tmp_path / "live.lmdb"
    double = BinanceDouble(table, bar_period_s=0.05).start()  # its clock starts when the feed connects
    silent = {"module": "actors.sink", "role": "model"}  # enabled as a model, but it never votes
    topology = live_topology(
        db, double, actors={"trading_ai": {}, "silent": silent, "trader": {}}, trader={"vote_deadline_ms": 200}
    )
    try:
        with running_daemon(tmp_path, topology) as daemon:
            # trading_ai warms up for 5 bars; past that its votes must reach the decisions
            daemon.wait_for(
                lambda: daemon.actor("trader").counters.decisions >= 45 * len(SYMBOLS), 60, "45 ticks decided"
            )
            trader = daemon.actor("trader")
            policies = {
                name: os.sched_getscheduler(daemon.actor(name).pid)
                for name in ("market_feed", "trading_ai", "silent", "trader", "recorder")
            }
            tasks = Path(f"/proc/{daemon.process.pid}/task").iterdir()
            daemon_threads = sorted(os.sched_getscheduler(int(task.name)) for task in tasks)
    finally:
        double.stop()
    # live, the frame -> decision path runs realtime (as root; refused otherwise); the recorder does not
    fifo = os.SCHED_FIFO if os.geteuid() == 0 else os.SCHED_OTHER
    assert policies == {
        "market_feed": fifo,
        "trading_ai": fifo,
        "silent": fifo,
        "trader": fifo,
        "recorder": os.SCHED_OTHER,
    }
    assert daemon_threads.count(os.SCHED_OTHER) >= 1 and daemon_threads.count(fifo) >= 2  # main; broker and I/O
    assert trader.counters.missing_votes >= 45 * len(SYMBOLS)
    rows = [(batch, row) for batch in recorded_messages(db, "decision") for row in range(len(batch.symbol))]
    assert len(rows) >= 45 * len(SYMBOLS)
    for batch, row in rows:
        votes = {vote.model: vote for vote in batch.votes(row)}
        assert votes["silent"].action is None  # missed the deadline: recorded as missing
        assert "trading_ai" in votes
    assert any(batch.votes(row)[1].action is not None for batch, row in rows)  # trading_ai's votes were used
