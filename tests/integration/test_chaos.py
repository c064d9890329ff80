"""Chaos: every actor and the LLM server SIGKILLed twice at random moments of a 5-day replay of the
shared data — and the trades, weights and decisions are byte-identical to an undisturbed replay's,
and the recording holds every data frame of every publisher exactly once.

The schedule comes from a seed: `PEPER_CHAOS_SEED` when set, else a new one each run (more
schedules tried over time). The seed is in the test's output and in every failure message; run
again with `PEPER_CHAOS_SEED=<seed>` to reproduce a failure.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import psutil

from config.build import configured
from config.schema import PeperConfig
from llm.tiny_model import write_tiny_model
from messages import topics
from storage.store import Store
from storage.stream import StreamReader
from supervisor.harness import DaemonHandle, free_port, running_daemon, wait_for
from tests.helpers import topologies
from tests.helpers.data import KLINES, REPO_ROOT, requires_shared_data

pytestmark = requires_shared_data
WINDOW = ("2021-04-02", "2021-04-07")  # 5 days x 5 symbols of 1m bars
ACTORS = (
    "market_feed",
    "recorder",
    "trader",
    "rl_learner",
    "trading_ai",
    "strength_ai",
    "lava_ai",
    "lgbm_ai",
    "mistral_ai",
    "llm_supervisor",
)
LLM_SERVER = "llm server"
CRASH = re.compile(r"Traceback|exited with status [1-9]|server exited \(status [1-9]")  # not a kill's -9
SPEED = "43200"  # the 5 days in about 10 s undisturbed


def chaos_config(db: Path, model: Path, speed: str) -> PeperConfig:
    actors = {name: {} for name in ACTORS if name != "market_feed"}
    config = topologies.replay(
        db,
        KLINES,
        WINDOW,
        actors=actors,
        chunk=64,
        credit=256,
        feed={"speed": speed},
        lgbm_ai={"min_train": "1d", "retrain_every": "1d", "train_window": "1d", "n_estimators": 30},
        mistral={"model_path": str(model), "port": free_port(), "health_check_interval_s": 0.5},
        mistral_ai={"every": "4h", "max_tokens": 96},
    )
    return configured(config, supervisor={"max_restarts": 10, "restart_period_s": 60.0})


def exports(db: Path) -> dict[str, bytes]:
    found = {}
    for what in ("trades", "weights", "decisions"):
        result = subprocess.run(
            [sys.executable, "-m", "supervisor", "export", what, "--db", str(db)],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
            timeout=120,
        )
        found[what] = result.stdout
    return found


def incomplete_publishers(db: Path) -> dict[tuple[str, str], str]:
    """Every (publisher, data topic) whose recorded seqs are not exactly 1..N once each."""
    seqs: dict[tuple[str, str], list[int]] = defaultdict(list)
    with Store(db, readonly=True) as store:
        for topic, _, src, seq, _ in StreamReader(store).records():
            if topics.is_data(topic):
                seqs[(src, topic)].append(seq)
    return {
        key: f"{len(found)} frames, {len(set(found))} distinct seqs, max {max(found)}"
        for key, found in seqs.items()
        if sorted(found) != list(range(1, len(found) + 1))
    }


def server_pid(daemon: DaemonHandle) -> int | None:
    supervisor = daemon.actor("llm_supervisor").pid
    try:
        children = psutil.Process(supervisor).children() if supervisor else []
    except psutil.NoSuchProcess:  # the daemon's status still names a llm_supervisor just killed
        return None
    return children[0].pid if children else None


def kill(daemon: DaemonHandle, victim: str, killed: set[int]) -> None:
    """SIGKILL the victim once it runs in a process not killed before (it may still be restarting)."""

    def fresh_pid() -> int | None:
        if victim == LLM_SERVER:
            pid = server_pid(daemon)
        else:
            actor = daemon.actor(victim)
            pid = actor.pid if actor.state == "running" else None
        return pid if pid not in killed else None

    pid = wait_for(fresh_pid, 60, f"{victim} running again")
    killed.add(pid)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # it died on its own meanwhile (a server whose supervisor was just killed)
        pass


def test_every_actor_killed_twice_leaves_the_replay_byte_identical_and_the_recording_complete(tmp_path):
    seed = int(os.environ.get("PEPER_CHAOS_SEED") or time.time_ns() % 1_000_000)
    print(f"chaos seed {seed} (PEPER_CHAOS_SEED={seed} reproduces this schedule)")
    rng = random.Random(seed)
    victims = [*ACTORS, LLM_SERVER] * 2
    rng.shuffle(victims)
    moments = sorted(rng.uniform(1.0, 9.0) for _ in victims)
    model = write_tiny_model(tmp_path / "tiny.gguf")

    calm = tmp_path / "calm.lmdb"
    with running_daemon(tmp_path / "calm", chaos_config(calm, model, "max")) as daemon:
        wait_for(lambda: daemon.actor("market_feed").state == "done", 300, "the undisturbed replay finished")

    stormy = tmp_path / "stormy.lmdb"
    with running_daemon(tmp_path / "stormy", chaos_config(stormy, model, SPEED)) as daemon:
        wait_for(lambda: daemon.actor("market_feed").state in ("running", "done"), 60, "the feed running")
        started, killed = time.monotonic(), set()
        for moment, victim in zip(moments, victims):
            time.sleep(max(0.0, started + moment - time.monotonic()))
            kill(daemon, victim, killed)
        wait_for(lambda: daemon.actor("market_feed").state == "done", 600, f"the replay finished (seed {seed})")
        restarts = {actor.name: actor.restarts for actor in daemon.status().actors}
        crashes = [line for line in daemon.log().splitlines() if CRASH.search(line)]
    assert not crashes, f"seed {seed}: a process crashed besides the kills: {crashes[:3]}"
    for name in ACTORS:
        assert restarts[name] >= 2, f"seed {seed}: {name} restarted {restarts[name]} times, not after both kills"
    assert exports(stormy) == exports(calm), f"seed {seed}: the exports differ from the undisturbed replay's"
    assert not incomplete_publishers(stormy), f"seed {seed}: {incomplete_publishers(stormy)}"
    assert not incomplete_publishers(calm)
