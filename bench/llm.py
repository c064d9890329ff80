"""LLM benchmark on the tiny random-weight model: start-to-ready, probe latency, recovery.

Runs a real llama.cpp server under the real llm_supervisor (health_check_interval_s 1 s, probe
timeout 2 s) and produces a JSON section `llm` with `start_to_ready_ms`, `probe_latency_ms` (p50 of
the supervisor's probes: liveness + one-token completion), `kill9_to_ready_ms` and
`sigstop_to_ready_ms` (fault injected into the server -> detected -> restarted -> ready again),
each the median of the runs with the runs beside it.
"""

from __future__ import annotations

import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

from analytics.recording import recorded_messages
from config.build import configured, topology
from llm.tiny_model import write_tiny_model
from supervisor.harness import free_port, listening_pid, running_daemon, wait_for


def measure(workdir: Path, fault: int) -> dict[str, float]:
    model = write_tiny_model(workdir / "tiny.gguf")
    port = free_port()
    db = workdir / "llm.lmdb"
    config = configured(
        database={"path": str(db)},
        actors=topology("recorder", "llm_supervisor"),
        mistral={
            "model_path": str(model),
            "port": port,
            "health_check_interval_s": 1.0,
            "probe_timeout_s": 2.0,
            "backoff_initial_s": 0.1,
        },
    )
    with running_daemon(workdir, config) as daemon:

        def counters():
            return daemon.actor("llm_supervisor").counters

        wait_for(lambda: counters().probes >= 3, 60, "three probes")
        start_to_ready = counters().start_to_ready_ms
        started = time.monotonic()
        os.kill(listening_pid(port), fault)
        wait_for(lambda: _ready_after_restart(db), 60, "ready again")
        recovered = (time.monotonic() - started) * 1000
    latencies = [s.latency_p50_ms for s in recorded_messages(db, "llm.status") if s.latency_p50_ms is not None]
    return {
        "start_to_ready_ms": start_to_ready,
        "probe_latency_ms": latencies[-1] if latencies else None,
        "recovered_ms": recovered,
    }


def _ready_after_restart(db: Path) -> bool:
    states = [s.state for s in recorded_messages(db, "llm.status")]
    return "down" in states and "ready" in states[states.index("down") :]


def run(runs: int, quick: bool) -> dict[str, object]:
    results: dict[str, list[float]] = {
        "start_to_ready_ms": [],
        "probe_latency_ms": [],
        "kill9_to_ready_ms": [],
        "sigstop_to_ready_ms": [],
    }
    for _ in range(runs):
        for fault, key in ((signal.SIGKILL, "kill9_to_ready_ms"), (signal.SIGSTOP, "sigstop_to_ready_ms")):
            with tempfile.TemporaryDirectory() as workdir:
                measured = measure(Path(workdir), fault)
            results[key].append(measured["recovered_ms"])
            results["start_to_ready_ms"].append(measured["start_to_ready_ms"])
            if measured["probe_latency_ms"] is not None:
                results["probe_latency_ms"].append(measured["probe_latency_ms"])
    section: dict[str, object] = {"health_check_interval_s": 1.0, "probe_timeout_s": 2.0}
    for key, values in results.items():
        section[key] = round(statistics.median(values), 1) if values else None
        section[f"{key}_runs"] = [round(v, 1) for v in values]
    return section
