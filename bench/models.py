"""Model benchmark: each model's standalone hit rate and CPU cost per bar, lgbm training times.

Replays ../shared/data/klines 1m (all 42 days; 4 with --quick) through market_feed, recorder,
trading_ai, lava_ai and lgbm_ai with peper.toml's model settings, then reads the recorded votes.
Produces a JSON section `models` with, per model: `hit_rate` (share of BUY/SELL votes whose
direction matched the forward H-bar return, H = [lgbm_ai] horizon_bars), `directional_votes`,
`cpu_us_per_bar` (the actor's CPU time / bars); and `lgbm_training_s` (per trained window).
"""

from __future__ import annotations

import re
import statistics
import tempfile
from pathlib import Path

from bench.topology import model_sections, replay_topology
from bench.watch import ActorWatcher
from config import load_config
from marketdata.sources import load_source, parse_time
from messages import topics
from tests.helpers.daemon import REPO_ROOT, running_daemon, wait_for
from tests.helpers.data import KLINES, SYMBOLS
from tests.helpers.recording import recorded_messages

MODELS = ("trading_ai", "lava_ai", "lgbm_ai")
_COMPLETE = re.compile(r"replay complete: (\d+) bars")
_TRAINED = re.compile(r"trained in ([0-9.]+) s")


def hit_rates(db: Path, table, horizon: int) -> dict[str, dict[str, float]]:
    closes = {}
    for symbol_index, time, close in zip(table.symbol_index.tolist(), table.open_time.tolist(), table.values["close"].tolist()):
        closes[(table.symbols[symbol_index], time)] = close
    step = horizon * table.interval_ms
    result = {}
    for model in MODELS:
        hits = directional = 0
        for batch in recorded_messages(db, topics.signal(model)):
            for symbol, time, action in zip(batch.symbol, batch.bar_time, batch.action):
                if action not in ("BUY", "SELL"):
                    continue
                future = closes.get((symbol, time + step))
                if future is None:
                    continue
                directional += 1
                up = future > closes[(symbol, time)]
                hits += up == (action == "BUY")
        result[model] = {"hit_rate": hits / directional if directional else None, "directional_votes": directional}
    return result


def measure(workdir: Path, start: str, end: str) -> dict[str, object]:
    db = workdir / "models.lmdb"
    actors = ["recorder", "trading_ai", "lava_ai", "lgbm_ai"]
    topology = replay_topology(db, start, end, actors=actors, ackers=actors, extra=model_sections())
    with running_daemon(workdir, topology) as daemon, ActorWatcher(daemon) as watcher:
        bars = int(wait_for(lambda: _COMPLETE.search(daemon.log()), 1800, "the replay completed").group(1))
        log = daemon.log()
    table = load_source(str(KLINES), interval="1m", symbols=SYMBOLS, start_ms=parse_time(start), end_ms=parse_time(end))
    horizon = load_config(REPO_ROOT / "peper.toml", environ={}).lgbm_ai.horizon_bars
    rates = hit_rates(db, table, horizon)
    for model in MODELS:
        rates[model]["cpu_us_per_bar"] = watcher.cpu_s.get(model, 0.0) / bars * 1e6
    return {"bars": bars, "models": rates, "training_s": [float(t) for t in _TRAINED.findall(log)]}


def run(runs: int, quick: bool) -> dict[str, object]:
    start, end = ("2021-04-02", "2021-04-06") if quick else ("2021-04-02", "2021-05-14")
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            results.append(measure(Path(workdir), start, end))
    section: dict[str, object] = {"window": f"{start} .. {end} (exclusive), {len(SYMBOLS)} symbols, 1m",
                                  "bars": results[-1]["bars"]}
    for model in MODELS:
        costs = [r["models"][model]["cpu_us_per_bar"] for r in results]
        section[f"{model}.hit_rate"] = results[-1]["models"][model]["hit_rate"] and round(results[-1]["models"][model]["hit_rate"], 4)
        section[f"{model}.directional_votes"] = results[-1]["models"][model]["directional_votes"]
        section[f"{model}.cpu_us_per_bar"] = round(statistics.median(costs), 1)
        section[f"{model}.cpu_us_per_bar_runs"] = [round(c, 1) for c in costs]
    trainings = results[-1]["training_s"]
    section["lgbm_trainings"] = len(trainings)
    section["lgbm_training_s"] = round(statistics.median(trainings), 3) if trainings else None
    section["lgbm_training_s_runs"] = [round(t, 3) for t in trainings]
    return section
