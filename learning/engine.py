"""The weight update rules behind one interface: `update(weights, credit) -> weights`.

`credit` is every expert's net shadow-book return over the period just ended (a fraction; 0 for
an expert that stayed flat, such as `cash`). Every rule is deterministic given its inputs and seed,
keeps its own state as a Struct for checkpoints and policies, and its result goes through `finish`:
shrinkage toward equal weights (`shrinkage`), the cap on any weight's change per update
(`max_change`) and the projection onto the capped simplex. The parameters are `[learning]`'s.
- `SeedRule` is the seed's ReinforcementLearningEngine: weight decay pulls every weight towards
  equal weights; then `apply_reward` for an expert whose book gained, `apply_punishment` for one
  whose book lost, nothing for one that stayed flat:
      reward:     w += learning_rate * reward_multiplier     * confidence * g(|return|)
      punishment: w -= learning_rate * punishment_multiplier * confidence * g(|return|)
  with g(x) = tanh(x / return_scale) and confidence 1 (the book's return already reflects the
  model's confidences, which sized its conviction through the score).
- `ExponentialWeights` over each expert's log loss, -log(1 + return) (what compounding punishes),
  discounted (`discount`: L <- discount * L + loss; 1 keeps the whole past):
  w ∝ exp(-eta * L), then a fixed share (`fixed_share`) spread evenly — the floor that lets an
  expert out of favour win weight back when the regime changes (Herbster & Warmuth's fixed-share).
  `hedge` fixes eta (`hedge_eta`); `adahedge` sets it from the losses themselves, eta = ln K /
  (the cumulative mixability gap) (de Rooij, van Erven, Grünwald & Koolen 2014, "Follow the Leader
  If You Can, Hedge If You Must") — its regret is bounded by the best expert's whatever the
  returns' scale — with `hedge_eta` as its ceiling: the published algorithm follows the leader
  while the gap is 0, which would hand every weight to the first period's winner. Every expert
  starts equal.
- `Winners` (the default) weighs each expert by its discounted log growth above cash's, which is
  0 (G <- discount * G + log(1 + return); w ∝ max(0, G) ** `winners_power`), and gives everything
  to `cash` when no expert grew: an expert that lost over the recent past has no weight, one that
  gained has weight as it gained. It is regret matching (Hart & Mas-Colell 2000) with cash, not
  the mixture, as the comparator, with the polynomial potential of Cesa-Bianchi & Lugosi (2003;
  power p - 1, 1 = plain regret matching) and discounted as Brown & Sandholm's (2019) discounted
  regret matching: no rate to tune, and a falling market that hurts every expert leaves the book
  in cash rather than near equal weights, as the exponential rules with their capped rate do.
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

CASH = "cash"
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


class ExponentialState(msgspec.Struct):
    loss: dict[str, float] = {}  # discounted cumulative log loss per expert
    gap: float = 0.0  # AdaHedge: discounted cumulative mixability gap
    updates: int = 0


class ExponentialWeights:
    """Hedge (`adaptive=False`: a fixed `hedge_eta`) or AdaHedge (`adaptive=True`: no rate to tune)."""

    def __init__(self, config: LearningConfig, initial: dict[str, float], adaptive: bool):
        self.config, self.adaptive = config, adaptive
        self.state = ExponentialState()

    def eta(self, experts: int) -> float:
        """hedge: `hedge_eta`; adahedge: ln K / the mixability gap so far, at most `hedge_eta` (so the first
        updates move gradually instead of following whichever expert led the first period)."""
        if not self.adaptive:
            return self.config.hedge_eta
        return min(self.config.hedge_eta, math.log(experts) / self.state.gap if self.state.gap > 0 else math.inf)

    def update(self, weights: dict[str, float], credit: dict[str, float]) -> dict[str, float]:
        config, state = self.config, self.state
        experts = sorted(weights)
        losses = {m: -math.log1p(max(credit.get(m, 0.0), -0.999999)) for m in experts}
        if self.adaptive:
            state.gap = config.discount * state.gap + mixability_gap(
                self._weights(experts), losses, self.eta(len(experts))
            )
        for m in experts:
            state.loss[m] = config.discount * state.loss.get(m, 0.0) + losses[m]
        state.updates += 1
        share = config.fixed_share
        raw = {m: (1 - share) * w + share / len(experts) for m, w in self._weights(experts).items()}
        return finish(weights, raw, config)

    def _weights(self, experts: list[str]) -> dict[str, float]:
        """softmax(-eta * cumulative loss); with eta infinite (AdaHedge before any gap) the leaders share it."""
        loss = [self.state.loss.get(m, 0.0) for m in experts]
        eta, best = self.eta(len(experts)), min(loss)
        if math.isinf(eta):
            leaders = [value == best for value in loss]
            return {m: lead / sum(leaders) for m, lead in zip(experts, leaders)}
        grown = [math.exp(-eta * (value - best)) for value in loss]
        total = math.fsum(grown)
        return {m: g / total for m, g in zip(experts, grown)}

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.state)

    def restore(self, raw: bytes) -> None:
        self.state = msgspec.msgpack.decode(raw, type=ExponentialState)


def mixability_gap(weights: dict[str, float], losses: dict[str, float], eta: float) -> float:
    """AdaHedge's delta: the mixture's loss minus the mix loss -1/eta log sum w exp(-eta loss), >= 0."""
    mixture = math.fsum(weights[m] * losses[m] for m in weights)
    support = [m for m in weights if weights[m] > 0]
    best = min(losses[m] for m in support)
    if math.isinf(eta):
        return max(0.0, mixture - best)
    mix = best - math.log(math.fsum(weights[m] * math.exp(-eta * (losses[m] - best)) for m in support)) / eta
    return max(0.0, mixture - mix)


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


class WinnersState(msgspec.Struct):
    growth: dict[str, float] = {}  # discounted cumulative log growth per expert


class Winners:
    """Each expert by its discounted log growth above cash's, to `winners_power`; all to cash when none grew."""

    def __init__(self, config: LearningConfig, initial: dict[str, float]):
        self.config = config
        self.state = WinnersState()

    def update(self, weights: dict[str, float], credit: dict[str, float]) -> dict[str, float]:
        growth, discount = self.state.growth, self.config.discount
        for m in sorted(weights):
            growth[m] = discount * growth.get(m, 0.0) + math.log1p(max(credit.get(m, 0.0), -0.999999))
        ahead = {m: max(0.0, growth[m]) ** self.config.winners_power for m in sorted(weights)}
        total = math.fsum(ahead.values())
        if total > 0:
            raw = {m: g / total for m, g in ahead.items()}
        elif CASH in weights:
            raw = {m: float(m == CASH) for m in weights}
        else:
            raw = dict(weights)
        return finish(weights, raw, self.config)

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.state)

    def restore(self, raw: bytes) -> None:
        self.state = msgspec.msgpack.decode(raw, type=WinnersState)


Rule = SeedRule | ExponentialWeights | Thompson | Winners


def make_rule(config: LearningConfig, initial: dict[str, float]) -> Rule:
    if config.algorithm in ("hedge", "adahedge"):
        return ExponentialWeights(config, initial, adaptive=config.algorithm == "adahedge")
    if config.algorithm == "seed":
        return SeedRule(config, initial)
    if config.algorithm == "winners":
        return Winners(config, initial)
    return Thompson(config, initial)
