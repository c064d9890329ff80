"""Replays through the real topology: lossless under a slow consumer, deterministic, and surviving
a kill -9 of the recorder — checked against the source rows and the recorded LMDB stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import msgspec

from common.times import parse_time
from supervisor.harness import running_daemon
from tests.helpers.data import KLINES, REPO_ROOT, requires_shared_data
from tests.helpers.recording import recorded_bars, source_bars
from tests.helpers.topologies import SLOW, replay

WEEK = ("2021-04-19", "2021-04-26")  # 7 days holding both exchange-wide gaps of the 1m data


def heartbeat_after(daemon, name: str, moment: float):
    """The actor's status once its latest heartbeat (and the counters it carries) is younger than
    `moment` (time.monotonic()); None before. Counters travel with heartbeats, so a status read
    right after the feed finished may still hold the consumer's counters of a moment before."""
    status = daemon.actor(name)
    age = status.heartbeat_age_s
    return status if age is not None and time.monotonic() - age > moment else None


@requires_shared_data
def test_replay_of_a_week_with_a_slow_consumer_loses_nothing_and_keeps_order(tmp_path):
    db = tmp_path / "week.lmdb"
    topology = replay(db, KLINES, WEEK, actors={"slow": {**SLOW, "args": ["--delay-ms", "3"]}}, chunk=16, credit=64)
    expected = source_bars(str(KLINES), *(parse_time(t) for t in WEEK))
    with running_daemon(tmp_path, topology) as daemon:
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 240, "the replay finished")
        finished = time.monotonic()
        consumer = daemon.wait_for(
            lambda: heartbeat_after(daemon, "slow", finished),
            10,
            "a heartbeat of the consumer sent after the replay finished",
        )
    assert consumer.counters.counts["bars"] == len(expected) == 48_230
    assert consumer.counters.counts["out_of_order"] == 0
    assert consumer.seq_gaps == 0 and consumer.malformed == 0
    assert recorded_bars(db) == expected


def test_the_same_replay_twice_records_identical_streams(tmp_path):
    exports = []
    for run in ("first", "second"):
        db = tmp_path / f"{run}.lmdb"
        with running_daemon(tmp_path, replay(db, "synthetic:11", ("2021-01-01", "2021-01-03"))) as daemon:
            daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 120, "the replay finished")
        lines = []
        for topic in ("md.kline", "clock", "sys.gap", "sys.end"):
            result = subprocess.run(
                [sys.executable, "-m", "supervisor", "export", "stream", "--db", str(db), "--topic", topic],
                cwd=REPO_ROOT,
                capture_output=True,
                check=True,
                timeout=60,
            )
            for line in result.stdout.splitlines():
                record = msgspec.json.decode(line)
                assert record.pop("ts_sent") > 0 and record.pop("epoch") > 0  # the wall-clock fields
                lines.append(msgspec.json.encode(record))
        exports.append(lines)
    assert len(exports[0]) > 10
    assert exports[0] == exports[1]


def test_recorder_killed_mid_replay_is_restarted_and_the_recording_is_complete(tmp_path):
    db = tmp_path / "killed.lmdb"
    source, window = "synthetic:5", ("2021-01-01", "2021-01-04")
    topology = replay(db, source, window, actors={"slow": {**SLOW, "args": ["--delay-ms", "2"]}}, chunk=8, credit=32)
    with running_daemon(tmp_path, topology) as daemon:
        daemon.wait_for(lambda: daemon.actor("market_feed").counters.ticks_sent > 1000, 60, "replay under way")
        os.kill(daemon.actor("recorder").pid, signal.SIGKILL)
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 240, "the replay finished")
        recorder = daemon.actor("recorder")
        assert recorder.restarts == 1
    log = daemon.log()
    assert recorder.counters.written > 0
    assert "the batch being filled when the recorder stopped is lost" in log
    assert recorded_bars(db) == source_bars(source, *(parse_time(t) for t in window))


def test_bad_replay_sources_fail_with_one_clear_line(tmp_path):
    empty = tmp_path / "BTCUSDT-5m.csv"  # the interval of the shipped peper.toml
    empty.write_text("")
    wrong = tmp_path / "wrong" / "ETHUSDT-5m.csv"
    wrong.parent.mkdir()
    wrong.write_text("time,price\n1,2\n")
    cases = {
        str(tmp_path / "missing"): f"supervisor: replay source {tmp_path / 'missing'}: no such file or folder",
        str(empty): f"supervisor: {empty}: no kline rows (empty file)",
        str(wrong.parent): f"supervisor: {wrong}: line 1: wrong header 'time,price'; expected "
        "'open_time,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base,taker_buy_quote'",
    }
    for source, message in cases.items():
        result = subprocess.run(
            [sys.executable, "-m", "supervisor", "run", "--replay", source, "--run-dir", str(tmp_path / "run")],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1
        assert result.stderr.strip() == message


def test_a_recording_replays_through_the_same_topology_from_lmdb(tmp_path):
    source, window = "synthetic:8", ("2021-01-01", "2021-01-02")
    first, second = tmp_path / "first.lmdb", tmp_path / "second.lmdb"
    for db, replay_source in ((first, source), (second, f"lmdb:{first}")):
        workdir = tmp_path / db.stem
        workdir.mkdir()
        with running_daemon(workdir, replay(db, replay_source, window)) as daemon:
            daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 120, "the replay finished")
    assert recorded_bars(second) == recorded_bars(first) == source_bars(source, *(parse_time(t) for t in window))


def test_hot_backups_are_taken_while_recording_and_rotated(tmp_path):
    from storage.backup import backup_dir_for
    from storage.store import Store
    from storage.stream import StreamReader

    db = tmp_path / "backed.lmdb"
    topology = replay(
        db, "synthetic:9", ("2021-01-01", "2021-01-02"), database={"backup_interval_s": 0.3, "max_backup_files": 2}
    )
    with running_daemon(tmp_path, topology) as daemon:
        daemon.wait_for(lambda: daemon.actor("recorder").counters.backups >= 4, 60, "four backups")
    backups = sorted(backup_dir_for(db).iterdir())
    assert len(backups) == 2
    for backup in backups:
        with Store(backup, readonly=True) as store:
            assert StreamReader(store).count() > 0
