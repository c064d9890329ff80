"""The runtime's parts: which frames to take (duplicates, gaps, lineages, resync gates), what to keep
for a restarted acknowledger, the lifecycle table, and the CPU priority an actor takes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from actors.runtime.lifecycle import Lifecycle
from actors.runtime.outbox import Outbox
from actors.runtime.sequence import ACCEPT, DUPLICATE, GATED, SequenceTracker
from tests.helpers.data import REPO_ROOT


def test_duplicates_are_dropped_and_gaps_counted_per_publisher_and_topic():
    tracker = SequenceTracker()
    assert [tracker.check("feed", "md.kline", 7, seq, True) for seq in (1, 2, 2, 1, 3)] == [
        ACCEPT,
        ACCEPT,
        DUPLICATE,
        DUPLICATE,
        ACCEPT,
    ]
    assert tracker.check("feed", "clock", 7, 1, True) is ACCEPT  # another topic counts on its own
    assert tracker.check("model", "md.kline", 7, 1, True) is ACCEPT  # another publisher too
    assert tracker.check("feed", "md.kline", 7, 6, True) is ACCEPT
    assert tracker.gaps == 2 and tracker.duplicates == 2
    assert tracker.check("feed", "md.kline", 7, 4, True) is DUPLICATE  # late: below the last taken


def test_a_publisher_that_resumed_its_lineage_repeats_seqs_that_are_dropped_and_a_fresh_one_starts_over():
    tracker = SequenceTracker()
    for seq in (1, 2, 3, 4):
        tracker.check("lgbm_ai", "sig.lgbm_ai", 100, seq, True)
    # restored from its checkpoint after seq 2: same epoch, so 3 and 4 again are duplicates, 5 is new
    assert [tracker.check("lgbm_ai", "sig.lgbm_ai", 100, seq, True) for seq in (3, 4, 5)] == [
        DUPLICATE,
        DUPLICATE,
        ACCEPT,
    ]
    # a fresh process (new epoch) counts from 1 again: taken, and the restart noted
    assert tracker.check("lgbm_ai", "sig.lgbm_ai", 200, 1, True) is ACCEPT
    assert tracker.check("lgbm_ai", "sig.lgbm_ai", 200, 2, True) is ACCEPT
    assert tracker.gaps == 0 and tracker.restarted_publishers == []
    assert tracker.check("lgbm_ai", "sig.lgbm_ai", 300, 9, True) is ACCEPT  # a fresh epoch not starting at 1
    assert tracker.restarted_publishers == [("lgbm_ai", "sig.lgbm_ai", 2, 9)]


def test_a_resync_gate_drops_a_sources_data_until_its_marker_then_counts_afresh():
    tracker = SequenceTracker()
    tracker.check("market_feed", "md.kline", 1, 1, True)
    tracker.check("market_feed", "md.kline", 1, 2, True)
    tracker.gate({"market_feed", "lava_ai"})
    assert tracker.check("market_feed", "md.kline", 1, 3, True) is GATED  # newer, arrived first
    assert tracker.check("market_feed", "sys.lifecycle", 9, 1, False) is ACCEPT  # not data: never gated
    assert tracker.check("trading_ai", "sig.trading_ai", 1, 1, True) is ACCEPT  # not a gated source
    assert tracker.open("market_feed") and not tracker.open("market_feed")
    # the re-sent frames repeat seqs this process saw before the gate; after the marker they are taken
    assert [tracker.check("market_feed", "md.kline", 1, seq, True) for seq in (2, 3, 3)] == [ACCEPT, ACCEPT, DUPLICATE]
    assert tracker.gated == {"lava_ai"}
    assert tracker.check("lava_ai", "sig.lava_ai", 1, 5, True) is GATED


def test_the_outbox_keeps_frames_until_every_acknowledger_has_them_and_resends_after_a_position():
    outbox = Outbox(["recorder", "trader", "lava_ai"], me="lava_ai")
    for position in (100, 200, 300):
        outbox.keep(position, f"frame-{position}".encode())
    outbox.acknowledge("recorder", 200)
    assert len(outbox) == 3  # the trader has acknowledged nothing yet
    outbox.acknowledge("trader", 100)
    assert len(outbox) == 2
    outbox.acknowledge("ghost", 999)  # not an acknowledger: ignored
    outbox.acknowledge("trader", 300)
    assert [f for _, f in outbox.frames] == [b"frame-300"]
    # the trader restarted from its checkpoint at 100: everything kept after 100 again
    outbox.keep(400, b"frame-400")
    assert outbox.after("trader", 100) == [b"frame-300", b"frame-400"]
    assert outbox.acked["trader"] == 100


def test_the_lifecycle_refuses_a_transition_its_table_does_not_have():
    lifecycle = Lifecycle()
    assert lifecycle.move("running") == "running"
    with pytest.raises(RuntimeError, match="cannot go from running to starting"):
        lifecycle.move("starting")
    lifecycle.move("stopping")
    lifecycle.move("stopped")


PRIORITY_PROBE = """
import asyncio, logging, os, threading
from common.priority import ordinary_threads, take_priority
logging.basicConfig(level=logging.WARNING, format="%(message)s")
take_priority(logging.getLogger("probe"), 3, 10)
async def main():
    ordinary_threads()
    handed = await asyncio.to_thread(os.sched_getscheduler, 0)
    started = []
    thread = threading.Thread(target=lambda: started.append(os.sched_getscheduler(0)))
    thread.start(); thread.join()
    print(os.sched_getscheduler(0), os.sched_getparam(0).sched_priority, handed, started[0], os.nice(0))
