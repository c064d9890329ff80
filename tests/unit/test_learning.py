"""Weights stay on the capped simplex through any updates and rollbacks; rewards and punishments
move the right way on shadow-book credit; the projection is the Euclidean one; the learner's
schedule is the same however the ticks come; shadow books equal hand-computed books."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.schema import LearningConfig, TraderConfig
from learning.engine import Hedge, SeedRule, Thompson, make_rule, project
from learning.learner import COMPACT_AFTER, Learner, exact_partials
from learning.projection import normalize_weights
from marketdata.chunk import BarChunk, problems
from messages.learning import Weights
from messages.market import KlineBatch
from signals.model import ABSTAIN, BUY, HOLD, SELL
from trading.assembly import Ready
from trading.shadow import ShadowBooks

MODELS = ["lava_ai", "lgbm_ai", "mistral_ai", "trading_ai"]
CONFIG = LearningConfig()
credits = st.dictionaries(st.sampled_from(MODELS), st.floats(-0.2, 0.2, allow_nan=False), min_size=1)


def on_capped_simplex(weights: dict[str, float], config: LearningConfig = CONFIG) -> bool:
    return abs(math.fsum(weights.values()) - 1.0) <= 1e-12 and all(
        config.min_weight - 1e-15 <= w <= config.max_weight + 1e-15 for w in weights.values()
    )


def seed_weights() -> dict[str, float]:
    return project({"trading_ai": 0.25, "lava_ai": 0.35, "lgbm_ai": 0.40, "mistral_ai": 0.0}, CONFIG)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["seed", "hedge", "thompson"]), st.lists(st.one_of(credits, st.integers(0, 30)), max_size=30))
def test_any_sequence_of_updates_and_rollbacks_stays_on_the_capped_simplex(algorithm, steps):
    rule = make_rule(LearningConfig(algorithm=algorithm), seed_weights())
    history = [seed_weights()]
    for step in steps:
        if isinstance(step, int):  # a rollback: a new version equal to an old one
            history.append(dict(history[step % len(history)]))
        else:
            history.append(rule.update(history[-1], step))
        assert on_capped_simplex(history[-1]), history[-1]


@settings(max_examples=200, deadline=None)
@given(credits)
def test_a_reward_never_lowers_and_a_punishment_never_raises_the_pre_projection_weight(credit):
    weights = project({m: 0.25 for m in MODELS}, CONFIG)
    rule = SeedRule(CONFIG, weights)
    decayed = {m: w - CONFIG.weight_decay * (w - 0.25) for m, w in weights.items()}
    updated = rule.raw_update(weights, credit)
    for model in MODELS:
        earned = credit.get(model, 0.0)
        if earned > 0:
            assert updated[model] >= decayed[model]
        elif earned < 0:
            assert updated[model] <= decayed[model]
        else:
            assert updated[model] == decayed[model]


@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=4, max_size=4))
def test_the_projection_is_the_nearest_point_not_clip_then_divide(values):
    projected = normalize_weights(values, 0.05, 0.70)
    assert abs(math.fsum(projected) - 1.0) <= 1e-12
    distance = math.dist(values, projected)
    clipped = [min(0.7, max(0.05, v)) for v in values]
    divided = [c / sum(clipped) for c in clipped]
    if all(0.05 <= d <= 0.70 for d in divided):
        assert distance <= math.dist(values, divided) + 1e-9
    order = sorted(range(4), key=lambda i: values[i])
    assert all(projected[order[i]] <= projected[order[i + 1]] + 1e-12 for i in range(3))


@pytest.mark.parametrize("algorithm", ["seed", "hedge", "thompson"])
def test_a_model_at_the_floor_whose_book_wins_gains_weight_and_one_whose_book_loses_falls(algorithm):
    weights = start = seed_weights()
    rule = make_rule(LearningConfig(algorithm=algorithm), start)
    assert weights["mistral_ai"] == CONFIG.min_weight
    for _ in range(50):
        weights = rule.update(weights, {"mistral_ai": 0.02, "lgbm_ai": -0.02, "trading_ai": 0.0, "lava_ai": 0.0})
    assert weights["mistral_ai"] > 0.3
    assert weights["lgbm_ai"] < start["lgbm_ai"] and weights["lgbm_ai"] <= min(weights["trading_ai"], weights["lava_ai"])


def test_thompson_and_hedge_are_reproducible_from_their_seed():
    start = project({m: 0.25 for m in MODELS}, CONFIG)
    credit = {m: 0.01 * (i - 1.5) for i, m in enumerate(MODELS)}
    for rule_class in (Thompson, Hedge):
        first, second = rule_class(CONFIG, start), rule_class(CONFIG, start)
        assert [first.update(start, credit) for _ in range(5)] == [second.update(start, credit) for _ in range(5)]


def test_the_learner_updates_at_each_period_from_the_ticks_before_it_however_they_come():
    config = LearningConfig(algorithm="hedge", update_every_bars=10)
    rng = np.random.default_rng(3)
    ticks = np.arange(1, 96, dtype=np.int64) * 60_000  # from 00:01, 95 bars
    returns = rng.normal(0, 0.01, (len(MODELS), len(ticks)))
    runs = []
    for size in (1, 7, 95):
        learner = Learner(config, MODELS, {m: 0.25 for m in MODELS}, 60_000)
        versions = []
        for lo in range(0, len(ticks), size):
            versions += learner.observe(ticks[lo:lo + size], returns[:, lo:lo + size])
        runs.append(versions)
    assert runs[0] == runs[1] == runs[2]
    versions = runs[0]
    assert [v.effective_from for v in versions] == [t * 60_000 for t in range(10, 96, 10)]
    assert [v.version for v in versions] == list(range(1, 10))
    # the first update used bars 00:01..00:09 only: Hedge on their compound returns
    prior = project({m: 0.25 for m in MODELS}, config)
    first = Hedge(config, prior).update(prior,
                                 {m: math.expm1(math.fsum(np.log1p(returns[i, :9]).tolist())) for i, m in enumerate(MODELS)})
    assert versions[0].weights == first


def ready_chunk(closes: list[float], actions: list[list[int]], symbol: str = "AAA") -> Ready:
    """One symbol, one bar per tick, opens equal to the previous close; `actions[model][tick]` full confidence."""
    n = len(closes)
    times = [60_000 * i for i in range(n)]
    opens = [closes[0]] + closes[:-1]
    batch = KlineBatch.of(interval_ms=60_000, symbol=[symbol] * n, open_time=times, open=opens, high=[max(o, c) for o, c in
                       zip(opens, closes)], low=[min(o, c) for o, c in zip(opens, closes)], close=closes,
                       volume=[1.0] * n, quote_volume=[0.0] * n, trades=[0.0] * n, taker_buy_base=[0.0] * n)
    symbol_index = np.zeros(n, np.int64)
    columns = [np.array(c, float) for c in (batch.open, batch.high, batch.low, batch.close, batch.volume)]
    chunk = BarChunk(symbol_index, np.array(times, np.int64), *columns, problems(symbol_index, *columns), 60_000)
    action = np.array(actions, np.int8)
    return Ready(batch, chunk, np.array(times, np.int64), action, np.where(action == ABSTAIN, 0.0, 1.0))


def test_shadow_books_equal_hand_computed_books_with_fees_at_every_change_and_marks_every_bar():
    trader = TraderConfig(fee_rate=0.001, slippage=0.0, position_fraction=0.5, stop_loss=0.0, take_profit=0.0,
                          max_holding_bars=1000, entry_threshold=0.3, initial_equity=1000.0)
    closes = [100.0, 100.0, 110.0, 121.0, 121.0, 110.0]
    # model "up" buys at bar 0 (fills at bar 1's open, 100) and sells at bar 3 (fills at bar 4's open, 121)
    up = [BUY, HOLD, HOLD, SELL, HOLD, HOLD]
    never = [ABSTAIN] * 6
    books = ShadowBooks(["up", "never"], trader, ["AAA"])
    returns, equity, closed = books.run(ready_chunk(closes, [up, never]))
    quantity = 1000 * 0.5 / 100
    entry_fee, exit_fee = 100 * quantity * 0.001, 121 * quantity * 0.001
    marked = [1000, 1000 - entry_fee, 1000 + 10 * quantity - entry_fee, 1000 + 21 * quantity - entry_fee,
              1000 + 21 * quantity - entry_fee - exit_fee, 1000 + 21 * quantity - entry_fee - exit_fee]
    expected_up = np.array(marked[1:] + [marked[-1]])[:6]
    path = np.array([1000.0] + marked)
    np.testing.assert_allclose(returns[books.experts.index("up")], path[1:] / path[:-1] - 1, rtol=0, atol=1e-12)
    assert equity[books.experts.index("up")] == pytest.approx(expected_up[-1])
    assert closed.tolist() == [0, 0, 0, 0, 1, 0]   # up's round trip closes at bar 4's open; hold never sells
    assert (returns[books.experts.index("never")] == 0).all() and (returns[books.experts.index("cash")] == 0).all()
    # hold: buys at bar 1's open (100) with half the equity and never sells, marked every bar
    hold = 1000 - entry_fee + quantity * (np.array(closes[1:]) - 100)
    np.testing.assert_allclose(returns[books.experts.index("hold")][1:], hold / np.concatenate([[1000.0], hold[:-1]]) - 1,
                               rtol=0, atol=1e-12)


def test_on_a_market_where_every_model_loses_after_fees_weight_flows_to_cash_where_it_may_take_weight():
    trader = TraderConfig(fee_rate=0.01, slippage=0.0, position_fraction=0.5, stop_loss=0.0, take_profit=0.0,
                          max_holding_bars=1000, entry_threshold=0.3, initial_equity=1000.0)
    closes = [100.0 * (1 + 0.001 * ((i % 4) - 1.5)) for i in range(200)]  # flat chop: every round trip pays 2 %
    churn = [BUY if i % 2 == 0 else SELL for i in range(200)]
    slow = [BUY if i % 20 == 0 else SELL if i % 20 == 10 else HOLD for i in range(200)]
    books = ShadowBooks(["churn", "slow"], trader, ["AAA"])
    returns, equity, _ = books.run(ready_chunk(closes, [churn, slow]))
    churn_equity, slow_equity, cash_equity = (equity[books.experts.index(e)] for e in ("churn", "slow", "cash"))
    assert churn_equity < slow_equity < cash_equity == 1000.0
    ticks = np.arange(200, dtype=np.int64) * 60_000
    config = LearningConfig(algorithm="hedge", update_every_bars=50, min_weight=0.05, max_weight=0.95, fixed_share=0.0)
    without = Learner(config, ["churn", "slow"], {"churn": 0.5, "slow": 0.5}, 60_000).observe(ticks, returns[:2])
    assert without[-1].weights["slow"] > without[-1].weights["churn"]  # without cash: the better loser
    experts = ["churn", "slow", "cash"]
    rows = [books.experts.index(e) for e in experts]
    with_cash = Learner(config, experts, {"churn": 0.5, "slow": 0.5, "cash": 0.0}, 60_000).observe(ticks, returns[rows])
    assert isinstance(with_cash[-1], Weights)
    assert with_cash[-1].weights["cash"] > 0.5 > with_cash[-1].weights["slow"] > with_cash[-1].weights["churn"]


def test_hedge_forgets_with_its_discount_and_a_fixed_share_keeps_every_expert_in_reach():
    config = LearningConfig(algorithm="hedge", hedge_eta=50.0, discount=0.5, fixed_share=0.1, min_weight=0.0,
                            max_weight=1.0)
    rule = Hedge(config, {"a": 0.5, "b": 0.5})
    weights = {"a": 0.5, "b": 0.5}
    for _ in range(5):
        weights = rule.update(weights, {"a": 0.05, "b": -0.05})
    assert weights["a"] > 0.9 and weights["b"] >= 0.1 / 2 - 1e-12  # the fixed share's floor
    assert rule.state.score["a"] == pytest.approx(0.05 * (1 + 0.5 + 0.25 + 0.125 + 0.0625))
    for _ in range(6):  # the regime turns: b's recent gains outweigh a's discounted past
        weights = rule.update(weights, {"a": -0.05, "b": 0.05})
    assert weights["b"] > weights["a"]


def test_no_weight_moves_more_than_the_cap_in_one_update():
    config = LearningConfig(algorithm="hedge", hedge_eta=500.0, max_change=0.05, min_weight=0.0, max_weight=1.0,
                            fixed_share=0.0)
    start = {"a": 0.5, "b": 0.5}
    after = Hedge(config, start).update(start, {"a": 0.2, "b": -0.2})
    assert after["a"] == pytest.approx(0.55) and after["b"] == pytest.approx(0.45)


def test_with_update_every_trades_the_rule_runs_only_after_that_many_shadow_trades_on_the_periods_schedule():
    ticks = np.arange(50, dtype=np.int64) * 60_000
    returns = np.vstack([np.full(50, 0.001), np.full(50, -0.001)])
    closed = np.zeros(50, np.int64)
    closed[[5, 25, 27]], closed[41] = 1, 2   # three trades before the period starting at tick 30
    config = LearningConfig(algorithm="hedge", update_every_bars=10, update_every_trades=3, min_weight=0.0,
                            max_weight=1.0)
    start = {"a": 0.5, "b": 0.5}
    versions = Learner(config, ["a", "b"], start, 60_000).observe(ticks, returns, closed)
    assert [v.effective_from // 60_000 for v in versions] == [10, 20, 30, 40]   # a version every period, as the trader expects
    assert [v.cause for v in versions[:2]] == [["held: 1 of 3 shadow trades since the last update"]] * 2
    assert versions[0].weights == versions[1].weights == start and versions[3].weights == versions[2].weights
    once = Learner(LearningConfig(algorithm="hedge", update_every_bars=30, min_weight=0.0, max_weight=1.0), ["a", "b"],
                   start, 60_000).observe(ticks[:31], returns[:, :31])
    assert versions[2].weights == once[0].weights and versions[2].weights["a"] > 0.5   # credit of all 30 bars held
    tick_by_tick = Learner(config, ["a", "b"], start, 60_000)
    halfway = [v for i in range(25) for v in tick_by_tick.observe(ticks[i:i + 1], returns[:, i:i + 1], closed[i:i + 1])]
    resumed = Learner(config, ["a", "b"], start, 60_000)
    resumed.restore(tick_by_tick.snapshot())   # the trades counted so far survive a checkpoint
    rest = [v for i in range(25, 50) for v in resumed.observe(ticks[i:i + 1], returns[:, i:i + 1], closed[i:i + 1])]
    assert halfway + rest == versions



def test_credit_held_over_many_periods_stays_small_and_sums_exactly_as_if_kept_whole():
    bars = 3 * COMPACT_AFTER
    ticks = np.arange(bars + 1, dtype=np.int64) * 60_000
    returns = np.random.default_rng(4).normal(0.0, 0.003, (2, bars + 1))
    closed = np.zeros(bars + 1, np.int64)
    closed[bars - 1] = 1
    held = LearningConfig(algorithm="hedge", update_every_bars=bars, update_every_trades=1, min_weight=0.0, max_weight=1.0)
    learner = Learner(held, ["a", "b"], {"a": 0.5, "b": 0.5}, 60_000)
    for first in range(0, bars, 1000):   # chunks, one period of `bars` ticks: its credit folded as it grows
        learner.observe(ticks[first:min(bars, first + 1000)], returns[:, first:min(bars, first + 1000)],
                        closed[first:min(bars, first + 1000)])
    assert all(len(series) <= COMPACT_AFTER for series in learner.state.growth.values())
    (version,) = learner.observe(ticks[bars:], returns[:, bars:], closed[bars:])
    whole = Learner(LearningConfig(algorithm="hedge", update_every_bars=bars, min_weight=0.0, max_weight=1.0), ["a", "b"],
                    {"a": 0.5, "b": 0.5}, 60_000).observe(ticks, returns)
    assert version.weights == whole[0].weights and version.cause == ["update"]
    with pytest.raises(ValueError, match="update_every_trades needs the shadow trades"):
        Learner(held, ["a", "b"], {"a": 0.5, "b": 0.5}, 60_000).observe(ticks[:2], returns[:, :2])
    values = np.random.default_rng(5).normal(0.0, 1.0, 10_000) * 10.0 ** np.random.default_rng(6).integers(-12, 6, 10_000)
    assert math.fsum(exact_partials(values.tolist())) == math.fsum(values.tolist())
