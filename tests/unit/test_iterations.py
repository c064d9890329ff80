"""The seed's loop (`train --iterations`): consecutive test windows of `test_period_days`, the learner
carried from one to the next, one criteria row per iteration, and a stop at the first iteration
that meets the seed's criterion — on a constructed market that falls, then rises."""

from __future__ import annotations

import numpy as np
import pytest

from common.times import DAY_MS, iso
from config.build import configured, topology
from messages.errors import WindowError
from signals.technical import TechnicalRules
from tests.helpers.chunks import voted_chunks
from tests.unit.test_learning import table_of
from training.iterations import iterate_plan
from training.walk_forward import evaluate_plan
from training.windows import FLAGS, resolve_iterations

SYMBOLS = ["AAAUSDT", "BBBUSDT"]
PERIOD = 20  # days of each iteration's window
START = 80  # days before the first iteration


def falling_then_rising(seed: int = 5) -> np.ndarray:
    """[day, symbol] closes: noise round a level until the first iteration, a fall of 1.5 % a day over
    the first two iterations, then a rise of 1.5 % a day."""
    rng = np.random.default_rng(seed)
    days = START + 4 * PERIOD
    drift = np.where(np.arange(days) < START, 0.0, np.where(np.arange(days) < START + 2 * PERIOD, -0.015, 0.015))
    return 100 * np.exp(np.cumsum(drift[:, None] + rng.normal(0, 0.004, (days, 2)), axis=0))


def config_of(target_win_rate: float):
    return configured(
        feed={"interval": "1d", "decision_interval": "1d"},
        test={
            "symbols": SYMBOLS,
            "validation_days": 10,
            "test_period_days": PERIOD,
            "target_win_rate": target_win_rate,
        },
        trader={"volatility_window": "10d", "drawdown_limit": 0.0},
        learning={
            "algorithm": "adahedge",
            "update_every": "1d",
            "initial_weights": {},
            "reference_experts": ["cash", "hold_vt"],
        },
        training={"grid": [{"learning.discount": [1.0]}], "bootstrap_samples": 100},
        trading_ai={"lookbacks": ["3d", "6d"], "threshold": 0.3},
        actors=topology("trader", "rl_learner", "trading_ai"),
    )


def judged_loop(target_win_rate: float, iterations: int = 4):
    config = config_of(target_win_rate)
    closes = falling_then_rising()
    chunks = voted_chunks(table_of(closes, DAY_MS, SYMBOLS), [TechnicalRules.of(config)], SYMBOLS, DAY_MS, ticks=16)
    plan = resolve_iterations(
        {**dict.fromkeys(FLAGS), "test_from": iso(START * DAY_MS)}, config.test, iterations, 0, len(closes) * DAY_MS
    )
    return config, chunks, plan, iterate_plan(chunks, config, plan)


def test_each_iteration_is_the_test_period_after_the_one_before_validated_on_the_days_before_it():
    config = config_of(0.5)
    plan = resolve_iterations(dict.fromkeys(FLAGS), config.test, 3, 0, 200 * DAY_MS)
    assert [(f.test.start // DAY_MS, f.test.end // DAY_MS) for f in plan.folds] == [(140, 160), (160, 180), (180, 200)]
    assert [(f.validate.start // DAY_MS, f.validate.end // DAY_MS) for f in plan.folds] == [
        (130, 140),
        (150, 160),
        (170, 180),
    ]
    with pytest.raises(WindowError, match="give --test-from or --test-to, not both"):
        resolve_iterations(
            {**dict.fromkeys(FLAGS), "test_from": iso(10 * DAY_MS), "test_to": iso(50 * DAY_MS)},
            config.test,
            2,
            0,
            200 * DAY_MS,
        )


def test_the_loop_stops_at_the_first_iteration_that_meets_the_seeds_criterion():
    _, _, _, judged = judged_loop(target_win_rate=0.5)
    rows = judged.outcome.iterations
    assert [row.met for row in rows] == [False, False, True]  # falling twice: no win; rising: it pays
    assert judged.outcome.stopped_early and len(judged.outcome.folds) == 3
    assert rows[2].figures.roi > 0 and rows[2].figures.win_rate >= 0.5 and rows[2].improved
    assert judged.outcome.span.end == rows[2].window.end  # the aggregate covers the iterations that ran


def test_without_a_criterion_met_every_iteration_runs_carrying_the_learner():
    config, chunks, plan, judged = judged_loop(target_win_rate=0.5, iterations=2)  # the two falling windows
    rows = judged.outcome.iterations
    assert [row.number for row in rows] == [1, 2] and not judged.outcome.stopped_early
    assert [row.window.start for row in rows[1:]] == [row.window.end for row in rows[:-1]]
    walk_forward = evaluate_plan(chunks, config, plan).outcome  # one continuous learner through the windows
    assert [row.figures for row in rows] == [fold.strategies["learned"] for fold in walk_forward.folds]
    first = rows[0].figures
    assert [row.trades_vs_first for row in rows] == [
        row.figures.trades / first.trades if first.trades else None for row in rows
    ]
    in_force = [weights for start, weights in judged.policy.weights_path if start <= plan.folds[1].test.start][-1]
    assert in_force["hold_vt"] < 1 / 3 < in_force["cash"]  # the first fall moved weight from holding to cash
