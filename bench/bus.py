"""Bus benchmark: messages/s through the real broker, and how fast the supervisor restores actors.

Consumes nothing but the repository; produces a JSON section `bus` with
`msgs_per_s` (pulse -> broker -> sink, end to end, every message acknowledged),
`kill9_to_running_ms` (kill -9 of the sink until its replacement is ready) and
`sigstop_to_running_ms` (SIGSTOP until the hung sink is detected, killed and replaced), each the
median of `runs` with the runs beside it. Heartbeat settings are the shipped defaults.
`transport = "tcp"` puts every actor and client on the daemon's tcp sockets (127.0.0.1);
`curve = True` makes every bus socket authenticate and encrypt (fresh keys for the run), so the
difference between two runs is what CURVE costs per message and per (re)connection.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import tempfile
import time
from pathlib import Path

from bus.curve import make_bundles
from config.build import configured, topology
from config.schema import PeperConfig
from supervisor.harness import free_port, running_daemon, wait_for

_DELIVERED = re.compile(r"delivered (\d+) messages to sink in ([0-9.]+) s")


def on_the_bus(workdir: Path, actors: dict, transport: str, curve: bool) -> PeperConfig:
    bus: dict[str, object] = {}
    if transport == "tcp":
        bus.update(transport="tcp", tcp_host="127.0.0.1", connect_host="127.0.0.1", tcp_base_port=free_port())
    if curve:
        bus["curve_keys"] = str(make_bundles(workdir / "keys", ["bench"])["daemon"])
    return configured(actors=actors, bus=bus)


def measure_throughput(
    workdir: Path, count: int, payload_bytes: int, transport: str = "ipc", curve: bool = False
) -> float:
    pulse = {
        "restart": "transient",
        "after": ["sink"],
        "args": ["--count", str(count), "--payload-bytes", str(payload_bytes), "--ackers", "sink"],
    }
    with running_daemon(workdir, on_the_bus(workdir, topology("sink", pulse=pulse), transport, curve)) as daemon:
        match = wait_for(lambda: _DELIVERED.search(daemon.log()), 300, "pulse delivered everything")
    return int(match.group(1)) / float(match.group(2))


def measure_restart_ms(workdir: Path, signum: int, transport: str = "ipc", curve: bool = False) -> float:
    config = on_the_bus(
        workdir, topology("sink", pulse={"after": ["sink"], "args": ["--rate", "100"]}), transport, curve
    )
    with running_daemon(workdir, config, fast=False) as daemon:  # the shipped heartbeat and backoff settings
        old_pid = daemon.actor("sink").pid
        started = time.monotonic()
        os.kill(old_pid, signum)
        wait_for(
            lambda: (a := daemon.actor("sink")).state == "running" and a.pid not in (None, old_pid), 60, "sink back"
        )
        return (time.monotonic() - started) * 1000


def run(runs: int, quick: bool, transport: str = "ipc", curve: bool = False) -> dict[str, object]:
    count = 50_000 if quick else 300_000
    payload_bytes = 150
    results: dict[str, list[float]] = {"msgs_per_s": [], "kill9_to_running_ms": [], "sigstop_to_running_ms": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            results["msgs_per_s"].append(measure_throughput(Path(workdir), count, payload_bytes, transport, curve))
        with tempfile.TemporaryDirectory() as workdir:
            results["kill9_to_running_ms"].append(measure_restart_ms(Path(workdir), signal.SIGKILL, transport, curve))
        with tempfile.TemporaryDirectory() as workdir:
            results["sigstop_to_running_ms"].append(measure_restart_ms(Path(workdir), signal.SIGSTOP, transport, curve))
    section: dict[str, object] = {
        "transport": transport,
        "curve": curve,
        "messages": count,
        "payload_bytes": payload_bytes,
    }
    for key, values in results.items():
        section[key] = round(statistics.median(values), 1)
        section[f"{key}_runs"] = [round(value, 1) for value in values]
    return section
