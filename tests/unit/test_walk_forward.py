"""The walk-forward judgement of `train` over recorded votes: choices made on validation windows
only, baselines sliced like the learned policy, aggregates compounded, trades counted once across
windows, the grid as products or a union of products, and a configuration that changes a model's
settings judged on that model's own votes."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from analytics.parts import at_exposure, buy_and_hold_part, run_part
from analytics.performance import Figures
from common.times import DAY_MS, INTERVAL_MS, parse_time
from config.build import configured, topology
from marketdata.sources import load_source
from messages.errors import ConfigError
from tests.helpers.chunks import voted_chunks
from training.revote import REVOTABLE
from training.search import Candidate, OfflineInputs, Tried, candidates, choose, try_candidate
from training.walk_forward import AT_EXPOSURE, evaluate_plan
from training.windows import FLAGS, Window, resolve_plan

SYMBOLS = ["AAAUSDT", "BBBUSDT"]
GRID = [
    {"learning.algorithm": ["hedge"], "learning.hedge_eta": [5.0, 50.0], "trader.volatility_target": [0.1, 0.3]},
    {"learning.algorithm": ["adahedge", "thompson"], "learning.reference_experts": [["cash"], []]},
]
END = "2021-03-12"


def run_config():
    return configured(
        feed={"interval": "5m", "decision_interval": "4h"},
        test={"symbols": SYMBOLS, "validation_days": 10},
        learning={"update_every": "4h", "initial_weights": {}},
        training={"grid": GRID, "bootstrap_samples": 200},
        lava_ai={"window": "3d", "z_entry": 1.5},
        trading_ai={"lookbacks": ["1d", "3d", "6d"]},
        actors=topology("trader", "rl_learner", "lava_ai", "trading_ai"),
    )


def chunks_of(table, config=None):
    """The chunks a span session of `config` (default `run_config()`) records: its models' votes."""
    config = config or run_config()
    return voted_chunks(
        table,
        [REVOTABLE[name](config) for name in ("lava_ai", "trading_ai")],
        SYMBOLS,
        INTERVAL_MS[config.feed.decision_interval],
        ticks=1024,
    )


def market():
    return load_source("synthetic:12", interval="5m", symbols=SYMBOLS, end_ms=parse_time(END))


def plan_of(table, config):
    flags = {**dict.fromkeys(FLAGS), "test_from": "2021-02-10", "test_to": END}
    return resolve_plan(flags, config.test, 2, int(table.open_time[0]), int(table.open_time[-1]) + 300_000)


def judged(table):
    config = run_config()
    plan = plan_of(table, config)
    return plan, msgspec.to_builtins(evaluate_plan(chunks_of(table), config, plan).outcome)


def test_perturbing_the_last_test_window_changes_its_results_but_no_choice():
    table = market()
    plan, before = judged(table)
    test = plan.folds[-1].test
    inside = (table.open_time >= test.start) & (table.open_time < test.end)
    factor = np.random.default_rng(3).uniform(0.9, 1.1, int(inside.sum()))
    for column in ("open", "high", "low", "close"):
        table.values[column][inside] *= factor
    _, after = judged(table)
    assert [fold["chosen"] for fold in after["folds"]] == [fold["chosen"] for fold in before["folds"]]
    assert after["tried"] == before["tried"]  # every configuration's validation figures, unchanged
    assert [f["reality_check"] for f in after["folds"]] == [f["reality_check"] for f in before["folds"]]
    assert after["folds"][-1]["strategies"]["learned"] != before["folds"][-1]["strategies"]["learned"]
    assert after["folds"][-1]["strategies"]["buy_and_hold"] != before["folds"][-1]["strategies"]["buy_and_hold"]


