"""Weights stay on the capped simplex through any updates and rollbacks; rewards and punishments
move the right way on shadow-book credit; AdaHedge is the published algorithm, step by step; the
projection is the Euclidean one; the learner's schedule is the same however the ticks come; the
shadow books are the experts' portfolios in the trader's book; a market where every model loses
moves the weight to cash."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.times import DAY_MS, HOUR_MS, MINUTE_MS
from config.schema import LearningConfig, TraderConfig
from learning.engine import ExponentialWeights, SeedRule, Thompson, Winners, make_rule, mixability_gap, project
from learning.learner import COMPACT_AFTER, Learner, exact_partials, update_ticks
from learning.projection import normalize_weights
from marketdata.table import COLUMNS, KlineTable
from messages.learning import Weights
from signals.model import ABSTAIN, BUY, HOLD, SELL, Votes
from tests.helpers.chunks import voted_chunks
from trading.experts import Experts
from trading.portfolio import BookRules, Decision, PortfolioBook
from trading.shadow import ShadowBooks

MODELS = ["lava_ai", "lgbm_ai", "mistral_ai", "trading_ai"]
CONFIG = LearningConfig(min_weight=0.05, max_weight=0.70)
ALGORITHMS = ["seed", "hedge", "adahedge", "thompson", "winners"]
credits = st.dictionaries(st.sampled_from(MODELS), st.floats(-0.2, 0.2, allow_nan=False), min_size=1)


def on_capped_simplex(weights: dict[str, float], config: LearningConfig = CONFIG) -> bool:
    return abs(math.fsum(weights.values()) - 1.0) <= 1e-12 and all(
        config.min_weight - 1e-15 <= w <= config.max_weight + 1e-15 for w in weights.values()
    )


def seed_weights() -> dict[str, float]:
    return project({"trading_ai": 0.25, "lava_ai": 0.35, "lgbm_ai": 0.40, "mistral_ai": 0.0}, CONFIG)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ALGORITHMS), st.lists(st.one_of(credits, st.integers(0, 30)), max_size=30))
def test_any_sequence_of_updates_and_rollbacks_stays_on_the_capped_simplex(algorithm, steps):
    rule = make_rule(LearningConfig(algorithm=algorithm, min_weight=0.05, max_weight=0.7), seed_weights())
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


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_model_at_the_floor_whose_book_wins_gains_weight_and_one_whose_book_loses_falls(algorithm):
    weights = start = seed_weights()
    rule = make_rule(LearningConfig(algorithm=algorithm, min_weight=0.05, max_weight=0.7), start)
    assert weights["mistral_ai"] == CONFIG.min_weight
    for _ in range(50):
        weights = rule.update(weights, {"mistral_ai": 0.02, "lgbm_ai": -0.02, "trading_ai": 0.0, "lava_ai": 0.0})
    assert weights["mistral_ai"] > 0.3
    assert weights["lgbm_ai"] < start["lgbm_ai"] and weights["lgbm_ai"] <= min(
        weights["trading_ai"], weights["lava_ai"]
    )


def test_thompson_and_the_exponential_rules_are_reproducible():
    start = project({m: 0.25 for m in MODELS}, CONFIG)
    credit = {m: 0.01 * (i - 1.5) for i, m in enumerate(MODELS)}
    for make in (
        lambda: Thompson(CONFIG, start),
        lambda: ExponentialWeights(CONFIG, start, adaptive=True),
        lambda: Winners(CONFIG, start),
    ):
        first, second = make(), make()
        assert [first.update(start, credit) for _ in range(5)] == [second.update(start, credit) for _ in range(5)]
        restored = make()
        restored.restore(first.snapshot())
        assert restored.update(start, credit) == first.update(start, credit)


def test_winners_weighs_each_expert_by_its_discounted_growth_above_cash_and_holds_cash_when_none_grew():
    config = LearningConfig(algorithm="winners", discount=0.5, min_weight=0.0, max_weight=1.0)
    start = {"a": 0.25, "b": 0.25, "c": 0.25, "cash": 0.25}
    rule = Winners(config, start)
    first = rule.update(start, {"a": 0.02, "b": 0.01, "c": -0.01})
    grown = math.log1p(0.02) ** 2 + math.log1p(0.01) ** 2  # winners_power 2
    assert first["a"] == pytest.approx(math.log1p(0.02) ** 2 / grown)
    assert first["b"] == pytest.approx(math.log1p(0.01) ** 2 / grown)
    plain = LearningConfig(algorithm="winners", winners_power=1.0, min_weight=0.0, max_weight=1.0)
    in_proportion = Winners(plain, start).update(start, {"a": 0.02, "b": 0.01})
    assert in_proportion["a"] == pytest.approx(math.log1p(0.02) / (math.log1p(0.02) + math.log1p(0.01)))
    assert first["c"] == 0.0 and first["cash"] == 0.0  # c lost; cash grew nothing
    second = rule.update(first, {"a": -0.02, "b": 0.0, "c": 0.0})  # a: 0.5 log 1.02 + log 0.98 < 0
    assert rule.state.growth["a"] == pytest.approx(0.5 * math.log1p(0.02) + math.log1p(-0.02))
    assert second["b"] == pytest.approx(1.0) and second["a"] == 0.0
    for _ in range(3):  # every expert loses: the book stands aside
        weights = rule.update(second, {"a": -0.01, "b": -0.01, "c": -0.01})
    assert weights["cash"] == pytest.approx(1.0)
    recovered = rule.update(weights, {"a": 0.05, "b": 0.0, "c": 0.0})  # the past is discounted away: a gains again
    assert recovered["a"] == pytest.approx(1.0)


def test_adahedge_follows_the_leader_until_the_first_gap_then_sets_eta_from_the_mixability_gap():
    """de Rooij et al. (2014), Algorithm 1, by hand: two experts, log losses 0.01/0.03 then 0.03/0.01."""
    config = LearningConfig(
        algorithm="adahedge", min_weight=0.0, max_weight=1.0, hedge_eta=1e12, discount=1.0
    )  # no ceiling
    rule = ExponentialWeights(config, {"a": 0.5, "b": 0.5}, adaptive=True)
    start = {"a": 0.5, "b": 0.5}
    first = rule.update(start, {"a": math.expm1(-0.01), "b": math.expm1(-0.03)})
    # round 1 was played with equal weights (a tie of leaders): h = 0.02, the mix loss at eta = inf is 0.01
    assert rule.state.gap == pytest.approx(0.01) and rule.eta(2) == pytest.approx(math.log(2) / 0.01)
    eta = math.log(2) / 0.01
    assert first["a"] == pytest.approx(1 / (1 + math.exp(-eta * 0.02)))  # softmax(-eta * L), L = (0.01, 0.03)
    w = first["a"]
    mix = -math.log(w * math.exp(-eta * 0.03) + (1 - w) * math.exp(-eta * 0.01)) / eta
    second = rule.update(first, {"a": math.expm1(-0.03), "b": math.expm1(-0.01)})
    gap = 0.01 + (w * 0.03 + (1 - w) * 0.01 - mix)
    assert rule.state.gap == pytest.approx(gap) and second["a"] == pytest.approx(0.5)  # the losses are even again
    assert mixability_gap({"a": 0.5, "b": 0.5}, {"a": 0.02, "b": 0.02}, eta) == pytest.approx(0.0, abs=1e-15)
    capped = ExponentialWeights(
        LearningConfig(algorithm="adahedge", hedge_eta=30.0, discount=1.0), start, adaptive=True
    )
    gentle = capped.update(start, {"a": math.expm1(-0.01), "b": math.expm1(-0.03)})
    assert capped.eta(2) == 30.0 and gentle["a"] == pytest.approx(1 / (1 + math.exp(-30.0 * 0.02)))


def test_hedge_forgets_with_its_discount_and_a_fixed_share_keeps_every_expert_in_reach():
    config = LearningConfig(
        algorithm="hedge", hedge_eta=50.0, discount=0.5, fixed_share=0.1, min_weight=0.0, max_weight=1.0
    )
    rule = ExponentialWeights(config, {"a": 0.5, "b": 0.5}, adaptive=False)
    weights = {"a": 0.5, "b": 0.5}
    for _ in range(5):
        weights = rule.update(weights, {"a": 0.05, "b": -0.05})
    assert weights["a"] > 0.9 and weights["b"] >= 0.1 / 2 - 1e-12  # the fixed share's floor
    assert rule.state.loss["a"] == pytest.approx(-math.log1p(0.05) * (1 + 0.5 + 0.25 + 0.125 + 0.0625))
    for _ in range(6):  # the regime turns: b's recent gains outweigh a's discounted past
        weights = rule.update(weights, {"a": -0.05, "b": 0.05})
    assert weights["b"] > weights["a"]


def test_no_weight_moves_more_than_the_cap_in_one_update():
    config = LearningConfig(algorithm="hedge", hedge_eta=500.0, max_change=0.05, min_weight=0.0, max_weight=1.0)
    start = {"a": 0.5, "b": 0.5}
    after = ExponentialWeights(config, start, adaptive=False).update(start, {"a": 0.2, "b": -0.2})
    assert after["a"] == pytest.approx(0.55) and after["b"] == pytest.approx(0.45)


def test_the_learner_updates_at_each_update_tick_from_the_ticks_up_to_it_however_they_come():
    config = LearningConfig(algorithm="hedge")
    rng = np.random.default_rng(3)
    ticks = np.arange(95, dtype=np.int64) * MINUTE_MS
    returns = rng.normal(0, 0.01, (len(MODELS), len(ticks)))
    updates = list(range(9, 95, 10))
    runs = []
    for size in (1, 7, 95):
        learner = Learner(config, MODELS, {m: 0.25 for m in MODELS})
        versions = []
        for lo in range(0, len(ticks), size):
            inside = [u - lo for u in updates if lo <= u < lo + size]
            versions += learner.observe(ticks[lo : lo + size], returns[:, lo : lo + size], inside)
        runs.append(versions)
    assert runs[0] == runs[1] == runs[2]
    versions = runs[0]
    assert [v.effective_from for v in versions] == [int(ticks[u]) for u in updates]
    assert [v.version for v in versions] == list(range(1, 10))
    prior = project({m: 0.25 for m in MODELS}, config)  # the first update: ticks 0..9, its own tick included
    first = ExponentialWeights(config, prior, adaptive=False).update(
        prior, {m: math.expm1(math.fsum(np.log1p(returns[i, :10]).tolist())) for i, m in enumerate(MODELS)}
    )
    assert versions[0].weights == first


def test_a_rollback_holds_its_weights_through_the_next_update_tick_and_learning_resumes_after_it():
    config = LearningConfig(algorithm="hedge")
    ticks = np.arange(30, dtype=np.int64) * MINUTE_MS
    returns = np.random.default_rng(8).normal(0.0, 0.01, (len(MODELS), len(ticks)))
    learner = Learner(config, MODELS, {m: 0.25 for m in MODELS})
    (first,) = learner.observe(ticks[:10], returns[:, :10], [9])
    (second,) = learner.observe(ticks[10:15], returns[:, 10:15], [4])
    rolled = learner.rollback(first, int(ticks[15]), "request:1")
    held, learned = learner.observe(ticks[15:], returns[:, 15:], [4, 14])
    assert rolled.weights == held.weights == first.weights != second.weights
    assert rolled.cause == ["rollback:1", "request:1"] and held.cause == ["rollback:1", "held"]
    assert (held.version, held.effective_from) == (rolled.version + 1, int(ticks[19]))
    resumed = ExponentialWeights(config, first.weights, adaptive=False)  # version 1's rule, on ticks 20..29
    resumed.restore(first.state)
    expected = resumed.update(
        first.weights, {m: math.expm1(math.fsum(np.log1p(returns[i, 20:]).tolist())) for i, m in enumerate(MODELS)}
    )
    assert learned.cause == ["update"] and learned.weights == expected


def table_of(closes: np.ndarray, interval_ms: int, symbols: list[str]) -> KlineTable:
    """closes: [bar, symbol]; opens the previous close, highs and lows around them."""
    times = np.arange(len(closes), dtype=np.int64) * interval_ms
    per_symbol = {}
    for s, symbol in enumerate(symbols):
        close = closes[:, s]
        opens = np.concatenate([[close[0]], close[:-1]])
        values = {
            "open": opens,
            "high": np.maximum(opens, close) * 1.001,
            "low": np.minimum(opens, close) * 0.999,
            "close": close,
            "volume": np.ones(len(close)),
        }
        per_symbol[symbol] = (times, {c: values.get(c, np.full(len(close), np.nan)) for c in COLUMNS})
    return KlineTable.merge(per_symbol, interval_ms)


class Constant:
    """A model that votes the same on every decision bar (or a schedule of votes by bar time)."""

    def __init__(self, action: int, confidence: float = 1.0):
        self.action, self.confidence = action, confidence

    def vote(self, bars) -> Votes:
        n = len(bars)
        return Votes(
            np.full(n, self.action, np.int8),
            np.full(n, self.confidence if self.action != ABSTAIN else 0.0),
            np.full(n, "constant", dtype=object),
        )


def test_the_update_ticks_are_the_decisions_that_close_an_update_period():
    closes = 100 + np.cumsum(np.ones((3 * 288, 1)), axis=0)
    [voted] = voted_chunks(
        table_of(closes, 5 * MINUTE_MS, ["AAAUSDT"]), [Constant(HOLD)], ["AAAUSDT"], 4 * HOUR_MS, ticks=3 * 288
    )
    four_hourly = update_ticks(voted, 4 * HOUR_MS)
    daily = update_ticks(voted, DAY_MS)
    assert [int(voted.ticks[t]) for t in four_hourly] == [k * 4 * HOUR_MS - 5 * MINUTE_MS for k in range(1, 19)]
    assert [int(voted.ticks[t]) for t in daily] == [k * DAY_MS - 5 * MINUTE_MS for k in range(1, 4)]


def test_each_shadow_book_is_its_experts_portfolio_traded_in_the_trader_s_book_and_cash_stays_flat():
    symbols = ["AAAUSDT", "BBBUSDT"]
    rng = np.random.default_rng(5)
    closes = 100 * np.exp(np.cumsum(rng.normal(0.001, 0.03, (120, 2)), axis=0))
    trader = TraderConfig(volatility_window="20d", drawdown_limit=0.0)
    models = [Constant(BUY, 0.5), Constant(SELL)]  # "buyer", "seller" (sorted)
    chunks = voted_chunks(table_of(closes, DAY_MS, symbols), models, symbols, DAY_MS, ticks=16)
    books = ShadowBooks(["buyer", "seller"], trader, symbols, DAY_MS)
    returns = np.concatenate([books.run(voted).returns for voted in chunks], axis=1)
    experts = Experts(["buyer", "seller"], ["buyer", "hold", "hold_vt"], trader, symbols, DAY_MS)
    own = {name: PortfolioBook(BookRules.of(trader), symbols) for name in ("buyer", "hold", "hold_vt")}
    equity = {name: [] for name in own}
    for voted in chunks:
        found = experts.at_each_decision(voted)
        for e, name in enumerate(("buyer", "hold", "hold_vt")):
            decisions = [Decision(p.tick, {s: float(p.weights[e, s]) for s in range(2)}) for p in found]
            equity[name] += own[name].run(voted.prices, 0, len(voted.ticks), decisions).equity.tolist()
    for name in own:
        path = np.array([trader.initial_equity, *equity[name]])
        np.testing.assert_allclose(returns[books.experts.index(name)], path[1:] / path[:-1] - 1, rtol=0, atol=1e-12)
    assert not returns[books.experts.index("seller")].any() and not returns[books.experts.index("cash")].any()
    assert np.abs(returns[books.experts.index("hold")]).sum() > np.abs(returns[books.experts.index("buyer")]).sum() > 0


@pytest.mark.parametrize("algorithm", ["adahedge", "winners"])
def test_on_a_market_where_every_model_loses_after_fees_weight_flows_to_cash(algorithm):
    symbols = ["AAAUSDT"]
    days = 200
    closes = (100.0 * (1 + 0.02 * np.sign(np.sin(np.arange(days) * 2.0)))).reshape(-1, 1)  # chop: every trade loses
    churn = [BUY if i % 2 == 0 else SELL for i in range(days)]

    class Schedule:
        def __init__(self, actions):
            self.actions = actions

        def vote(self, bars) -> Votes:
            codes = np.array([self.actions[int(t) // DAY_MS] for t in bars.open_time], np.int8)
            return Votes(codes, np.ones(len(codes)), np.full(len(codes), "scheduled", dtype=object))

    trader = TraderConfig(fee_rate=0.01, volatility_window="10d", drawdown_limit=0.0, rebalance_band=0.0)
    chunks = voted_chunks(table_of(closes, DAY_MS, symbols), [Schedule(churn)], symbols, DAY_MS, ticks=20)
    books = ShadowBooks(["churn"], trader, symbols, DAY_MS)
    returns = np.concatenate([books.run(voted).returns for voted in chunks], axis=1)
    ticks = np.concatenate([voted.ticks for voted in chunks])
    experts = ["churn", "cash"]
    learner = Learner(LearningConfig(algorithm=algorithm), experts, {"churn": 1.0, "cash": 0.0})
    versions = learner.observe(ticks, returns[[books.experts.index(e) for e in experts]], list(range(days)))
    assert isinstance(versions[-1], Weights) and versions[-1].weights["cash"] > 0.95


def test_credit_held_over_many_ticks_stays_small_and_sums_exactly_as_if_kept_whole():
    bars = 3 * COMPACT_AFTER
    ticks = np.arange(bars + 1, dtype=np.int64) * MINUTE_MS
    returns = np.random.default_rng(4).normal(0.0, 0.003, (2, bars + 1))
    config = LearningConfig(algorithm="hedge", min_weight=0.0, max_weight=1.0)
    learner = Learner(config, ["a", "b"], {"a": 0.5, "b": 0.5})
    for first in range(0, bars, 1000):  # chunks without an update: the credit folded as it grows
        learner.observe(ticks[first : min(bars, first + 1000)], returns[:, first : min(bars, first + 1000)], [])
    assert all(len(series) <= COMPACT_AFTER for series in learner.state.growth.values())
    (version,) = learner.observe(ticks[bars:], returns[:, bars:], [0])
    whole = Learner(config, ["a", "b"], {"a": 0.5, "b": 0.5}).observe(ticks, returns, [bars])
    assert version.weights == whole[0].weights and version.cause == ["update"]
    values = np.random.default_rng(5).normal(0.0, 1.0, 10_000) * 10.0 ** np.random.default_rng(6).integers(
        -12, 6, 10_000
    )
    assert math.fsum(exact_partials(values.tolist())) == math.fsum(values.tolist())
