"""The walk-forward judgement of `train` over recorded votes: choices made on validation windows
only, baselines sliced like the learned policy, aggregates compounded, bootstrap intervals that
mean what they say, the grid as products or a union of products, and a configuration that changes a
model's settings judged on that model's own votes."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.bootstrap import best_above_zero, chance_above_zero, sharpe_difference
from config.build import configured, topology
from config.times import DAY_MS, parse_time
from marketdata.sources import load_source
from messages.errors import ConfigError
from tests.helpers.chunks import voted_chunks
from tests.unit.test_learning import ready_chunk
from training.evaluate import Part, buy_and_hold_part, summarize
from training.revote import REVOTABLE
from training.search import STAND_ASIDE, Candidate, OfflineInputs, Tried, candidates, choose, try_candidate
from training.walk_forward import evaluate_plan
from training.windows import FLAGS, Window, resolve_plan

SYMBOLS = ["AAAUSDT", "BBBUSDT"]
GRID = [{"learning.algorithm": ["hedge"], "learning.hedge_eta": [5.0, 50.0], "trader.entry_threshold": [0.2, 0.4]},
        {"learning.algorithm": ["seed", "thompson"], "learning.reference_experts": [["cash"], []]}]


def run_config():
    return configured(
        feed={"interval": "5m"}, test={"symbols": SYMBOLS, "validation_days": 2},
        trader={"position_fraction": 0.3, "stop_loss": 0.03, "take_profit": 0.0, "max_holding_bars": 288},
        learning={"update_every_bars": 48, "initial_weights": {}},
        training={"grid": GRID, "bootstrap_samples": 200},
        lava_ai={"window": 24, "z_entry": 1.5},
        trading_ai={"ema_fast": 6, "ema_slow": 24, "macd_fast": 6, "macd_slow": 24, "macd_signal": 4},
        actors=topology("trader", "rl_learner", "lava_ai", "trading_ai"))


def chunks_of(table, config=None):
    """The chunks a span session of `config` (default `run_config()`) records: its models' votes."""
    config = config or run_config()
    return voted_chunks(table, [REVOTABLE[name](config) for name in ("lava_ai", "trading_ai")], SYMBOLS)


def judged(table):
    config = run_config()
    flags = {**dict.fromkeys(FLAGS), "test_from": "2021-01-07", "test_to": "2021-01-11"}
    plan = resolve_plan(flags, config.test, 2, int(table.open_time[0]), int(table.open_time[-1]) + 300_000)
    return plan, evaluate_plan(chunks_of(table), config, plan, 300_000).document


def test_perturbing_the_last_test_window_changes_its_results_but_no_choice():
    table = load_source("synthetic:12", interval="5m", symbols=SYMBOLS, end_ms=parse_time("2021-01-11"))
    plan, before = judged(table)
    test = plan.folds[-1].test
    inside = (table.open_time >= test.start) & (table.open_time < test.end)
    factor = np.random.default_rng(3).uniform(0.9, 1.1, int(inside.sum()))
    for column in ("open", "high", "low", "close"):
        table.values[column][inside] *= factor
    _, after = judged(table)
    assert [fold["chosen"] for fold in after["folds"]] == [fold["chosen"] for fold in before["folds"]]
    assert after["tried"] == before["tried"]  # every configuration's validation figures, unchanged
    assert [f["family_evidence"] for f in after["folds"]] == [f["family_evidence"] for f in before["folds"]]
    assert after["folds"][-1]["strategies"]["learned"] != before["folds"][-1]["strategies"]["learned"]
    assert after["folds"][-1]["strategies"]["buy_and_hold"] != before["folds"][-1]["strategies"]["buy_and_hold"]


def test_every_fold_reports_the_learned_policy_beside_every_baseline_on_its_test_window():
    table = load_source("synthetic:12", interval="5m", symbols=SYMBOLS, end_ms=parse_time("2021-01-11"))
    plan, document = judged(table)
    names = ["learned", "cash", "buy_and_hold", "equal_weights", "initial_weights", "seed", "lava_ai", "trading_ai"]
    assert len(document["tried"]) == 4 + 4
    for fold in document["folds"]:
        assert list(fold["strategies"]) == names
        assert fold["strategies"]["cash"] == {"roi": 0.0, "sharpe": 0.0, "max_drawdown": 0.0, "win_rate": None, "trades": 0}
        assert fold["validation"] == document["tried"][fold["chosen"] - 1]["validation"][fold["number"] - 1]
    for name in names:  # the aggregate compounds the folds' test windows
        growth = np.prod([1 + fold["strategies"][name]["roi"] for fold in document["folds"]])
        assert document["aggregate"][name]["roi"] == pytest.approx(growth - 1)
        assert document["aggregate"][name]["trades"] == sum(fold["strategies"][name]["trades"] for fold in document["folds"])
    assert len(document["daily"]["day"]) == len(document["daily"]["learned"]) == 4
    assert document["intervals"]["cash"]["low"] <= document["intervals"]["cash"]["difference"] <= document["intervals"]["cash"]["high"]


