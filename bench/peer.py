"""Peer benchmark: Peper's full topology beside nautilus_trader and freqtrade, on the same bars.

Consumes the shared 1m klines (five symbols, 2021-04-02 .. 05-14: 42 days, ~300 k bars; three days
with --quick); produces the section `peer`. Each run, alternating, on the same bars:
- nautilus_trader (`bench.peers.nautilus_run`, its own process): a long-only EMA 10/20 cross per
  symbol, 0.1 % fee, logging bypassed, no analysis; bars/s through `engine.run()`;
- freqtrade (`bench.peers.freqtrade_run`, in its own virtual environment, offline: markets served
  locally, every network call refused): the same strategy and fee; bars/s in its backtest phase;
- Peper: the whole topology (four models — lgbm_ai on a stored model, mistral_ai from its cache —
  trader, learner, recorder) replaying the window at full speed, first send to last acknowledgement;
and once more Peper with lgbm_ai training walk-forward inside the timed run (`ours_training`).
Each row has bars/s, trades (closed round trips) and peak RSS (ours: the sum over its processes,
and the largest one); `ratio` = ours over the faster peer. A warm-up pass first trains the lgbm
models and fills the LLM cache (as `bench replay`).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from analytics.recording import recorded_messages
from bench.data import KLINES, SYMBOLS
from bench.peers.freqtrade_env import freqtrade_python
from bench.replay import prepared_models, replay_once
from common.times import parse_time
from messages import topics
from messages.errors import BenchError

WINDOW = ("2021-04-02", "2021-05-14")
QUICK_WINDOW = ("2021-04-02", "2021-04-05")
FREQTRADE_RUNNER = Path(__file__).with_name("peers") / "freqtrade_run.py"


def run_nautilus(start: str, end: str) -> dict[str, object]:
    return _json_of(
        [sys.executable, "-m", "bench.peers.nautilus_run", "--start", start, "--end", end], "nautilus_trader"
    )


def run_freqtrade(python: Path, start: str, end: str, workdir: Path) -> dict[str, object]:
    found = _json_of(
        [
            str(python),
            str(FREQTRADE_RUNNER),
            "--data",
            str(KLINES),
            "--symbols",
            *SYMBOLS,
            "--start-ms",
            str(parse_time(start)),
            "--end-ms",
            str(parse_time(end)),
            "--workdir",
            str(workdir),
        ],
        "freqtrade",
    )
    if found["network_refused"]:
        raise BenchError(f"freqtrade tried the network ({', '.join(found['network_refused'])}): not an offline run")
    return found


def run_ours(
    workdir: Path, start: str, end: str, model: Path, pinned: int, source_db: Path | None
) -> dict[str, object]:
    db = workdir / "ours.lmdb"
    result = replay_once(workdir, db, start, end, model=model, pinned=pinned, seed_from=source_db)
    trades = len(recorded_messages(db, topics.TRADE_CLOSED))
    return {
        "bars": result["bars"],
        "seconds": result["seconds"],
        "trades": trades,
        "peak_rss_mb": sum(result["peak_rss_mb"].values()),
        "largest_process_mb": max(result["peak_rss_mb"].values()),
    }


def _json_of(command: list[str], peer: str) -> dict[str, object]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    if result.returncode != 0:
        raise BenchError(f"the {peer} peer failed (exit {result.returncode}): {result.stderr.strip()[-800:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _rate(result: dict[str, object]) -> float:
    return round(result["bars"] / result["seconds"], 1)


def run(runs: int, quick: bool, window: tuple[str, str] | None = None, status=lambda text: None) -> dict[str, object]:
    start, end = window or (QUICK_WINDOW if quick else WINDOW)
    python = freqtrade_python(status)
    rows: dict[str, list[dict[str, object]]] = {"nautilus": [], "freqtrade": [], "ours": [], "ours_training": []}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        model, warm_db, pinned = prepared_models(scratch, start, end)
        for index in range(runs):
            status(f"run {index + 1}/{runs}: nautilus_trader")
            rows["nautilus"].append(run_nautilus(start, end))
            status(f"run {index + 1}/{runs}: freqtrade")
            rows["freqtrade"].append(run_freqtrade(python, start, end, scratch / f"freqtrade-{index}"))
            status(f"run {index + 1}/{runs}: Peper's topology")
            rows["ours"].append(run_ours(scratch / f"ours-{index}", start, end, model, pinned, warm_db))
        status("Peper's topology with lgbm_ai training walk-forward inside the timed run")
        rows["ours_training"].append(run_ours(scratch / "ours-training", start, end, model, 0, None))
    section: dict[str, object] = {
        "window": f"{start} .. {end} (exclusive), 5 symbols, 1m",
        "bars": rows["ours"][-1]["bars"],
        "strategy": "peers: long-only EMA 10/20 cross, 0.1 % fee; ours: the full topology",
    }
    for name, results in rows.items():
        rates = [_rate(r) for r in results]
        section[f"{name}_bars_per_s"] = statistics.median(rates)
        section[f"{name}_bars_per_s_runs"] = rates
        section[f"{name}_trades"] = results[-1]["trades"]
        section[f"{name}_peak_rss_mb"] = round(max(r["peak_rss_mb"] for r in results), 1)
    section["ours_largest_process_mb"] = round(max(r["largest_process_mb"] for r in rows["ours"]), 1)
    section["nautilus_bars"], section["freqtrade_bars"] = rows["nautilus"][-1]["bars"], rows["freqtrade"][-1]["bars"]
    faster = max(section["nautilus_bars_per_s"], section["freqtrade_bars_per_s"])
    section["ratio"] = round(section["ours_bars_per_s"] / faster, 3)
    section["ratio_training"] = round(section["ours_training_bars_per_s"] / faster, 3)
    return section
