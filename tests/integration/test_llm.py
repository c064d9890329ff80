"""The LLM path against a REAL llama.cpp server (llama-cpp-python) on a tiny random-weight GGUF:
start and stop, kill -9, SIGSTOP, a corrupt model, a taken port, malformed answers, the cache; and
on the real small instruct model (SmolLM2-135M-Instruct, the fallback): answers that parse, the
same votes again from the cache."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from config.schema import PeperConfig
from llm.tiny_model import write_tiny_model
from messages.llm import LlmStatus
from supervisor.harness import alive, free_port, listening_pid, running_daemon
from tests.helpers import topologies
from tests.helpers.data import REPO_ROOT
from tests.helpers.recording import recorded_messages

OTHER_ACTORS = ("recorder", "mistral_ai", "market_feed")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.gguf")


def llm_topology(
    db: Path,
    model: Path,
    port: int,
    *,
    speed: str = "max",
    end: str = "2021-01-01T03:00",
    with_server: bool = True,
    request_timeout_s: float = 2.0,
    backoff_s: float = 0.2,
    server_command: list[str] | None = None,
    fallback: str = "",
    probe_timeout_s: float = 1.0,
) -> PeperConfig:
    mistral = {
        "model_path": str(model),
        "fallback": fallback,
        "port": port,
        "health_check_interval_s": 0.5,
        "probe_timeout_s": probe_timeout_s,
        "startup_timeout_s": 30,
        "backoff_initial_s": backoff_s,
        "server_command": server_command or [],
    }
    actors = {"mistral_ai": {}, **({"llm_supervisor": {}} if with_server else {})}
    return topologies.replay(
        db,
        "synthetic:4",
        ("", end),
        actors=actors,
        chunk=1,
        symbols=["AAAUSDT"],
        feed={"speed": speed, "decision_interval": "1m"},
        mistral=mistral,  # every bar asks
        mistral_ai={"every": "1m", "history": "10m", "max_tokens": 128, "request_timeout_s": request_timeout_s},
    )


def statuses(db: Path) -> list[LlmStatus]:
    return [s for s in recorded_messages(db, "llm.status") if isinstance(s, LlmStatus)]


def llm_votes(db: Path) -> list[tuple[int, str | None, str]]:
    rows = []
    for batch in recorded_messages(db, "sig.mistral_ai"):
        rows.extend(zip(batch.bar_time, batch.action, batch.reason))
    return sorted(rows)


def test_the_server_starts_answers_a_completion_and_leaves_no_process_behind(tmp_path, tiny_model):
    port = free_port()
    topology = llm_topology(tmp_path / "a.lmdb", tiny_model, port, speed="60", end="2021-01-01T00:20")
    with running_daemon(tmp_path, topology) as daemon:
        daemon.wait_for(lambda: daemon.actor("llm_supervisor").counters.states.get("ready", 0) >= 1, 60, "server ready")
        pid = listening_pid(port)
        assert pid is not None and alive(pid)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/v1/completions",
            json={"prompt": "hello", "max_tokens": 4},
            timeout=30,
            trust_env=False,
        )
        assert answer.status_code == 200 and answer.json()["choices"][0]["text"] is not None
        daemon.wait_for(lambda: daemon.actor("llm_supervisor").counters.probes >= 2, 30, "two probes")
    assert not alive(pid), "the llama.cpp server outlived the daemon"
    assert listening_pid(port) is None


@pytest.mark.parametrize("fault", ["kill", "stop"])
def test_a_killed_or_hung_server_is_restarted_and_mistral_waits_for_it_in_a_replay(tmp_path, tiny_model, fault):
    port = free_port()
    db = tmp_path / "fault.lmdb"
    # In replay mistral_ai waits while the server is `starting`; a 3 s back-off leaves it `down` long enough to see.
    topology = llm_topology(db, tiny_model, port, speed="120", end="2021-01-01T01:30", backoff_s=3.0)
    with running_daemon(tmp_path, topology) as daemon:
        daemon.wait_for(lambda: daemon.actor("mistral_ai").counters.answers >= 5, 60, "answers before the fault")
        pids_before = {a.name: a.pid for a in daemon.status().actors}
        victim = listening_pid(port)
        os.kill(victim, signal.SIGKILL if fault == "kill" else signal.SIGSTOP)
        daemon.wait_for(lambda: daemon.actor("llm_supervisor").counters.restarts >= 1, 30, "server restarted")
        answered = daemon.actor("mistral_ai").counters.answers
        daemon.wait_for(lambda: daemon.actor("mistral_ai").counters.answers > answered + 3, 60, "answers again")
        for name in OTHER_ACTORS + ("llm_supervisor",):
            status = daemon.actor(name)
            assert status.restarts == 0 and (status.pid == pids_before[name] or name == "market_feed")
        new_server = listening_pid(port)
    assert new_server != victim and not alive(victim) and not alive(new_server)
    states = [s.state for s in statuses(db)]
    first_down = states.index("down")
    assert "ready" in states[:first_down] and "ready" in states[first_down:]
    down = statuses(db)[first_down]
    assert ("exited" in down.last_error) if fault == "kill" else ("hung" in down.last_error)
    votes = llm_votes(db)
    outage = [reason for _, _, reason in votes if reason.startswith(("not_ready", "http_error", "timeout"))]
    assert not outage, "in a replay mistral_ai waits the outage out; its votes must not depend on when the server died"
    assert len(votes) == len({bar for bar, _, _ in votes}) and sum(action is not None for _, action, _ in votes) > 8


@pytest.mark.parametrize("fault", ["corrupt_model", "port_taken", "missing_model"])
def test_a_server_that_cannot_start_is_refused_clearly_and_mistral_abstains(tmp_path, tiny_model, fault):
    port = free_port()
    model = tmp_path / "model.gguf"
    if fault == "corrupt_model":
        model.write_bytes(b"GGUF" + os.urandom(4096))
    elif fault == "port_taken":
        model = tiny_model
    blocker = socket.socket()
    if fault == "port_taken":
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
    db = tmp_path / "refused.lmdb"
    try:
        with running_daemon(tmp_path, llm_topology(db, model, port, speed="600", end="2021-01-01T00:40")) as daemon:
            daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 60, "the replay finished")
            supervisor = daemon.actor("llm_supervisor")
            assert supervisor.state == "running" and supervisor.restarts == 0
            assert daemon.actor("mistral_ai").counters.llm_requests == 0
    finally:
        blocker.close()
    down = [s for s in statuses(db) if s.state == "down"]
    expected = {
        "corrupt_model": "the server exited during start-up",
        "port_taken": f"port {port} on 127.0.0.1 is taken by another process",
        "missing_model": f"model file {model} is missing",
    }[fault]
    assert down and expected in down[0].last_error
    assert not [s for s in statuses(db) if s.state == "ready"]
    assert all(action is None for _, action, _ in llm_votes(db))


def test_malformed_answers_become_counted_abstentions(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "tests.helpers.stub_llm_server", "--port", "{port}"]
    stub_model = tmp_path / "stub.gguf"
    stub_model.write_bytes(b"not used by the stub")
    topology = llm_topology(
        tmp_path / "stub.lmdb", stub_model, port, speed="600", end="2021-01-01T00:40", server_command=command
    )
    with running_daemon(tmp_path, topology) as daemon:
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 60, "the replay finished")
        daemon.wait_for(lambda: voted_on_every_bar(daemon), 60, "the last answer")
        counters = daemon.actor("mistral_ai").counters
        assert daemon.actor("mistral_ai").restarts == 0
    assert counters.no_vote["not_json"] >= 1 and counters.no_vote["wrong_shape"] >= 1
    assert counters.no_vote["bad_response"] >= 1 and counters.answers >= 1
    assert counters.retried_requests >= 1 and "http_status" not in counters.no_vote  # a replay asks a 500 again
    reasons = {reason.split(":")[0] for _, _, reason in llm_votes(tmp_path / "stub.lmdb")}
    assert {"not_json", "wrong_shape", "bad_response"} <= reasons


def test_a_second_replay_answers_from_the_cache_without_any_request(tmp_path, tiny_model):
    port = free_port()
    db = tmp_path / "cache.lmdb"
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir(), second_dir.mkdir()
    # a generous timeout: an answer timed out under a loaded machine is an abstention, not a cache entry
    with running_daemon(first_dir, llm_topology(db, tiny_model, port, request_timeout_s=60.0)) as daemon:
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 300, "first replay")
        daemon.wait_for(lambda: voted_on_every_bar(daemon), 120, "the last answer")
        assert daemon.actor("mistral_ai").counters.llm_requests > 10
    first = llm_votes(db)
    with running_daemon(second_dir, llm_topology(db, tiny_model, port, with_server=False)) as daemon:
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 120, "second replay")
        daemon.wait_for(lambda: voted_on_every_bar(daemon), 60, "the last cached answer")
        counters = daemon.actor("mistral_ai").counters
    assert counters.llm_requests == 0 and counters.cache_hits > 10
    assert llm_votes(db) == first
    assert any(action is not None for _, action, _ in first)


def test_the_fallback_small_model_casts_parsed_votes_and_a_second_replay_gives_them_from_the_cache(tmp_path):
    port, db = free_port(), tmp_path / "smol.lmdb"
    missing = tmp_path / "no-mistral.gguf"
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir(), second_dir.mkdir()
    # llama_cpp.server answers no probe while it generates, and SmolLM2's 128 tokens take longer than
    # this 1 s probe timeout: a healthy server busy with an answer is not hung
    topology = llm_topology(db, missing, port, end="2021-01-01T00:25", request_timeout_s=60.0, fallback="smollm2")
    with running_daemon(first_dir, topology) as daemon:
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 300, "first replay")
        daemon.wait_for(lambda: voted_on_every_bar(daemon), 120, "the last answer")
        counters = daemon.actor("mistral_ai").counters
    assert counters.llm_requests >= 10 and counters.answers == counters.llm_requests  # every answer parsed
    assert not {"not_json", "wrong_shape"} & set(counters.no_vote)
    first = llm_votes(db)
    asked = [v for v in first if v[1] is not None]
    assert len(asked) >= 10 and all(0 < len(reason) <= 80 for _, _, reason in asked)
    ready = [s for s in statuses(db) if s.state == "ready"]
    assert ready, "the server never came up on the fallback model"
    assert not [s for s in statuses(db) if s.restarts], "the server was restarted while it answered"
    again = llm_topology(db, missing, port, end="2021-01-01T00:25", with_server=False, fallback="smollm2")
    with running_daemon(second_dir, again) as daemon:
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 120, "second replay")
        daemon.wait_for(lambda: voted_on_every_bar(daemon), 60, "the last cached answer")
        counters = daemon.actor("mistral_ai").counters
    assert counters.llm_requests == 0 and counters.cache_hits == len(asked)
    assert llm_votes(db) == first


def voted_on_every_bar(daemon) -> bool:
    """Every bar the feed replayed voted on or abstained from: no answer still in flight."""
    voted = daemon.actor("mistral_ai").counters
    return voted.votes + voted.abstentions >= daemon.actor("market_feed").counters.bars


def test_llm_cli_writes_a_tiny_model_and_checks_a_server(tmp_path):
    import json
    import subprocess

    model = tmp_path / "cli.gguf"
    written = subprocess.run(
        [sys.executable, "-m", "supervisor", "llm", "tiny-model", str(model)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert written.returncode == 0 and 100_000 < model.stat().st_size < 2_000_000
    env = {**os.environ, "PEPER_MISTRAL__PORT": str(free_port())}
    checked = subprocess.run(
        [sys.executable, "-m", "supervisor", "llm", "check", "--model", str(model), "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    result = json.loads(checked.stdout)
    assert result["start_to_ready_s"] > 0 and len(result["probe_latency_ms"]) == 3
    missing = subprocess.run(
        [sys.executable, "-m", "supervisor", "llm", "check", "--model", str(tmp_path / "none.gguf")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert missing.returncode == 1
    assert (
        missing.stderr.strip() == f"supervisor: model file {tmp_path / 'none.gguf'} is missing ([mistral] model_path)"
    )


def test_the_launcher_starts_nothing_when_its_parent_died_before_it_could_arrange_to_die_with_it(tmp_path):
    marker = tmp_path / "started"
    orphaned = subprocess.run(
        [sys.executable, "-m", "llm.launch", str(os.getpid() + 999_999), "touch", str(marker)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert orphaned.returncode != 0 and "exited before the server started" in orphaned.stderr
    assert not marker.exists()
    launched = subprocess.run(
        [sys.executable, "-m", "llm.launch", str(os.getpid()), "touch", str(marker)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert launched.returncode == 0 and marker.exists()