def test_buy_and_hold_buys_equal_parts_at_the_windows_first_opens_and_marks_every_close():
    config = configured(trader={"fee_rate": 0.001, "slippage": 0.0, "initial_equity": 1000.0})
    chunks = [ready_chunk([100.0, 110.0, 121.0, 99.0], [[0, 0, 0, 0]])]
    times = chunks[0].ticks
    part = buy_and_hold_part(chunks, Window("test", int(times[1]), int(times[3]) + 1), config.trader)
    opens = chunks[0].chunk.open
    units = 1000.0 / (opens[1] * 1.001)
    assert part.equity.tolist() == pytest.approx([units * 110.0 * 0.999, units * 121.0 * 0.999, units * 99.0 * 0.999])
    assert part.before == 1000.0 and part.pnls == pytest.approx([units * 99.0 * 0.999 - 1000.0])


def test_summarize_compounds_parts_and_measures_drawdown_across_them():
    day = np.array([0, DAY_MS], np.int64)
    first = Part(day, np.array([110.0, 100.0]), 100.0, [5.0, -1.0])
    second = Part(day + 2 * DAY_MS, np.array([2200.0, 1980.0]), 2000.0, [3.0])
    figures, daily = summarize([first, second])
    assert figures["roi"] == pytest.approx(1.0 * 0.99 - 1)
    assert daily.tolist() == pytest.approx([0.1, 100 / 110 - 1, 0.1, 0.9 - 1])
    assert figures["max_drawdown"] == pytest.approx(1 - 0.99 * 1.0 / 1.1)  # from the peak 1.1 to the last close 0.99
    assert (figures["trades"], figures["win_rate"]) == (3, pytest.approx(2 / 3))


def test_the_bootstrap_interval_is_zero_for_equal_strategies_and_above_zero_for_a_dominant_one():
    rng = np.random.default_rng(1)
    returns = rng.normal(0.001, 0.01, 200)
    same = sharpe_difference(returns, returns.copy(), block_days=5, samples=300, seed=1)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0}
    better = sharpe_difference(returns + 0.01, returns, block_days=5, samples=300, seed=1)
    assert 0 < better["low"] <= better["difference"] <= better["high"]
    assert sharpe_difference(returns, returns, block_days=5, samples=300, seed=1) == same  # reproducible from the seed
    with pytest.raises(ValueError, match="different lengths"):
        sharpe_difference(returns, returns[:-1], block_days=5, samples=10, seed=1)


def test_without_evidence_a_fold_stands_aside_in_cash_while_the_learner_learns_as_it_would_have():
    table = load_source("synthetic:12", interval="5m", symbols=SYMBOLS, end_ms=parse_time("2021-01-11"))
    config = configured(run_config(), training={"grid": {}, "evidence": 0.9})
    plan = resolve_plan({**dict.fromkeys(FLAGS), "test_from": "2021-01-07", "test_to": "2021-01-11"}, config.test, 2,
                        int(table.open_time[0]), int(table.open_time[-1]) + 300_000)
    chunks = chunks_of(table)
    found = candidates(config)
    assert [c.changes for c in found] == [{}, STAND_ASIDE] and found[1].config.trader.stand_aside
    inputs = OfflineInputs(chunks, config)
    own, aside = (try_candidate(candidate, inputs, 300_000, plan.folds) for candidate in found)
    assert sum(len(part.pnls) for part in own.tests) > 0
    assert all(part.pnls == [] and set(part.equity.tolist()) == {part.before} for part in aside.tests)
    assert [v["evidence"] for v in aside.validation] == [0.0, 0.0]  # cash never beats cash
    assert (aside.weights_path, aside.final_weights) == (own.weights_path, own.final_weights)  # same shadow credit


def tried_with(number: int, changes: dict, sharpe: float, evidence: float) -> Tried:
    candidate = Candidate(number, changes, configured())
    return Tried(candidate, [{"sharpe": sharpe, "roi": sharpe / 10, "evidence": evidence}], [], b"", {}, 0, [])


def test_a_fold_chooses_the_best_configuration_sure_enough_to_beat_cash_else_stands_aside():
    best, sure, aside = tried_with(1, {"a": 1}, 2.0, 0.80), tried_with(2, {"a": 2}, 1.0, 0.97), tried_with(3, STAND_ASIDE, 0, 0)
    assert choose([best, sure, aside], 0, "sharpe") is best               # evidence 0: the best, whatever it shows
    assert choose([best, sure, aside], 0, "sharpe", 0.95) is sure
    assert choose([best, sure, aside], 0, "sharpe", 0.99) is aside
    assert choose([aside, tried_with(4, {"a": 4}, -1.0, 0.0)], 0, "sharpe") is not aside  # never chosen on a score
    assert choose([best, sure, aside], 0, "sharpe", 0.95, family=0.96) is sure
    assert choose([best, sure, aside], 0, "sharpe", 0.95, family=0.90) is aside  # sure alone, not for all tried
    assert choose([best, sure, aside], 0, "sharpe", 0.0, family=0.0) is best     # evidence 0: no test at all