def test_every_fold_reports_the_learned_policy_beside_every_baseline_on_its_test_window():
    _, document = judged(market())
    names = [
        "learned",
        "cash",
        "buy_and_hold",
        "equal_weights",
        "initial_weights",
        "seed",
        "lava_ai",
        "trading_ai",
        AT_EXPOSURE,
    ]
    assert len(document["tried"]) == 4 + 4
    for fold in document["folds"]:
        assert list(fold["strategies"]) == names
        assert fold["strategies"]["cash"] == msgspec.to_builtins(Figures(0.0, 0.0, 0.0, None, 0))
        assert fold["validation"] == document["tried"][fold["chosen"] - 1]["validation"][fold["number"] - 1]
        assert 0 <= fold["reality_check"] <= 1
    for name in names:  # the aggregate compounds the folds' test windows
        growth = np.prod([1 + fold["strategies"][name]["roi"] for fold in document["folds"]])
        assert document["aggregate"][name]["roi"] == pytest.approx(growth - 1)
        assert document["aggregate"][name]["trades"] == sum(
            fold["strategies"][name]["trades"] for fold in document["folds"]
        )
    learned, at_exposure = document["aggregate"]["learned"], document["aggregate"][AT_EXPOSURE]
    assert at_exposure["exposure"] == pytest.approx(learned["exposure"]) and 0 < learned["exposure"] <= 1
    assert at_exposure["sharpe"] == pytest.approx(document["aggregate"]["buy_and_hold"]["sharpe"], abs=0.3)
    assert len(document["daily"]["day"]) == len(document["daily"]["returns"]["learned"]) == 30
    interval = document["intervals"]["cash"]
    assert interval["low"] <= interval["difference"] <= interval["high"]
    assert document["trials"] == 8 and 0 <= document["deflated_sharpe"] <= 1


def test_a_trade_open_across_a_window_edge_counts_in_each_window_with_the_pnl_earned_there():
    table = market()
    config = configured(
        run_config(), training={"grid": {}}, learning={"algorithm": "adahedge"}
    )  # on this market AdaHedge holds a trade across the edge
    plan = plan_of(table, config)
    [candidate] = candidates(config)
    inputs = OfflineInputs(chunks_of(table), config)
    tried = try_candidate(candidate, inputs, plan.folds)
    from learning.offline import simulate
    from training.search import edges

    run = simulate(inputs.chunks(config), config, learn=True, credit=inputs.credit(config), cuts=edges(plan.folds))
    first, second = (run_part(run, fold.test.start, fold.test.end) for fold in plan.folds)
    across = set(run.open_at[plan.folds[0].test.end])  # open at the edge between the two test windows
    assert across, "the case needs a trade open across the edge"
    whole = {f"{t.symbol}-{t.entry_time}" for t in run.trades}  # the lots some trade closed (a part of)
    window = Window("both", plan.folds[0].test.start, plan.folds[1].test.end)
    both = run_part(run, window.start, window.end)
    assert sum(first.pnls) + sum(second.pnls) == pytest.approx(sum(both.pnls), rel=1e-9, abs=1e-9)
    assert len(first.pnls) + len(second.pnls) == len(both.pnls) + len(across)
    assert all(trade_id in whole or trade_id in run.open_at[window.end] for trade_id in across)
    assert [p.pnls for p in tried.tests] == [first.pnls, second.pnls]


def test_buy_and_hold_buys_equal_parts_at_the_windows_first_opens_and_its_exposure_twin_scales_it():
    table = market()
    chunks = chunks_of(table)
    config = configured(run_config(), trader={"fee_rate": 0.001, "slippage": 0.0, "initial_equity": 1000.0})
    start = parse_time("2021-02-01")
    part = buy_and_hold_part(chunks, start, start + DAY_MS, config.trader)
    rows = [
        (t, s, o, c)
        for t, s, o, c in zip(table.open_time, table.symbol_index, table.values["open"], table.values["close"])
        if start <= t < start + DAY_MS
    ]
    first_open = {s: o for t, s, o, _ in reversed(rows)}
    last_close = {s: c for t, s, _, c in rows}
    units = {s: 500.0 / (first_open[s] * 1.001) for s in first_open}
    assert part.equity[-1] == pytest.approx(sum(units[s] * last_close[s] * 0.999 for s in units))
    assert part.before == 1000.0 and len(part.pnls) == 2
    half = at_exposure(part, 0.5)
    steps = np.diff(np.concatenate([[1000.0], part.equity])) / np.concatenate([[1000.0], part.equity[:-1]])
    assert half.equity[-1] == pytest.approx(1000.0 * np.prod(1 + 0.5 * steps)) and set(half.exposure) == {0.5}


