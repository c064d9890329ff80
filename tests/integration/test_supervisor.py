"""The supervisor keeps a real topology alive: real processes, real ZeroMQ sockets, real signals."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from config.build import configured, topology
from config.toml import dumps
from supervisor.harness import alive, prepared, running_daemon, short_run_dir, start_daemon, wait_for
from tests.helpers.data import REPO_ROOT

STEADY_TOPOLOGY = configured(actors=topology("sink", pulse={"after": ["sink"], "args": ["--rate", "200"]}))


def pulses_received(daemon) -> int:
    return daemon.actor("sink").counters.pulses


@pytest.mark.parametrize("victim", ["sink", "pulse"])
def test_supervisor_restarts_actor_when_killed(tmp_path, victim):
    with running_daemon(tmp_path, STEADY_TOPOLOGY) as daemon:
        old_pid = daemon.actor(victim).pid
        os.kill(old_pid, signal.SIGKILL)
        restarted = daemon.wait_for(
            lambda: (a := daemon.actor(victim)).state == "running" and a.pid not in (None, old_pid) and a,
            10,
            f"{victim} restarted",
        )
        assert restarted.restarts == 1
        assert not alive(old_pid)
        before = pulses_received(daemon)
        daemon.wait_for(lambda: pulses_received(daemon) > before + 20, 10, "messages flowing again")


def test_supervisor_kills_and_restarts_a_stopped_actor(tmp_path):
    with running_daemon(tmp_path, STEADY_TOPOLOGY) as daemon:
        old_pid = daemon.actor("sink").pid
        os.kill(old_pid, signal.SIGSTOP)
        restarted = daemon.wait_for(
            lambda: (a := daemon.actor("sink")).state == "running" and a.pid not in (None, old_pid) and a,
            10,
            "sink restarted",
        )
        assert "hung: no heartbeat" in restarted.last_error
        assert restarted.restarts == 1
        assert not alive(old_pid)
        before = pulses_received(daemon)
        daemon.wait_for(lambda: pulses_received(daemon) > before + 20, 10, "messages flowing again")


STARTER = """
import json, sys, time
from pathlib import Path
from tests.integration.test_supervisor import STEADY_TOPOLOGY
from supervisor.harness import running_daemon
with running_daemon(Path(sys.argv[1]), STEADY_TOPOLOGY) as daemon:
    print(json.dumps([daemon.process.pid] + [actor.pid for actor in daemon.status().actors]), flush=True)
    time.sleep(600)
"""


def test_a_daemon_whose_starter_is_killed_stops_with_every_actor(tmp_path):
    """The harness's daemon dies with the test that started it: a killed test leaves nothing running."""
    with subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path)], cwd=REPO_ROOT, stdout=subprocess.PIPE
    ) as starter:
        try:
            pids = json.loads(starter.stdout.readline())
            assert len(pids) == 3 and all(alive(pid) for pid in pids)
        finally:
            starter.kill()
    wait_for(lambda: not any(alive(pid) for pid in pids), 20, "the daemon and its actors gone")