def test_the_reality_check_discounts_the_best_of_many_configurations_with_no_edge():
    rng = np.random.default_rng(5)
    noise = rng.normal(0.0, 0.02, (65, 30))       # 65 configurations with no edge, 30 validation days
    alone = max(chance_above_zero(days, block_days=5, samples=2000, seed=1) for days in noise)
    assert alone >= 0.95                           # one of them looks sure by chance ...
    assert best_above_zero(noise, block_days=5, samples=2000, seed=1) < 0.8   # ... not for all having been tried
    with_edge = np.vstack([rng.normal(0.0, 0.02, (65, 60)), rng.normal(0.02, 0.02, (1, 60))])
    assert best_above_zero(with_edge, block_days=5, samples=2000, seed=1) >= 0.95   # one real edge among them is seen
    assert best_above_zero(np.zeros((3, 30)), block_days=5, samples=200, seed=1) == 0.0   # cash never beats cash
    assert best_above_zero(np.empty((0, 30)), block_days=5, samples=200, seed=1) == 0.0


def test_the_grid_is_a_product_or_a_union_of_products_and_a_bad_key_is_named():
    config = run_config()
    found = candidates(config)
    assert len(found) == 4 + 4 and [c.number for c in found] == list(range(1, 9))
    assert found[0].changes == {"learning.algorithm": "hedge", "learning.hedge_eta": 5.0, "trader.entry_threshold": 0.2}
    assert found[0].config.learning.hedge_eta == 5.0 and found[0].config.trader.entry_threshold == 0.2
    assert candidates(configured(config, training={"grid": {}}))[0].changes == {}
    with pytest.raises(ConfigError, match=r"\[training.grid\] trader.entry_threshold=2.0"):
        candidates(configured(config, training={"grid": {"trader.entry_threshold": [2.0]}}))
    with pytest.raises(ConfigError, match="expected section.key"):
        candidates(configured(config, training={"grid": {"hedge_eta": [1.0]}}))


def test_a_configuration_that_changes_a_models_settings_is_judged_on_that_models_own_votes():
    table = load_source("synthetic:12", interval="5m", symbols=SYMBOLS, end_ms=parse_time("2021-01-11"))
    config = configured(run_config(), training={"grid": {"trading_ai.ema_fast": [6, 12]}})
    plan = resolve_plan({**dict.fromkeys(FLAGS), "test_from": "2021-01-07", "test_to": "2021-01-11"}, config.test, 2,
                        int(table.open_time[0]), int(table.open_time[-1]) + 300_000)
    recorded = chunks_of(table)
    inputs = OfflineInputs(recorded, config)
    same_votes, slower = candidates(config)
    assert inputs.chunks(same_votes.config) is recorded          # its settings are the recording's: nothing re-voted
    expected = chunks_of(table, slower.config)                  # what a span session with ema_fast=12 records
    revoted = inputs.chunks(slower.config)
    assert len(revoted) == len(expected)
    for got, want, old in zip(revoted, expected, recorded):
        assert np.array_equal(got.action, want.action) and np.array_equal(got.confidence, want.confidence)
        assert np.array_equal(got.action[0], old.action[0])    # lava_ai's votes are the recording's
    assert any(not np.array_equal(got.action[1], old.action[1]) for got, old in zip(revoted, recorded))
    tried = [try_candidate(candidate, inputs, 300_000, plan.folds) for candidate in (same_votes, slower)]
    assert tried[0].tests[0].pnls != tried[1].tests[0].pnls


def test_a_grid_varies_only_what_the_offline_runs_honour_and_names_what_they_cannot():
    config = run_config()
    with pytest.raises(ConfigError, match=r"lgbm_ai.num_leaves=7: cannot vary \[lgbm_ai\]: its votes come from the span"):
        candidates(configured(config, training={"grid": {"lgbm_ai.num_leaves": [7]}},
                              actors=topology("trader", "rl_learner", "lava_ai", "trading_ai", "lgbm_ai")))
    with pytest.raises(ConfigError, match=r"cannot vary \[feed\]: the offline runs .* do not read it; a grid varies "
                                          r"learning.\*, trader.\*, lava_ai.\*, trading_ai.\*"):
        candidates(configured(config, training={"grid": {"feed.chunk_ticks": [64]}}))
