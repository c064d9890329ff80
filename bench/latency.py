"""Latency benchmark: the live path against the Binance double, closing frame -> decision.

Consumes the shared 1m klines served by the local Binance double (real websocket on 127.0.0.1, one
bar every `BAR_PERIOD_S`); produces the section `latency`: per (bar, symbol), the time from the
double starting to send the bar's closing frames to the trader publishing its decision (the
decision's `ts_sent`), as p50 / p99 / p99.9 in µs; first with the LLM excluded (trading_ai,
lava_ai, lgbm_ai), then (`llm_*`) with mistral_ai and the tiny model's server in the topology
(live, a cache miss never blocks a bar). The feed, the models, the trader and the broker run at
the default `[supervisor] realtime_priority` (SCHED_FIFO, the section's `realtime_priority`; without
root or CAP_SYS_NICE they run ordinary and say so in their logs). Bars backfilled over REST at
start are not counted. Per hop (`hop_p50_us`, `hop_p99_us`), from the messages' `ts_sent` stamps:
closing frame -> the feed's kline message, kline -> each model's votes, the last vote -> the
trader's decision. Beside them, the transport floor (`bench.hop`): bare ZeroMQ hops between idle
processes, through a broker and direct — one hop, and the three a decision takes.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import numpy as np

from analytics.recording import recorded_messages
from bench.data import KLINES, SYMBOLS
from bench.hop import run as transport_floor
from bench.topology import SEED_WEIGHTS
from common.times import parse_time
from config.build import configured
from config.schema import PeperConfig, SupervisorConfig
from llm.tiny_model import write_tiny_model
from marketdata.binance_double import BinanceDouble
from marketdata.sources import load_source
from messages import topics
from messages.market import KlineBatch
from messages.signals import VoteBatch
from messages.trading import DecisionBatch
from supervisor.harness import free_port, running_daemon

BAR_PERIOD_S = 0.05


def topology(db: Path, double: BinanceDouble, model: Path | None) -> PeperConfig:
    models = ["trading_ai", "lava_ai", "lgbm_ai"] + (["mistral_ai"] if model else [])
    actors = {
        name: {} for name in ("recorder", "rl_learner", "trader", *models, *(["llm_supervisor"] if model else []))
    }
    llm = (
        {"mistral": {"model_path": str(model), "port": free_port()}, "mistral_ai": {"every": "15m", "history": "10m"}}
        if model
        else {}
    )
    # every 1m bar is a decision bar: each closing frame goes the whole way to a decision
    return configured(
        test={"symbols": SYMBOLS},
        database={"path": str(db)},
        feed={
            "mode": "live",
            "ws_url": double.ws_url,
            "rest_url": double.rest_url,
            "tick_deadline_s": 10.0,
            "interval": "1m",
            "decision_interval": "1m",
        },
        trader={"vote_deadline_ms": 2000},
        learning={"initial_weights": {m: SEED_WEIGHTS[m] for m in models}, "update_every": "1m"},
        trading_ai={"lookbacks": ["3m", "5m", "10m"]},
        lava_ai={"window": "5m"},
        lgbm_ai={"horizon": "5m", "min_train": "1d"},
        actors={**actors, "market_feed": {}},
        **llm,
    )


def measure(workdir: Path, bars: int, with_llm: bool) -> tuple[list[float], dict[str, list[float]]]:
    start = parse_time("2021-04-05")
    table = load_source(str(KLINES), interval="1m", symbols=SYMBOLS, start_ms=start, end_ms=start + bars * 60_000)
    db = workdir / "live.lmdb"
    model = write_tiny_model(workdir / "tiny.gguf") if with_llm else None
    double = BinanceDouble(table, bar_period_s=BAR_PERIOD_S).start()
    try:
        with running_daemon(workdir, topology(db, double, model)) as daemon:
            last = int(table.open_time[-1])
            daemon.wait_for(lambda: double.finished, 600, "the double sent every bar")  # no status query: it costs CPU
            daemon.wait_for(lambda: any(d.bar_time[-1] == last for d in _decisions(db)), 60, "the last bar decided")
    finally:
        double.stop()
    sent = double.closing_sent_ns
    decisions = [d for d in _decisions(db) if d.bar_time[0] in sent]
    total = [(d.ts_sent - sent[d.bar_time[0]]) / 1000 for d in decisions for _ in d.symbol]
    return total, hops(db, decisions, sent)


def hops(db: Path, decisions: list[DecisionBatch], sent: dict[int, int]) -> dict[str, list[float]]:
    """Per bar, where the time went (µs, from `ts_sent` stamps): closing frame -> the feed's kline
    message (`feed`), kline -> each model's votes (`<model>`), the last vote -> the decision (`trader`)."""
    klines = {k.open_time[0]: k.ts_sent for k in recorded_messages(db, topics.KLINE) if isinstance(k, KlineBatch)}
    votes: dict[str, dict[int, int]] = {}
    for model in {v.model for d in decisions for v in d.votes(0)}:
        for batch in recorded_messages(db, topics.signal(model)):
            if isinstance(batch, VoteBatch) and batch.rows:
                votes.setdefault(model, {})[int(batch.bar_time[0])] = batch.ts_sent
    found: dict[str, list[float]] = {"feed": [], "trader": [], **{model: [] for model in votes}}
    for decision in decisions:
        bar = decision.bar_time[0]
        if bar not in klines or any(bar not in by_bar for by_bar in votes.values()):
            continue
        found["feed"].append((klines[bar] - sent[bar]) / 1000)
        for model, by_bar in votes.items():
            found[model].append((by_bar[bar] - klines[bar]) / 1000)
        found["trader"].append((decision.ts_sent - max(by_bar[bar] for by_bar in votes.values())) / 1000)
    return found


def _decisions(db: Path) -> list[DecisionBatch]:
    """Live, one batch per tick: every symbol of the bar, decided together."""
    return [m for m in recorded_messages(db, "decision") if isinstance(m, DecisionBatch)]


def _percentiles(samples: list[float]) -> dict[str, float]:
    values = np.array(samples)
    return {
        "p50_us": round(float(np.percentile(values, 50)), 1),
        "p99_us": round(float(np.percentile(values, 99)), 1),
        "p99_9_us": round(float(np.percentile(values, 99.9)), 1),
    }


def run(runs: int, quick: bool, bars: int | None = None) -> dict[str, object]:
    bars = bars or (100 if quick else 600)
    section: dict[str, object] = {
        "bars_per_run": bars,
        "symbols": len(SYMBOLS),
        "bar_period_s": BAR_PERIOD_S,
        "realtime_priority": SupervisorConfig().realtime_priority,
    }
    for prefix, with_llm in (("", False), ("llm_", True)):
        per_run = []
        samples = 0
        breakdown: dict[str, list[float]] = {}
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as workdir:
                latencies, by_hop = measure(Path(workdir), bars, with_llm)
            per_run.append(_percentiles(latencies))
            samples += len(latencies)
            for hop, values in by_hop.items():
                breakdown.setdefault(hop, []).extend(values)
        for key in ("p50_us", "p99_us", "p99_9_us"):
            values = [p[key] for p in per_run]
            section[prefix + key] = round(statistics.median(values), 1)
            section[f"{prefix}{key}_runs"] = values
        section[prefix + "decisions_measured"] = samples
        section[prefix + "hop_p50_us"] = {
            hop: _percentiles(values)["p50_us"] for hop, values in breakdown.items() if values
        }
        section[prefix + "hop_p99_us"] = {
            hop: _percentiles(values)["p99_us"] for hop, values in breakdown.items() if values
        }
    section.update(transport_floor(bars))
    return section