def tried_with(number: int, changes: dict, sharpe: float) -> Tried:
    candidate = Candidate(number, changes, configured())
    return Tried(
        candidate,
        [Figures(roi=sharpe / 10, sharpe=sharpe, max_drawdown=0.1, win_rate=0.5, trades=3)],
        [],
        b"",
        {},
        0,
        [],
    )


def test_a_fold_chooses_the_best_validation_score_then_roi_then_the_lower_number():
    best, other, tie = tried_with(1, {"a": 1}, 2.0), tried_with(2, {"a": 2}, 1.0), tried_with(3, {"a": 3}, 2.0)
    assert choose([other, best, tie], 0, "sharpe") is best
    assert choose([other, tried_with(4, {"a": 4}, -1.0)], 0, "sharpe") is other


def test_the_grid_is_a_product_or_a_union_of_products_and_a_bad_key_is_named():
    config = run_config()
    found = candidates(config)
    assert len(found) == 4 + 4 and [c.number for c in found] == list(range(1, 9))
    assert found[0].changes == {
        "learning.algorithm": "hedge",
        "learning.hedge_eta": 5.0,
        "trader.volatility_target": 0.1,
    }
    assert found[0].config.learning.hedge_eta == 5.0 and found[0].config.trader.volatility_target == 0.1
    assert candidates(configured(config, training={"grid": {}}))[0].changes == {}
    with pytest.raises(ConfigError, match=r"\[training.grid\] trader.max_exposure=2.0"):
        candidates(configured(config, training={"grid": {"trader.max_exposure": [2.0]}}))
    with pytest.raises(ConfigError, match="expected section.key"):
        candidates(configured(config, training={"grid": {"hedge_eta": [1.0]}}))


def test_a_configuration_that_changes_a_models_settings_is_judged_on_that_models_own_votes():
    table = market()
    config = configured(run_config(), training={"grid": {"trading_ai.lookbacks": [["1d", "3d", "6d"], ["12h", "1d"]]}})
    plan = plan_of(table, config)
    recorded = chunks_of(table)
    inputs = OfflineInputs(recorded, config)
    same_votes, faster = candidates(config)
    assert inputs.chunks(same_votes.config) is recorded  # its settings are the recording's: nothing re-voted
    expected = chunks_of(table, faster.config)  # what a span session with faster lookbacks records
    revoted = inputs.chunks(faster.config)
    assert len(revoted) == len(expected)
    for got, want, old in zip(revoted, expected, recorded):
        assert np.array_equal(got.action, want.action) and np.array_equal(got.confidence, want.confidence)
        assert np.array_equal(got.action[0], old.action[0])  # lava_ai's votes are the recording's
    assert any(not np.array_equal(got.action[1], old.action[1]) for got, old in zip(revoted, recorded))
    tried = [try_candidate(candidate, inputs, plan.folds) for candidate in (same_votes, faster)]
    assert tried[0].tests[0].pnls != tried[1].tests[0].pnls


def test_a_grid_varies_only_what_the_offline_runs_honour_and_names_what_they_cannot():
    config = run_config()
    with pytest.raises(
        ConfigError, match=r"lgbm_ai.num_leaves=7: cannot vary \[lgbm_ai\]: its votes come from the span"
    ):
        candidates(
            configured(
                config,
                training={"grid": {"lgbm_ai.num_leaves": [7]}},
                actors=topology("trader", "rl_learner", "lava_ai", "trading_ai", "lgbm_ai"),
            )
        )
    with pytest.raises(
        ConfigError,
        match=r"cannot vary \[feed\]: the offline runs .* do not read it; a grid varies "
        r"learning.\*, trader.\*, lava_ai.\*, trading_ai.\*",
    ):
        candidates(configured(config, training={"grid": {"feed.chunk_ticks": [64]}}))
