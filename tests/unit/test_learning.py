"""Weights stay on the capped simplex through any updates and rollbacks; rewards and punishments
move the right way; the projection is the Euclidean one, not clip-then-divide."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from config.schema import LearningConfig
from learning.engine import Hedge, SeedRule, Thompson, make_rule
from learning.projection import normalize_weights
from messages.trading import ModelVote, TradeClosed

MODELS = ["lava_ai", "lgbm_ai", "mistral_ai", "trading_ai"]
CONFIG = LearningConfig()

votes = st.lists(
    st.tuples(st.sampled_from(["BUY", "SELL", "HOLD", None]), st.floats(0, 1)), min_size=4, max_size=4
)
trades = st.builds(
    lambda side, ret, vote_list: TradeClosed(
        trade_id="t", symbol="BTCUSDT", side=side, entry_time=0, entry_price=100.0, exit_time=60_000,
        exit_price=100.0 * (1 + ret), quantity=1.0, fees=0.0, pnl=100.0 * ret, ret=ret, exit_reason="test",
        votes=[ModelVote(model=m, action=a, confidence=c) for m, (a, c) in zip(MODELS, vote_list)],
    ),
    st.sampled_from(["LONG", "SHORT"]), st.floats(-0.2, 0.2, allow_nan=False), votes,
)


def on_capped_simplex(weights: dict[str, float], config: LearningConfig = CONFIG) -> bool:
    return abs(math.fsum(weights.values()) - 1.0) <= 1e-12 and all(
        config.min_weight - 1e-15 <= w <= config.max_weight + 1e-15 for w in weights.values()
    )


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["seed", "hedge", "thompson"]), st.lists(st.one_of(st.lists(trades, min_size=1, max_size=4),
       st.integers(0, 30)), max_size=30))
def test_any_sequence_of_updates_and_rollbacks_stays_on_the_capped_simplex(algorithm, steps):
    config = LearningConfig(algorithm=algorithm)
    rule = make_rule(config)
    initial = {m: getattr(config.initial_weights, m) for m in MODELS}
    history = [normalize_weights_dict(initial)]
    for step in steps:
        if isinstance(step, int):  # a rollback: a new version equal to an old one
            history.append(dict(history[step % len(history)]))
        else:
            history.append(rule.update(history[-1], step))
        assert on_capped_simplex(history[-1]), history[-1]


def normalize_weights_dict(weights):
    models = sorted(weights)
    return dict(zip(models, normalize_weights([weights[m] for m in models], CONFIG.min_weight, CONFIG.max_weight)))


@settings(max_examples=200, deadline=None)
@given(trades)
def test_a_reward_never_lowers_and_a_punishment_never_raises_the_pre_projection_weight(trade):
    rule = SeedRule(CONFIG)
    weights = normalize_weights_dict({m: 0.25 for m in MODELS})
    decayed = {m: w - CONFIG.weight_decay * (w - 0.25) for m, w in weights.items()}
    updated = rule.raw_update(weights, [trade])
    for vote in trade.votes:
        if vote.action in (None, "HOLD"):
            assert updated[vote.model] == decayed[vote.model]
            continue
        with_trade = (vote.action == "BUY") == (trade.side == "LONG")
        if with_trade == (trade.pnl > 0):
            assert updated[vote.model] >= decayed[vote.model]
        else:
            assert updated[vote.model] <= decayed[vote.model]


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


def test_a_model_at_weight_zero_is_lifted_to_min_weight_and_can_earn_more():
    rule = SeedRule(CONFIG)
    weights = normalize_weights_dict({"trading_ai": 0.25, "lava_ai": 0.35, "lgbm_ai": 0.40, "mistral_ai": 0.0})
    assert weights["mistral_ai"] == CONFIG.min_weight
    win = TradeClosed(trade_id="w", symbol="BTCUSDT", side="LONG", entry_time=0, entry_price=100.0, exit_time=1,
                      exit_price=103.0, quantity=1.0, fees=0.0, pnl=3.0, ret=0.03, exit_reason="test",
                      votes=[ModelVote("mistral_ai", "BUY", 1.0), ModelVote("lgbm_ai", "SELL", 1.0)])
    for _ in range(50):
        weights = rule.update(weights, [win])
    assert weights["mistral_ai"] > 0.3 and weights["lgbm_ai"] == CONFIG.min_weight


def test_thompson_and_hedge_are_reproducible_from_their_seed():
    trade = TradeClosed(trade_id="x", symbol="BTCUSDT", side="LONG", entry_time=0, entry_price=1.0, exit_time=1,
                        exit_price=1.01, quantity=1.0, fees=0.0, pnl=0.01, ret=0.01, exit_reason="test",
                        votes=[ModelVote(m, "BUY", 0.5) for m in MODELS])
    start = normalize_weights_dict({m: 0.25 for m in MODELS})
    for rule_class in (Thompson, Hedge):
        first, second = rule_class(CONFIG), rule_class(CONFIG)
        assert [first.update(start, [trade]) for _ in range(5)] == [second.update(start, [trade]) for _ in range(5)]