asyncio.run(main())
"""


def test_an_actor_taking_realtime_runs_fifo_while_the_work_it_hands_to_threads_runs_ordinary():
    probe = subprocess.run(
        [sys.executable, "-c", PRIORITY_PROBE], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, check=False
    )
    assert probe.returncode == 0, probe.stderr
    main_policy, priority, handed, started, nice = map(int, probe.stdout.split())
    assert handed == os.SCHED_OTHER and nice == 3  # asyncio.to_thread: off the fast path, its niceness kept
    if os.geteuid() == 0:
        assert (main_policy, priority, started) == (os.SCHED_FIFO, 10, os.SCHED_FIFO)
        assert probe.stderr == ""
    else:  # refused without CAP_SYS_NICE: said, and the actor runs on at the ordinary priority
        assert main_policy == os.SCHED_OTHER and "cannot take realtime priority 10" in probe.stderr


IO_THREADS_PROBE = """
import logging, os, time, zmq
from common.priority import realtime_io_threads
logging.basicConfig(level=logging.WARNING, format="%(message)s")
context = zmq.Context()
granted = realtime_io_threads(logging.getLogger("probe"), context, 10)
context.socket(zmq.PUB).bind("tcp://127.0.0.1:*")  # starts the I/O thread, which then sets its own policy
fifo = lambda: sum(os.sched_getscheduler(int(task)) == os.SCHED_FIFO for task in os.listdir("/proc/self/task"))
deadline = time.monotonic() + (5 if granted else 0.5)
while not fifo() and time.monotonic() < deadline:
    time.sleep(0.01)
print(granted, fifo())
"""


def _io_threads_probe(as_user: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*as_user, sys.executable, "-c", IO_THREADS_PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        check=False,
    )


def test_the_bus_io_threads_run_realtime_when_permitted_and_otherwise_say_so_instead_of_aborting():
    """libzmq aborts a process whose I/O threads it cannot schedule as told: the daemon asks only when permitted."""
    unprivileged = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    refused = _io_threads_probe(unprivileged)
    assert refused.returncode == 0, refused.stderr
    assert "realtime priority 10 is not permitted here" in refused.stderr and refused.stdout.split() == ["False", "0"]
    if unprivileged:
        granted = _io_threads_probe([])
        assert granted.returncode == 0 and granted.stderr == "", granted.stderr
        assert granted.stdout.split()[0] == "True" and int(granted.stdout.split()[1]) >= 1  # the I/O thread
