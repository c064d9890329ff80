"""Feed benchmark: a replay from market_feed into the recorder, lossless, at --speed max.

Consumes ../shared/data/klines (30 days x 5 symbols of 1m bars; 2 days with --quick); produces a
JSON section `feed` with `bars_per_s` (first send to last acknowledgement), `peak_rss_mb` per
actor (VmHWM), and the recording's `lmdb_bytes_per_message` and `lmdb_mib_per_million_bars`.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench.data import SYMBOLS
from bench.topology import measured, replay_config
from storage.store import Store
from storage.stream import StreamReader
from supervisor.harness import running_daemon


def measure(workdir: Path, start: str, end: str) -> dict[str, object]:
    db = workdir / "feed.lmdb"
    with running_daemon(workdir, replay_config(db, start, end, {"recorder": {}})) as daemon:
        feed, watcher = measured(daemon, 600)
    bars, seconds = feed.bars, feed.replay_s
    with Store(db, readonly=True) as store:
        size, messages = store.size_bytes(), StreamReader(store).count()
    return {
        "bars": bars,
        "bars_per_s": bars / seconds,
        "peak_rss_mb": watcher.peak_rss_mb,
        "messages": messages,
        "lmdb_bytes": size,
        "lmdb_bytes_per_message": size / messages,
        "lmdb_mib_per_million_bars": size / 2**20 / bars * 1e6,
    }


def run(runs: int, quick: bool) -> dict[str, object]:
    start, end = ("2021-04-02", "2021-04-04") if quick else ("2021-04-02", "2021-05-02")
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            results.append(measure(Path(workdir), start, end))
    rates = [r["bars_per_s"] for r in results]
    actors = sorted({name for r in results for name in r["peak_rss_mb"]})
    last = results[-1]
    return {
        "window": f"{start} .. {end} (exclusive), {len(SYMBOLS)} symbols, 1m",
        "bars": last["bars"],
        "bars_per_s": round(statistics.median(rates)),
        "bars_per_s_runs": [round(rate) for rate in rates],
        "peak_rss_mb": {name: round(max(r["peak_rss_mb"].get(name, 0) for r in results), 1) for name in actors},
        "messages": last["messages"],
        "lmdb_bytes_per_message": round(last["lmdb_bytes_per_message"]),
        "lmdb_mib_per_million_bars": round(last["lmdb_mib_per_million_bars"], 1),
    }
