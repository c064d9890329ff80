"""The weight update rules behind one interface: `update(weights, credit) -> weights`.

`credit` is every expert's net shadow-book return over the period just ended (a fraction; 0 for
an expert that stayed flat). Every rule is deterministic given its inputs and seed, keeps its own
state as a Struct for checkpoints and policies, and its result goes through `finish`: shrinkage
toward equal weights (`shrinkage`), the cap on any weight's change per update (`max_change`) and
the projection onto the capped simplex. The parameters are `[learning]`'s.
- `SeedRule` is the seed's ReinforcementLearningEngine: weight decay pulls every weight towards
  equal weights; then `apply_reward` for an expert whose book gained, `apply_punishment` for one
  whose book lost, nothing for one that stayed flat:
      reward:     w += learning_rate * reward_multiplier     * confidence * g(|return|)
      punishment: w -= learning_rate * punishment_multiplier * confidence * g(|return|)
  with g(x) = tanh(x / return_scale) and confidence 1 (the book's return already reflects the
  model's confidences, which sized its conviction through the score).
- `Hedge`: exponential weights on discounted net returns, S <- discount * S + return,
  w ∝ w0 * exp(hedge_eta * S) (w0: the initial weights), then a fixed share (`fixed_share`) of
  the weight spread evenly — the floor that lets an expert out of favour win weight back quickly
  when the regime changes (Herbster & Warmuth's fixed-share).
- `Thompson` keeps a Beta(gains + 1, losses + 1) per expert and weighs each by the probability
  that it is the best, estimated from `THOMPSON_DRAWS` joint draws of a generator seeded from
  `[learning] seed` and the update count (probability matching); an expert never out of cash has
  no evidence and takes no part in the draws.
"""

from __future__ import annotations

import math
import random

import msgspec

from config.schema import LearningConfig
from learning.projection import normalize_weights

THOMPSON_DRAWS = 256  # joint posterior draws per update


class SeedRule:
    def __init__(self, config: LearningConfig, initial: dict[str, float]):
        self.config = config

    def apply_reward(self, weight: float, confidence: float, magnitude: float) -> float:
        return weight + self.config.learning_rate * self.config.reward_multiplier * confidence * magnitude

    def apply_punishment(self, weight: float, confidence: float, magnitude: float) -> float:
        return weight - self.config.learning_rate * self.config.punishment_multiplier * confidence * magnitude

    def raw_update(self, weights: dict[str, float], credit: dict[str, float]) -> dict[str, float]:
        """Decay and rewards/punishments, before the projection."""
        equal = 1.0 / len(weights)
        decay = self.config.weight_decay
        updated = {m: w - decay * (w - equal) for m, w in weights.items()}
        for expert, earned in credit.items():
            if expert not in updated or earned == 0.0:
                continue
            magnitude = math.tanh(abs(earned) / self.config.return_scale)
            if earned > 0:
                updated[expert] = self.apply_reward(updated[expert], 1.0, magnitude)
            else:
                updated[expert] = self.apply_punishment(updated[expert], 1.0, magnitude)
        return updated

    def update(self, weights: dict[str, float], credit: dict[str, float]) -> dict[str, float]:
        return finish(weights, self.raw_update(weights, credit), self.config)

    def snapshot(self) -> bytes:
        return b""

    def restore(self, raw: bytes) -> None:
        pass


class HedgeState(msgspec.Struct):
    score: dict[str, float] = {}   # discounted sum of net returns per expert


class Hedge:
    def __init__(self, config: LearningConfig, initial: dict[str, float]):
        self.config = config
        self.prior = {m: max(w, 1e-12) for m, w in initial.items()}
        self.state = HedgeState()

    def update(self, weights: dict[str, float], credit: dict[str, float]) -> dict[str, float]:
        config, score = self.config, self.state.score
        for expert in weights:
            score[expert] = config.discount * score.get(expert, 0.0) + credit.get(expert, 0.0)
        logits = {m: math.log(self.prior.get(m, 1e-12)) + config.hedge_eta * score[m] for m in weights}
        top = max(logits.values())
        grown = {m: math.exp(logit - top) for m, logit in logits.items()}
        total = math.fsum(grown.values())
        share = config.fixed_share / len(weights)
        raw = {m: (1 - config.fixed_share) * value / total + share for m, value in grown.items()}
        return finish(weights, raw, config)

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.state)

    def restore(self, raw: bytes) -> None:
        self.state = msgspec.msgpack.decode(raw, type=HedgeState)


class ThompsonState(msgspec.Struct):
    gains: dict[str, int] = {}
    losses: dict[str, int] = {}
    draws: int = 0


class Thompson:
    def __init__(self, config: LearningConfig, initial: dict[str, float]):
        self.config = config
        self.state = ThompsonState()

    def update(self, weights: dict[str, float], credit: dict[str, float]) -> dict[str, float]:
        state = self.state
        for expert, earned in credit.items():
            if earned > 0:
                state.gains[expert] = state.gains.get(expert, 0) + 1
            elif earned < 0:
                state.losses[expert] = state.losses.get(expert, 0) + 1
        state.draws += 1
        rng = random.Random(self.config.seed * 1_000_003 + state.draws)  # reproducible from the count alone
        tested = [m for m in sorted(weights) if state.gains.get(m, 0) + state.losses.get(m, 0) > 0]
        if not tested:
            return finish(weights, dict(weights), self.config)
        wins = dict.fromkeys(weights, 0)
        for _ in range(THOMPSON_DRAWS):
            samples = [rng.betavariate(state.gains.get(m, 0) + 1, state.losses.get(m, 0) + 1) for m in tested]
            wins[tested[samples.index(max(samples))]] += 1
        return finish(weights, {m: wins[m] / THOMPSON_DRAWS for m in weights}, self.config)

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.state)

    def restore(self, raw: bytes) -> None:
        self.state = msgspec.msgpack.decode(raw, type=ThompsonState)


def finish(before: dict[str, float], raw: dict[str, float], config: LearningConfig) -> dict[str, float]:
    """Shrink toward equal weights, cap each weight's change, project onto the capped simplex."""
    equal = 1.0 / len(raw)
    shrunk = {m: (1 - config.shrinkage) * w + config.shrinkage * equal for m, w in raw.items()}
    cap = config.max_change
    capped = {m: min(before[m] + cap, max(before[m] - cap, w)) if m in before else w for m, w in shrunk.items()}
    return project(capped, config)


def project(weights: dict[str, float], config: LearningConfig) -> dict[str, float]:
    """The nearest weights on the capped simplex; bounds n weights cannot meet are widened to 1/n
    (one model alone weighs 1.0 whatever `max_weight` says)."""
    models = sorted(weights)
    share = 1.0 / len(models)
    low, high = min(config.min_weight, share), max(config.max_weight, share)
    return dict(zip(models, normalize_weights([weights[m] for m in models], low, high)))


def make_rule(config: LearningConfig, initial: dict[str, float]) -> SeedRule | Hedge | Thompson:
    return {"seed": SeedRule, "hedge": Hedge, "thompson": Thompson}[config.algorithm](config, initial)
