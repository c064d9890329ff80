"""Trading benchmark: what the ensemble earns on real data with fixed weights and with each learner.

Replays ../shared/data/klines 1m (all 42 days, decisions on 4h bars; 4 days with --quick)
through the full topology (market_feed, recorder, trading_ai, lava_ai, lgbm_ai, trader and, for
the learning strategies, rl_learner) once per strategy: `initial_weights` and `equal_weights` (no
learner: the weights never move), `seed`, `hedge`, `adahedge`, `thompson`, `winners`. Produces a JSON section
`trading` with, per strategy, the recording's figures as traded (`analytics.performance`: trades,
win_rate, roi, max_drawdown, turnover, exposure, sharpe) and the final weights. The figures are
deterministic, so one run each; `bars_per_s` (full topology, from the replay) is timing.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import msgspec

from analytics.evaluation import session_figures
from analytics.recording import read_recording
from bench.data import SYMBOLS
from bench.topology import SEED_WEIGHTS, finished, replay_config
from supervisor.commands.export import export_records
from supervisor.harness import running_daemon

LEARNERS = ("seed", "hedge", "adahedge", "thompson", "winners")
STRATEGIES = ("initial_weights", "equal_weights", *LEARNERS)


def measure(workdir: Path, strategy: str, start: str, end: str) -> dict[str, object]:
    db = workdir / "trading.lmdb"
    models = ["trading_ai", "lava_ai", "lgbm_ai"]
    learner = strategy in LEARNERS
    actors = {name: {} for name in ("recorder", "trader", *models, *(["rl_learner"] if learner else []))}
    weights = (
        {m: 1 / len(models) for m in models}
        if strategy == "equal_weights"
        else {m: SEED_WEIGHTS[m] / sum(SEED_WEIGHTS[n] for n in models) for m in models}
    )
    config = replay_config(
        db,
        start,
        end,
        actors,
        feed={"decision_interval": "4h"},
        learning={"algorithm": strategy if learner else "seed", "initial_weights": weights, "update_every": "4h"},
    )
    with running_daemon(workdir, config) as daemon:
        feed = finished(daemon, 1800)
    weights = _export(db, "weights")
    figures = msgspec.to_builtins(session_figures(read_recording(db), config))
    return {
        **figures,
        "final_weights": weights[-1]["weights"] if weights else "fixed",
        "bars_per_s": feed.bars / feed.replay_s,
    }


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
