"""Recovery benchmark: kill -9 of each actor in a running full topology until it is back at work.

Consumes the shared klines and the tiny test model; produces the section `recovery`: `ms` per
actor — from the kill until the replacement is running *and* has published again (a model voted,
the trader decided, the recorder acknowledged, the feed sent, the learner credited) — with the
runs beside it; and the llama.cpp server's
kill -9 and SIGSTOP until ready again (`llm_server_kill9_ms`, `llm_server_sigstop_ms`), from the
`llm` benchmark's measurement. Supervision uses the shipped heartbeat and backoff settings.
"""

from __future__ import annotations

import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

from bench import llm
from bench.replay import full_topology
from config.build import configured
from llm.tiny_model import write_tiny_model
from supervisor.harness import free_port, running_daemon, wait_for

VICTIMS = ("trading_ai", "lava_ai", "lgbm_ai", "mistral_ai", "trader", "rl_learner", "recorder", "market_feed")


def measure(workdir: Path, victims: tuple[str, ...]) -> dict[str, float]:
    model = write_tiny_model(workdir / "tiny.gguf")
    config = full_topology(workdir / "rec.lmdb", "2021-04-02", "2021-04-20", model=model, port=free_port(), pinned=0)
    config = configured(config, feed={"speed": "1200"})
    measured: dict[str, float] = {}
    with running_daemon(workdir, config, fast=False) as daemon:  # the shipped heartbeat and backoff settings
        for name in victims:
            before = daemon.actor(name)
            wait_for(
                lambda name=name, before=before: daemon.actor(name).msgs_out > before.msgs_out,
                30,
                f"{name} publishing before the kill",
            )
            started = time.monotonic()
            os.kill(before.pid, signal.SIGKILL)
            wait_for(
                lambda name=name, before=before: (
                    (a := daemon.actor(name)).pid not in (None, before.pid) and a.state == "running"
                ),
                60,
                f"{name} running again",
            )
            wait_for(
                lambda name=name: daemon.actor(name).msgs_out > 0, 60, f"{name} publishing again", interval_s=0.005
            )
            measured[name] = (time.monotonic() - started) * 1000
    return measured


def run(runs: int, quick: bool, victims: tuple[str, ...] | None = None) -> dict[str, object]:
    victims = victims or (VICTIMS[:2] + ("trader",) if quick else VICTIMS)
    results: dict[str, list[float]] = {name: [] for name in victims}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            for name, value in measure(Path(workdir), victims).items():
                results[name].append(value)
    server = llm.run(1 if quick else runs, quick)
    return {
        "ms": {name: round(statistics.median(values), 1) for name, values in results.items()},
        "ms_runs": {name: [round(v, 1) for v in values] for name, values in results.items()},
        "llm_server_kill9_ms": server["kill9_to_ready_ms"],
        "llm_server_kill9_ms_runs": server["kill9_to_ready_ms_runs"],
        "llm_server_sigstop_ms": server["sigstop_to_ready_ms"],
        "llm_server_sigstop_ms_runs": server["sigstop_to_ready_ms_runs"],
    }