def test_daemon_gives_up_loudly_when_an_actor_crashes_on_start_forever(tmp_path):
    run_dir = short_run_dir()
    config = configured(
        actors=topology("sink", crasher={"module": "tests.helpers.crashing_actor", "after": ["sink"]}),
        bus={"run_dir": str(run_dir)},
        supervisor={"max_restarts": 2, "backoff_initial_s": 0.05, "heartbeat_interval_s": 0.1},
    )
    daemon = start_daemon(tmp_path, config)
    returncode = daemon.process.wait(timeout=60)
    log = daemon.log()
    assert returncode != 0
    last_line = log.strip().splitlines()[-1]
    assert last_line.startswith("supervisor: actor 'crasher' exceeded its restart budget (2 restarts in 60 s)")
    assert "RuntimeError: refusing to start: this actor always crashes (test)" in last_line
    pids = [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", log)]
    assert len(pids) == 4  # sink once, crasher three times
    assert not [pid for pid in pids if alive(pid)]
    assert not run_dir.exists()


def test_an_actor_that_gives_up_says_why_in_its_last_line_even_while_its_tasks_use_the_bus(tmp_path):
    config = configured(
        actors=topology("sink", quitter={"module": "tests.helpers.giving_up_actor", "after": ["sink"]}),
        supervisor={"heartbeat_interval_s": 0.1},
    )
    daemon = start_daemon(tmp_path, config)
    returncode = daemon.process.wait(timeout=60)
    log = daemon.log()
    assert returncode != 0
    assert (
        log.strip()
        .splitlines()[-1]
        .endswith(
            "actor 'quitter' stopped on an error a restart would meet again, so it was not restarted: "
            "SourceError: test.csv: line 7: 2 fields, expected at least 6 (test)"
        )
    ), log[-3000:]
    assert "ZMQError" not in log, log[-3000:]  # a task left running on a closed socket


def test_a_daemon_that_did_not_run_reads_the_beats_it_missed_before_it_judges_anyone(tmp_path):
    """Stopped (or starved of CPU) for longer than the heartbeat limit, the daemon wakes to beats
    still queued on its control socket: the actors kept beating, so none counts as hung."""
    with running_daemon(tmp_path, STEADY_TOPOLOGY) as daemon:
        pids = {actor.name: actor.pid for actor in daemon.status().actors}
        limit_s = daemon.config.supervisor.heartbeat_interval_s * daemon.config.supervisor.heartbeat_liveness
        os.kill(daemon.process.pid, signal.SIGSTOP)
        try:
            time.sleep(3 * limit_s)
        finally:
            os.kill(daemon.process.pid, signal.SIGCONT)
        time.sleep(2 * limit_s)
        after = {actor.name: (actor.pid, actor.state, actor.restarts) for actor in daemon.status().actors}
        assert after == {name: (pid, "running", 0) for name, pid in pids.items()}, daemon.log()[-2000:]
        assert "hung" not in daemon.log()


def test_sigterm_stops_every_child_cleans_the_run_directory_and_exits_zero(tmp_path):
    with running_daemon(tmp_path, STEADY_TOPOLOGY) as daemon:
        pids = [actor.pid for actor in daemon.status().actors]
        assert daemon.terminate() == 0
        assert not [pid for pid in pids if alive(pid)]
        assert not daemon.run_dir.exists()
        log = daemon.log()
        assert log.index("stopped pulse: it exited with status 0") < log.index("stopped sink: it exited with status 0")


def test_messages_at_full_speed_arrive_complete_and_in_order(tmp_path):
    """The pulse sends without a credit window, so the high-water mark is set to twice the count: no
    queue on the path (pulse, broker in and out, sink) can fill, and a message missing here is a
    defect of the bus, never back-pressure. Twice, not once: a sender learns how far its peer has read
    only every half mark, and the pulse's hello frames share its queue — with the mark at the count, a
    starved broker made the PUB drop the last pulse and the stream end (seen under CPU contention)."""
    count = 100_000
    pulse = {"restart": "transient", "after": ["sink"], "args": ["--count", str(count), "--ackers", "sink"]}
    config = configured(actors=topology("sink", pulse=pulse), bus={"hwm": 2 * count})
    with running_daemon(tmp_path, config) as daemon:
        daemon.wait_for(lambda: daemon.actor("pulse").state == "done", 60, "pulse finished")
        sink = daemon.wait_for(lambda: (s := daemon.actor("sink")).counters.ends == 1 and s, 10, "sink saw the end")
        assert sink.counters.pulses == count
        assert sink.counters.out_of_order == 0
        assert sink.seq_gaps == 0
        assert sink.malformed == 0


def test_status_json_lists_every_actor(tmp_path):
    with running_daemon(tmp_path, STEADY_TOPOLOGY) as daemon:
        result = subprocess.run(
            [sys.executable, "-m", "supervisor", "status", "--json", "--config", str(daemon.config_path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        assert [actor["name"] for actor in document["actors"]] == ["sink", "pulse"]
        for actor in document["actors"]:
            assert actor["state"] == "running"
            assert alive(actor["pid"])
            assert actor["restarts"] == 0
            assert 0 <= actor["heartbeat_age_s"] < 2
        assert document["daemon_pid"] == daemon.process.pid


def test_stop_command_stops_the_daemon_in_order(tmp_path):
    with running_daemon(tmp_path, STEADY_TOPOLOGY) as daemon:
        result = subprocess.run(
            [sys.executable, "-m", "supervisor", "stop", "--config", str(daemon.config_path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert daemon.process.wait(timeout=30) == 0
        assert "stopping: python -m supervisor stop" in daemon.log()


def test_second_daemon_on_the_same_run_directory_refuses_to_start(tmp_path):
    with running_daemon(tmp_path, STEADY_TOPOLOGY) as daemon:
        second = subprocess.run(
            [sys.executable, "-m", "supervisor", "run", "--config", str(daemon.config_path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert second.returncode == 1
        assert f"another supervisor (pid {daemon.process.pid}) is already running on {daemon.run_dir}" in second.stderr
        assert daemon.actor("sink").state == "running"


def test_daemon_refuses_a_bus_port_already_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = prepared(
            configured(actors=topology("sink"), bus={"transport": "tcp", "tcp_base_port": port}), short_run_dir()
        )
        path = tmp_path / "peper.toml"
        path.write_text(dumps(config))
        result = subprocess.run(
            [sys.executable, "-m", "supervisor", "run", "--config", str(path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"supervisor: cannot bind the bus at tcp://127.0.0.1:{port}: Address already in use"
    )
