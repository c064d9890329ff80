"""Trading benchmark: what the ensemble earns on real data with fixed weights and with each learner.

Replays ../shared/data/klines 1m (all 42 days; 4 with --quick) through the full topology
(market_feed, recorder, trading_ai, lava_ai, lgbm_ai, trader and, for the learning strategies,
rl_learner) once per strategy: `initial_weights` and `equal_weights` (no learner: the weights
never move), `seed`, `hedge`, `thompson`. Produces a JSON section `trading` with, per strategy,
trades, win_rate, roi, max_drawdown (fractions), sharpe, and the final weights. The figures are
deterministic, so one run each; `bars_per_s` (full topology, from the replay) is timing.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import msgspec

from analytics.metrics import trade_metrics
from bench.topology import model_sections, replay_topology
from supervisor.export import export_records
from tests.helpers.daemon import running_daemon, wait_for
from tests.helpers.data import SYMBOLS

STRATEGIES = ("initial_weights", "equal_weights", "seed", "hedge", "thompson")
LEARNERS = ("seed", "hedge", "thompson")
_COMPLETE = re.compile(r"replay complete: (\d+) bars acknowledged by .* in ([0-9.]+) s")


def strategy_config(strategy: str) -> str:
    """[learning] (and [trader]) for a strategy; fixed-weight ones run without a learner."""
    learner = strategy in LEARNERS
    equal = "[learning.initial_weights]\ntrading_ai = 0.25\nlava_ai = 0.25\nlgbm_ai = 0.25\nmistral_ai = 0.25\n"
    return (f'[learning]\nalgorithm = "{strategy if learner else "seed"}"\n'
            + (equal if strategy == "equal_weights" else "")
            + ('[trader]\nlearner = ""\n' if not learner else ""))


def measure(workdir: Path, strategy: str, start: str, end: str) -> dict[str, object]:
    db = workdir / "trading.lmdb"
    models = ["trading_ai", "lava_ai", "lgbm_ai"]
    actors = ["recorder", "trader", *models] + (["rl_learner"] if strategy in LEARNERS else [])
    text = replay_topology(db, start, end, actors=actors, ackers=["recorder", *models, "trader"],
                           extra=model_sections() + strategy_config(strategy))
    with running_daemon(workdir, text) as daemon:
        match = wait_for(lambda: _COMPLETE.search(daemon.log()), 1800, "the replay completed")
        config = daemon.config
    trades = _export(db, "trades")
    weights = _export(db, "weights")
    metrics = trade_metrics(trades, config.trader.initial_equity)
    return {"trades": metrics.trades, "win_rate": metrics.win_rate, "roi": metrics.roi,
            "max_drawdown": metrics.max_drawdown, "sharpe": metrics.sharpe, "profit_factor": metrics.profit_factor,
            "final_weights": weights[-1]["weights"] if weights else "fixed",
            "bars_per_s": int(match.group(1)) / float(match.group(2))}


def _export(db: Path, what: str) -> list[dict]:
    buffer = io.StringIO()
    export_records(db, what, buffer)
    return [msgspec.json.decode(line) for line in buffer.getvalue().splitlines()]


def run(runs: int, quick: bool) -> dict[str, object]:
    start, end = ("2021-04-02", "2021-04-04") if quick else ("2021-04-02", "2021-05-14")
    section: dict[str, object] = {"window": f"{start} .. {end} (exclusive), {len(SYMBOLS)} symbols, 1m"}
    for strategy in STRATEGIES:
        with tempfile.TemporaryDirectory() as workdir:
            result = measure(Path(workdir), strategy, start, end)
        for key, value in result.items():
            section[f"{strategy}.{key}"] = round(value, 4) if isinstance(value, float) else value
    return section
