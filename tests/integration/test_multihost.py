"""Actors on two hosts: the daemon in one network namespace, an agent running lgbm_ai, mistral_ai and
the LLM server (tiny model) in another, joined by a veth pair, the bus over tcp with CURVE. A replay
of 2 days × 5 symbols gives trades, weights and decisions byte-identical to the same replay on one
host — also when the agent is killed with -9 mid-replay and started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bus.curve import make_bundles
from config.schema import PeperConfig
from llm.tiny_model import write_tiny_model
from storage.sessions import copy_database
from storage.store import Store
from supervisor.harness import free_port, running_daemon, short_run_dir
from tests.helpers import topologies
from tests.helpers.data import KLINES, SYMBOLS, requires_shared_data
from tests.helpers.netns import two_hosts
from tests.integration.test_trading import export, run_replay

pytestmark = [pytest.mark.multihost, requires_shared_data, pytest.mark.timeout(900)]
WINDOW = ("2021-04-05", "2021-04-07")
REMOTE = ("llm_supervisor", "lgbm_ai", "mistral_ai")
LGBM = {"min_train": "12h", "retrain_every": "12h", "train_window": "1d", "n_estimators": 30}
EXPORTS = ("trades", "weights", "decisions")


def replay_config(db: Path, model: Path, llm_port: int, *, host: str = "", speed: str = "max", **bus) -> PeperConfig:
    actors = {
        "rl_learner": {},
        "trader": {},
        "trading_ai": {},
        "lava_ai": {},
        **{name: {"host": host} for name in REMOTE},
    }
    return topologies.replay(
        db,
        KLINES,
        WINDOW,
        actors=actors,
        chunk=64,
        credit=256,
        symbols=SYMBOLS,
        feed={"speed": speed},
        lgbm_ai=LGBM,
        bus=bus,
        mistral={"model_path": str(model), "port": llm_port, "health_check_interval_s": 0.5},
        mistral_ai={"every": "1h", "max_tokens": 128, "request_timeout_s": 120.0},
    )


def with_answers(filled: Path, target: Path) -> Path:
    """A new store holding only the first run's LLM answers (mistral_ai's cache), not its models."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with Store(filled, readonly=True) as source, Store(target) as copy:
        copy_database(source, copy, "llm_cache")
    return target


@pytest.fixture(scope="module")
def one_host(tmp_path_factory) -> dict:
    """The LLM cache a first run filled, and the same replay from that cache on one host."""
    base = tmp_path_factory.mktemp("multihost")
    model = write_tiny_model(base / "tiny.gguf")
    port = free_port()
    filled = base / "fill.lmdb"
    run_replay(base, "fill", replay_config(filled, model, port))
    db = with_answers(filled, base / "one.lmdb")
    started = time.monotonic()
    run_replay(base, "one", replay_config(db, model, port))
    return {
        "base": base,
        "model": model,
        "port": port,
        "filled": filled,
        "seconds": time.monotonic() - started,
        "exports": tuple(export(db, what) for what in EXPORTS),
    }


def start_agent(command: list[str], base: Path) -> subprocess.Popen:
    with (base / "agent.log").open("ab") as log:
        return subprocess.Popen(command, stderr=log)


def run_on_two_hosts(one_host: dict, name: str, *, speed: str = "max", during=None) -> tuple:
    base = one_host["base"] / name
    keys = make_bundles(base / "keys", ["b"])
    db = base / "a" / "recording.lmdb"
    agent_data = base / "b-data"
    with_answers(one_host["filled"], agent_data / db.name)  # mistral_ai's own store on its host
    bus_port = free_port()
    with two_hosts() as (on_a, on_b, address_a, _):
        config = replay_config(
            db,
            one_host["model"],
            one_host["port"],
            host="b",
            speed=speed,
            transport="tcp",
            tcp_host=address_a,
            tcp_base_port=bus_port,
            curve_keys=str(keys["daemon"]),
        )
        agent_command = [
            *on_b,
            sys.executable,
            "-m",
            "supervisor",
            "agent",
            "--connect",
            f"tcp://{address_a}:{bus_port}",
            "--keys",
            str(keys["b"]),
            "--data",
            str(agent_data),
            "--run-dir",
            str(short_run_dir()),
        ]
        agents = []
        started = time.monotonic()
        with running_daemon(base / "a", config, wrap=on_a, wait_running=False) as daemon:
            agents.append(start_agent(agent_command, base))
            try:
                daemon.wait_for(
                    lambda: {a.host for a in daemon.status().actors if a.state == "running"} == {"", "b"},
                    120,
                    "the actors of both hosts running",
                )
                if during is not None:
                    during(daemon, agents, agent_command, base)
                daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 600, "the replay finished")
                seconds = time.monotonic() - started
                status = daemon.status()
            finally:
                for agent in agents:
                    agent.terminate()
                    agent.wait(30)
    return tuple(export(db, what) for what in EXPORTS), status, seconds


def test_a_replay_across_two_hosts_is_byte_identical_to_one_host(one_host):
    exports, status, seconds = run_on_two_hosts(one_host, "clean")
    trades, weights, decisions = one_host["exports"]
    assert trades and len(weights) > 10 and len(decisions) == 2 * 1440 // 15 * len(SYMBOLS)  # a decision a quarter hour
    assert any(v["model"] == "mistral_ai" and v["action"] for d in decisions for v in d["votes"])
    assert {a.name: a.host for a in status.actors if a.host} == dict.fromkeys(REMOTE, "b") and status.agents == ["b"]
    assert status.actor("lgbm_ai").counters.trainings >= 2 and status.actor("mistral_ai").counters.cache_hits > 20
    assert all(status.actor(name).restarts == 0 for name in REMOTE)  # one agent life: each started once
    assert exports == one_host["exports"]
    print(
        f"one host: {len(decisions) / one_host['seconds']:,.0f} bars/s; two namespaces: "
        f"{len(decisions) / seconds:,.0f} bars/s (whole run, start-up included)"
    )


def test_the_agent_killed_mid_replay_reconnects_and_the_replay_stays_identical(one_host):
    def kill_the_agent(daemon, agents, command, base):
        daemon.wait_for(lambda: daemon.actor("trader").msgs_in > 50, 60, "the replay under way")
        os.kill(agents[0].pid, signal.SIGKILL)
        agents[0].wait(10)
        daemon.wait_for(
            lambda: daemon.actor("lgbm_ai").state == "down", 30, "the daemon marking the agent's actors down"
        )
        assert daemon.status().agents == []
        agents.append(start_agent(command, base))
        daemon.wait_for(
            lambda: daemon.actor("lgbm_ai").state == "running" and daemon.status().agents == ["b"], 60, "the agent back"
        )

    exports, status, _ = run_on_two_hosts(one_host, "killed", speed="20000", during=kill_the_agent)
    assert status.actor("lgbm_ai").restarts >= 1
    assert exports == one_host["exports"]
