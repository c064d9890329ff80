"""The weight update rules behind one interface: `update(weights, trades) -> weights`.

`SeedRule` is the seed's ReinforcementLearningEngine: weight decay pulls every weight towards
equal weights; then, per trade and model, `apply_reward` when the model's stance and the trade's
result agree (it voted with a winner or against a loser), `apply_punishment` when they disagree,
nothing for an abstention:
    reward:     w += learning_rate * reward_multiplier     * confidence * g(|return|)
    punishment: w -= learning_rate * punishment_multiplier * confidence * g(|return|)
with g(x) = tanh(x / RETURN_SCALE), a bounded function of the return; then `normalize_weights`
(projection onto the capped simplex). `Hedge` multiplies each weight by
exp(eta * counterfactual return * confidence), redistributing only among the models that took a
side (sleeping experts); `Thompson` keeps a Beta(successes + 1, failures + 1)
per model and weighs each model by the probability that it is the best, estimated from
`THOMPSON_DRAWS` joint draws of a generator seeded from `[learning] seed` (probability matching);
a model that has never taken a side has no evidence and takes no part in the draws.
Every rule is deterministic given its inputs and seed.
"""

from __future__ import annotations

import math
import random

from config.schema import LearningConfig
from learning.attribution import counterfactual_returns, stance
from learning.projection import normalize_weights
from messages.trading import TradeClosed

RETURN_SCALE = 0.01   # a 1 % return gives g = tanh(1) ~ 0.76 of the full step
HEDGE_ETA = 50.0      # Hedge's learning rate per unit of return
THOMPSON_DRAWS = 256  # joint posterior draws per update


class SeedRule:
    def __init__(self, config: LearningConfig):
        self.config = config

    def apply_reward(self, weight: float, confidence: float, magnitude: float) -> float:
        return weight + self.config.learning_rate * self.config.reward_multiplier * confidence * magnitude

    def apply_punishment(self, weight: float, confidence: float, magnitude: float) -> float:
        return weight - self.config.learning_rate * self.config.punishment_multiplier * confidence * magnitude

    def raw_update(self, weights: dict[str, float], trades: list[TradeClosed]) -> dict[str, float]:
        """Decay and rewards/punishments, before the projection."""
        equal = 1.0 / len(weights)
        decay = self.config.weight_decay
        updated = {m: w - decay * (w - equal) for m, w in weights.items()}
        for trade in trades:
            magnitude = math.tanh(abs(trade.ret) / RETURN_SCALE)
            won = trade.pnl > 0
            for vote in trade.votes:
                side = stance(vote, trade.side)
                if side == 0 or vote.model not in updated:
                    continue
                if (side > 0) == won:
                    updated[vote.model] = self.apply_reward(updated[vote.model], vote.confidence, magnitude)
                else:
                    updated[vote.model] = self.apply_punishment(updated[vote.model], vote.confidence, magnitude)
        return updated

    def update(self, weights: dict[str, float], trades: list[TradeClosed]) -> dict[str, float]:
        return project(self.raw_update(weights, trades), self.config)


class Hedge:
    """Exponential weights over counterfactual returns, as sleeping experts: a trade redistributes
    weight only among the models that took a side on it, so sitting out never earns weight."""

    def __init__(self, config: LearningConfig):
        self.config = config

    def update(self, weights: dict[str, float], trades: list[TradeClosed]) -> dict[str, float]:
        current = dict(weights)
        for trade in trades:
            awake = {v.model: v for v in trade.votes if v.model in current and stance(v, trade.side) != 0}
            if not awake:
                continue
            earned = counterfactual_returns(trade)
            scores = {m: math.log(max(current[m], 1e-12)) + HEDGE_ETA * earned[m] * v.confidence for m, v in awake.items()}
            top = max(scores.values())
            grown = {m: math.exp(score - top) for m, score in scores.items()}
            mass = math.fsum(current[m] for m in awake)
            total = math.fsum(grown.values())
            for m in awake:
                current[m] = mass * grown[m] / total
        return project(current, self.config)


class Thompson:
    def __init__(self, config: LearningConfig):
        self.config = config
        self.successes: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.draws = 0

    def update(self, weights: dict[str, float], trades: list[TradeClosed]) -> dict[str, float]:
        for trade in trades:
            for vote in trade.votes:
                side = stance(vote, trade.side)
                if side == 0:
                    continue
                if (side > 0) == (trade.pnl > 0):
                    self.successes[vote.model] = self.successes.get(vote.model, 0) + 1
                else:
                    self.failures[vote.model] = self.failures.get(vote.model, 0) + 1
        self.draws += 1
        rng = random.Random(self.config.seed * 1_000_003 + self.draws)  # reproducible from the count alone
        wins = dict.fromkeys(weights, 0)
        tested = [m for m in sorted(weights) if self.successes.get(m, 0) + self.failures.get(m, 0) > 0]
        for _ in range(THOMPSON_DRAWS if tested else 0):
            samples = [rng.betavariate(self.successes.get(m, 0) + 1, self.failures.get(m, 0) + 1) for m in tested]
            wins[tested[samples.index(max(samples))]] += 1
        if not tested:
            return project(dict(weights), self.config)
        return project({m: wins[m] / THOMPSON_DRAWS for m in weights}, self.config)

    def replay(self, trades: list[TradeClosed], draws: int) -> None:
        """Restore the posterior and the draw count after a restart (no sampling)."""
        for trade in trades:
            for vote in trade.votes:
                side = stance(vote, trade.side)
                if side:
                    bucket = self.successes if (side > 0) == (trade.pnl > 0) else self.failures
                    bucket[vote.model] = bucket.get(vote.model, 0) + 1
        self.draws = draws


def project(weights: dict[str, float], config: LearningConfig) -> dict[str, float]:
    models = sorted(weights)
    projected = normalize_weights([weights[m] for m in models], config.min_weight, config.max_weight)
    return dict(zip(models, projected))


def make_rule(config: LearningConfig) -> SeedRule | Hedge | Thompson:
    return {"seed": SeedRule, "hedge": Hedge, "thompson": Thompson}[config.algorithm](config)
