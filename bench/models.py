"""Model benchmark: each model's standalone hit rate and CPU cost per bar, lgbm training times.

Replays ../shared/data/klines 1m (all 42 days; 4 with --quick) through market_feed, recorder,
trading_ai, strength_ai, lava_ai and lgbm_ai with the shipped model settings, deciding on 4h bars
(lgbm_ai's horizon a day), then reads the recorded votes. Produces a JSON section `models` with,
per model: `hit_rate` (share of BUY/SELL votes whose direction matched the return over the next
`HORIZON` of decision bars), `directional_votes`, `cpu_us_per_bar` (the actor's CPU time per feed
bar); and `lgbm_training_s` (mean per trained window).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from analytics.recording import recorded_messages
from bench.data import KLINES, SYMBOLS
from bench.topology import counters_reported_after, measured, replay_config
from common.times import INTERVAL_MS, duration_ms, parse_time
from marketdata.chunks import TickChunker
from marketdata.sources import load_source
from messages import topics
from supervisor.harness import running_daemon

MODELS = ("trading_ai", "strength_ai", "lava_ai", "lgbm_ai")
DECISION, HORIZON = "4h", "1d"


def hit_rates(db: Path, table, horizon_ms: int) -> dict[str, dict[str, float]]:
    bars = TickChunker(table, INTERVAL_MS[DECISION]).decision
    closes = {}
    for symbol_index, open_time, close in zip(
        bars.symbol_index.tolist(), bars.open_time.tolist(), bars.values["close"].tolist()
    ):
        closes[(table.symbols[symbol_index], open_time)] = close
    step = horizon_ms
    result = {}
    for model in MODELS:
        hits = directional = 0
        for batch in recorded_messages(db, topics.signal(model)):
            for symbol, bar_time, action in zip(batch.symbol, batch.bar_time.tolist(), batch.action):
                if action not in ("BUY", "SELL"):
                    continue
                future = closes.get((symbol, bar_time + step))
                if future is None:
                    continue
                directional += 1
                up = future > closes[(symbol, bar_time)]
                hits += up == (action == "BUY")
        result[model] = {"hit_rate": hits / directional if directional else None, "directional_votes": directional}
    return result


def measure(workdir: Path, start: str, end: str) -> dict[str, object]:
    db = workdir / "models.lmdb"
    config = replay_config(
        db,
        start,
        end,
        {"recorder": {}, **{model: {} for model in MODELS}},
        feed={"decision_interval": DECISION},
        learning={"update_every": DECISION},
        lgbm_ai={"horizon": HORIZON, "min_train": "10d"},
    )
    with running_daemon(workdir, config) as daemon:
        feed, watcher = measured(daemon, 1800)
        bars = feed.bars
        lgbm = counters_reported_after(daemon, "lgbm_ai", time.monotonic()).counters
    table = load_source(str(KLINES), interval="1m", symbols=SYMBOLS, start_ms=parse_time(start), end_ms=parse_time(end))
    rates = hit_rates(db, table, duration_ms(HORIZON))
    for model in MODELS:
        rates[model]["cpu_us_per_bar"] = watcher.cpu_s.get(model, 0.0) / bars * 1e6
    return {"bars": bars, "models": rates, "trainings": lgbm.trainings, "training_s": lgbm.training_s}


def run(runs: int, quick: bool) -> dict[str, object]:
    start, end = ("2021-04-02", "2021-04-06") if quick else ("2021-04-02", "2021-05-14")
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            results.append(measure(Path(workdir), start, end))
    section: dict[str, object] = {
        "window": f"{start} .. {end} (exclusive), {len(SYMBOLS)} symbols, 1m",
        "bars": results[-1]["bars"],
    }
    for model in MODELS:
        costs = [r["models"][model]["cpu_us_per_bar"] for r in results]
        section[f"{model}.hit_rate"] = results[-1]["models"][model]["hit_rate"] and round(
            results[-1]["models"][model]["hit_rate"], 4
        )
        section[f"{model}.directional_votes"] = results[-1]["models"][model]["directional_votes"]
        section[f"{model}.cpu_us_per_bar"] = round(statistics.median(costs), 1)
        section[f"{model}.cpu_us_per_bar_runs"] = [round(c, 1) for c in costs]
    trainings = results[-1]["trainings"]
    section["lgbm_trainings"] = trainings
    section["lgbm_training_s"] = round(results[-1]["training_s"] / trainings, 3) if trainings else None
    return section
