"""Recorder benchmark: messages/s into LMDB, in durable batches, and bytes per message on disk.

Consumes nothing but the repository; produces the section `recorder`: a pulse sends `messages`
messages of `payload_bytes` at full speed; `msgs_per_s` is messages / (time from the pulse
running until the recorder's counter of committed messages reaches them all), beside
`batches` (durable transactions), `messages_per_batch` and `lmdb_bytes_per_message`.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from config.build import configured, topology
from storage.store import Store
from supervisor.harness import running_daemon, wait_for

PAYLOAD_BYTES = 150


def measure(workdir: Path, count: int) -> dict[str, float]:
    db = workdir / "rec.lmdb"
    start_at = time.time() + 4  # every process is up by then
    pulse = {
        "restart": "transient",
        "after": ["recorder"],
        "args": ["--count", str(count), "--payload-bytes", str(PAYLOAD_BYTES), "--start-at", str(start_at)],
    }
    config = configured(database={"path": str(db)}, actors=topology("recorder", pulse=pulse))
    with running_daemon(workdir, config) as daemon:
        recorder = wait_for(
            lambda: (r := daemon.actor("recorder")).counters.written >= count and r,
            300,
            "every message committed",
            interval_s=0.005,
        )
        seconds = time.time() - start_at
    with Store(db, readonly=True) as store:
        size = store.size_bytes()
    written, batches = recorder.counters.written, recorder.counters.batches
    return {
        "msgs_per_s": count / seconds,
        "batches": batches,
        "messages_per_batch": written / max(1, batches),
        "lmdb_bytes_per_message": size / written,
    }


def run(runs: int, quick: bool, count: int | None = None) -> dict[str, object]:
    count = count or (50_000 if quick else 300_000)
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            results.append(measure(Path(workdir), count))
    rates = [r["msgs_per_s"] for r in results]
    return {
        "messages": count,
        "payload_bytes": PAYLOAD_BYTES,
        "msgs_per_s": round(statistics.median(rates), 1),
        "msgs_per_s_runs": [round(r, 1) for r in rates],
        "batches": results[-1]["batches"],
        "messages_per_batch": round(results[-1]["messages_per_batch"], 1),
        "lmdb_bytes_per_message": round(results[-1]["lmdb_bytes_per_message"], 1),
    }
