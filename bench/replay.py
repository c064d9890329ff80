"""Replay benchmark: the whole topology against the raw bus, and its memory over long replays.

Consumes the shared klines; produces the sections `replay` and `memory`.
- replay: market_feed, trading_ai, lava_ai, lgbm_ai (a pinned stored model), mistral_ai (every
  answer from its cache), trader, rl_learner and recorder replaying the window at --speed max:
  `bars_per_s` (first send to last acknowledgement), `msgs_per_s` (messages recorded / s),
  `cpu_s_per_1000_bars` per actor. A warm-up pass first trains the lgbm models and fills the LLM
  cache from the tiny test model (mistral_ai asks every 240 bars, in both passes). In the same
  run, `raw_ceiling_bars_per_s`: as many processes (one pulse per publishing actor, sending the
  count and mean size that actor published; one sink in the recorder's place) moving the same
  messages through the same broker with no logic (a few thousand messages, far below the
  high-water mark; should one still be lost, the sink's sequence gaps or its streams' ends show it
  and the benchmark stops at once with an error naming the loss), from a common start until the
  sink has all;
  `full_over_raw` = bars_per_s / raw_ceiling_bars_per_s.
- memory: `peak_rss_mb` per actor (VmHWM) over the replay window, and over the 132-day 5m data,
  with the ratio long/short per actor: flat means memory does not grow with the replay's length.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.topology import counters_reported_after, measured, replay_config
from config.build import configured, topology
from config.schema import PeperConfig
from llm.tiny_model import write_tiny_model
from messages.errors import BenchError
from storage.models import latest_model
from storage.sessions import copy_database
from storage.store import Store
from storage.stream import StreamReader
from supervisor.harness import free_port, running_daemon, wait_for

MODELS = ["trading_ai", "strength_ai", "lava_ai", "lgbm_ai", "mistral_ai"]
ACTORS = ["recorder", "rl_learner", "trader", *MODELS]
ASK_EVERY = "1d"


def full_topology(
    db: Path,
    start: str,
    end: str,
    *,
    model: Path,
    port: int,
    pinned: int,
    interval: str = "1m",
    with_server: bool = False,
) -> PeperConfig:
    actors = {name: {} for name in ACTORS + (["llm_supervisor"] if with_server else [])}
    return replay_config(
        db,
        start,
        end,
        actors,
        interval=interval,
        lgbm_ai={"pinned_version": pinned},
        mistral={"model_path": str(model), "port": port},
        mistral_ai={"every": ASK_EVERY, "max_tokens": 192},
    )


def replay_once(
    workdir: Path,
    db: Path,
    start: str,
    end: str,
    *,
    model: Path,
    pinned: int,
    interval: str = "1m",
    with_server: bool = False,
    seed_from: Path | None = None,
) -> dict[str, object]:
    """One measured replay; `seed_from`: a store whose lgbm models and LLM answers are copied in first."""
    if seed_from is not None:
        _copy_models_and_cache(seed_from, db)
    config = full_topology(
        db, start, end, model=model, port=free_port(), pinned=pinned, interval=interval, with_server=with_server
    )
    workdir.mkdir(parents=True, exist_ok=True)
    with running_daemon(workdir, config) as daemon:
        feed, watcher = measured(daemon, 3600)
        mistral = counters_reported_after(daemon, "mistral_ai", time.monotonic()).counters
    return {
        "bars": feed.bars,
        "seconds": feed.replay_s,
        "cpu_s": watcher.cpu_s,
        "peak_rss_mb": watcher.peak_rss_mb,
        "mistral": mistral,
    }


def prepared_models(scratch: Path, start: str, end: str) -> tuple[Path, Path, int]:
    """The warm-up pass: the tiny LLM written, lgbm_ai trained walk-forward and mistral_ai's answers
    cached over the window, with the LLM server; returns (model file, the warm store, the newest
    lgbm version to pin)."""
    model = write_tiny_model(scratch / "tiny.gguf")
    db = scratch / "warm.lmdb"
    replay_once(scratch / "warm", db, start, end, model=model, pinned=0, with_server=True)
    with Store(db) as store:
        pinned = (latest_model(store) or (0, b""))[0]
    return model, db, pinned


def published(db: Path) -> dict[str, tuple[int, float]]:
    """Per publishing actor: (messages, mean payload bytes) in the recording."""
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    with Store(db, readonly=True) as store:
        for topic, _, src, _, payload in StreamReader(store).records():
            if topic.startswith(("ack.", "sys.")):
                continue
            counts[src] += 1
            sizes[src] += len(payload)
    return {src: (counts[src], sizes[src] / counts[src]) for src in counts}


def raw_ceiling(workdir: Path, traffic: dict[str, tuple[int, float]], bars: int) -> tuple[float, int]:
    """Seconds from a common start until one sink has every message; returns (bars/s, messages)."""
    total = sum(count for count, _ in traffic.values())
    start_at = time.time() + 2.0 + 0.4 * len(traffic)  # after every process is up
    workdir.mkdir(parents=True, exist_ok=True)
    pulses = {
        f"pulse_{index}": {
            "module": "actors.pulse",
            "restart": "transient",
            "after": ["sink"],
            "args": ["--count", str(count), "--payload-bytes", str(int(size)), "--start-at", str(start_at)],
        }
        for index, (src, (count, size)) in enumerate(sorted(traffic.items()))
    }
    config = configured(actors=topology(sink={"args": ["--ack-every", "1000000000"]}, **pulses))

    def complete() -> bool:
        sink = daemon.actor("sink")
        lost = sink.seq_gaps or (sink.counters.ends == len(traffic) and sink.counters.pulses < total)
        if lost:
            raise BenchError(
                f"the raw run lost messages: the sink has {sink.counters.pulses} of {total}, "
                f"{sink.seq_gaps} sequence gaps; a benchmark that loses messages measures nothing"
            )
        return sink.counters.pulses >= total

    with running_daemon(workdir, config) as daemon:
        wait_for(complete, 600, "the sink got every message", interval_s=0.005)
        finished = time.time()
    return bars / (finished - start_at), total


def _median(values: list[float], digits: int = 1) -> float:
    return round(statistics.median(values), digits)


def run(runs: int, quick: bool, window: tuple[str, str] | None = None) -> dict[str, object]:
    start, end = window or (("2021-04-02", "2021-04-05") if quick else ("2021-04-02", "2021-05-02"))
    results, raws = [], []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        started = time.monotonic()
        model, db, pinned = prepared_models(scratch, start, end)
        warmup_s = time.monotonic() - started
        traffic = None
        for index in range(runs):
            run_db = scratch / f"run-{index}.lmdb"
            results.append(
                replay_once(scratch / f"run-{index}", run_db, start, end, model=model, pinned=pinned, seed_from=db)
            )
            traffic = traffic or published(run_db)
            raws.append(raw_ceiling(scratch / f"raw-{index}", traffic, results[-1]["bars"]))
    bars = results[-1]["bars"]
    rates = [r["bars"] / r["seconds"] for r in results]
    messages = sum(count for count, _ in traffic.values())
    raw_rates = [rate for rate, _ in raws]
    actors = sorted({name for r in results for name in r["cpu_s"]})
    return {
        "window": f"{start} .. {end} (exclusive), 5 symbols, 1m",
        "bars": bars,
        "bars_per_s": _median(rates),
        "bars_per_s_runs": [round(r, 1) for r in rates],
        "msgs_per_s": _median([messages / r["seconds"] for r in results]),
        "msgs_per_s_runs": [round(messages / r["seconds"], 1) for r in results],
        "messages": messages,
        "raw_ceiling_bars_per_s": _median(raw_rates),
        "raw_ceiling_bars_per_s_runs": [round(r, 1) for r in raw_rates],
        "full_over_raw": round(statistics.median(rates) / statistics.median(raw_rates), 3),
        "cpu_s_per_1000_bars": {
            name: round(statistics.median(r["cpu_s"].get(name, 0.0) for r in results) / bars * 1000, 4)
            for name in actors
        },
        "lgbm_pinned_version": pinned,
        "mistral_cache_hits": results[-1]["mistral"].cache_hits,
        "mistral_llm_requests": results[-1]["mistral"].llm_requests,
        "warmup_s": round(warmup_s, 1),
        "peak_rss_mb": {name: round(max(r["peak_rss_mb"].get(name, 0.0) for r in results), 1) for name in actors},
    }


def _copy_models_and_cache(source: Path, target: Path) -> None:
    with Store(source, readonly=True) as read, Store(target) as write:
        for name in ("models", "llm_cache"):
            copy_database(read, write, name)


def memory(replay_section: dict[str, object], quick: bool, window: tuple[str, str] | None = None) -> dict[str, object]:
    """Peak RSS per actor on the 5m data (132 days; 14 with --quick) beside the replay's."""
    start, end = window or (("2021-01-01", "2021-01-15") if quick else ("2021-01-01", "2021-05-13"))
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        model = write_tiny_model(scratch / "tiny.gguf")
        long = replay_once(scratch / "long", scratch / "long.lmdb", start, end, model=model, pinned=0, interval="5m")
    short = replay_section["peak_rss_mb"]
    return {
        "window_short": replay_section["window"],
        "bars_short": replay_section["bars"],
        "window_long": f"{start} .. {end} (exclusive), 5 symbols, 5m",
        "bars_long": long["bars"],
        "peak_rss_mb": short,
        "peak_rss_mb_long": {name: round(value, 1) for name, value in sorted(long["peak_rss_mb"].items())},
        "long_over_short": {
            name: round(long["peak_rss_mb"].get(name, 0.0) / short[name], 2) for name in short if short[name]
        },
    }
