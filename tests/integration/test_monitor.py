"""The monitor attached to a real running topology: every panel from real messages, restarts shown
after a kill -9, a stopped monitor never stalls the replay (`demo` end to end: test_demo)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from config.schema import PeperConfig
from llm.tiny_model import write_tiny_model
from monitor.app import Monitor
from storage.store import Store
from storage.stream import StreamReader
from supervisor.harness import alive, free_port, running_daemon, wait_for
from tests.helpers import topologies

PANEL_TITLES = (
    "actors",
    "market SYNTHETIC",
    "signals",
    "weights · version",
    "trading (paper)",
    "LLM server",
    "recorder",
)
MODELS = ("trading_ai", "lava_ai", "mistral_ai")


def topology(db: Path, model: Path, port: int, *, speed: str, days: int, chunk: int = 16) -> PeperConfig:
    actors = {"rl_learner": {}, "trader": {}, "llm_supervisor": {}, **{m: {} for m in MODELS}}
    return topologies.replay(
        db,
        "synthetic:5",
        ("", f"2021-01-0{1 + days}"),
        actors=actors,
        chunk=chunk,
        credit=64,
        symbols=["BTCUSDT", "ETHUSDT"],
        feed={"speed": speed},
        mistral={"model_path": str(model), "port": port, "health_check_interval_s": 0.5},
        mistral_ai={"every": "4h"},
    )


def watch(viewer: Monitor, seconds: float) -> None:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        viewer.step()


def row(text: str, name: str) -> list[str]:
    line = next(line for line in text.splitlines() if re.search(rf"\b{name}\b\s+(running|starting|backoff)", line))
    return line.replace("│", " ").split()


def test_every_panel_shows_the_running_topology_and_a_restart(tmp_path):
    model = write_tiny_model(tmp_path / "tiny.gguf")
    with running_daemon(tmp_path, topology(tmp_path / "rec", model, free_port(), speed="600", days=2)) as daemon:
        viewer = Monitor(daemon.config, daemon.run_dir)
        try:
            viewer.snapshot()
            wait_for(
                lambda: (
                    watch(viewer, 0.5)
                    or (
                        viewer.state.llm
                        and viewer.state.llm.state == "ready"
                        and len(viewer.state.weights) > 1
                        and viewer.state.closed
                    )
                ),
                90,
                "the LLM ready, a learned weights version and a closed trade on the monitor",
            )
            text = viewer.text(120, 40)
            for title in PANEL_TITLES:
                assert title in text, f"panel {title!r} missing:\n{text}"
            assert row(text, "trader")[1] == "running" and row(text, "trading_ai")[4] == "0"
            assert re.search(r"BTCUSDT\s+[\d,]+\.\d{4}\s+[+-]\d+\.\d\d %", text), text
            assert re.search(r"bar 2021-01-0\d \d\d:\d\d UTC · replay x[\d,]+ real time", text), text
            assert re.search(r"closed trades: [1-9]\d*\s+win rate: [\d.]+ %", text), text
            assert "ready, restarts 0, probe p50" in text and "cache hit rate" in text
            assert re.search(r"writes [\d,]+ msg/s · LMDB [\d.,]+ MiB", text), text
            assert re.search(r"lava_ai\s+[\d.]+\s+[▁▂▃▄▅▆▇█]+", text), text
            small = viewer.text(80, 24)
            assert len(small.splitlines()) <= 24 and max(map(len, small.splitlines())) <= 80
            for title in ("actors", "market", "weights", "trading", "LLM", "recorder"):
                assert title in small, f"{title!r} missing at 80x24:\n{small}"

            victim = daemon.actor("trading_ai").pid
            os.kill(victim, signal.SIGKILL)
            wait_for(
                lambda: watch(viewer, 0.3) or row(viewer.text(120, 40), "trading_ai")[4] == "1",
                20,
                "the restart on the monitor",
            )
            assert row(viewer.text(120, 40), "trading_ai")[2] != str(victim)
        finally:
            viewer.close()


def test_a_stopped_monitor_does_not_stall_the_replay(tmp_path, monkeypatch):
    """One tick per message and bus queues of 1,000: the paused monitor's backlog must be dropped
    for it alone, or the broker would block and the replay would stop with it."""
    monkeypatch.setenv("PEPER_BUS__HWM", "1000")
    model = write_tiny_model(tmp_path / "tiny.gguf")
    db = tmp_path / "rec"
    with running_daemon(tmp_path, topology(db, model, free_port(), speed="14400", days=1, chunk=1)) as daemon:
        config_path = daemon.config_path
        monitor = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "supervisor",
                "monitor",
                "--config",
                str(config_path),
                "--run-dir",
                str(daemon.run_dir),
                "--duration",
                "120",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        try:
            assert monitor.stderr.readline().strip() == "monitor: receiving from the bus"  # subscribed: now pause it
            os.kill(monitor.pid, signal.SIGSTOP)
            paused_at = time.monotonic()
            daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 60, "the replay to finish")
            assert time.monotonic() - paused_at < 10, "the replay did not finish while the monitor was paused"
            assert alive(monitor.pid)
        finally:
            os.kill(monitor.pid, signal.SIGCONT)
            monitor.terminate()
            monitor.wait(10)
            monitor.stderr.close()
    with Store(db, readonly=True) as store:
        bars = sum(
            len(msgspec.msgpack.decode(p)["open_time"]) // 8 for *_, p in StreamReader(store).records("md.kline")
        )
    assert bars == 2 * 1440
