"""The topology, declared once in `[actors]`; everything else about it is derived here and checked.

Consumes a `PeperConfig`; produces a `Topology` (who is the feed, the recorder, the trader, the
learner, the models; who acknowledges the replay; the start order), or a `TopologyError` whose one
line names the key that asks for the impossible.

Roles: the actors Peper ships have theirs by name (`ROLE_BY_NAME`); any other actor says
`role = "model"` (or feed, recorder, trader, learner, llm) in its table, or is "other".
Derived, never written:
- models: the enabled actors of role model, by name;
- acknowledgers (`ackers`): the enabled recorder, models, trader, learner and executor — a replay moves on
  only as fast as the slowest of them (credit-based flow control, DESIGN.md §3);
- start order: every actor after its `after` list, the models after the LLM supervisor, the feed
  last of all (after every acknowledger): nothing is sent before every receiver listens;
- experts: the models the learner weighs and the reference experts it names, with their initial
  weights from `[learning.initial_weights]` (an expert it does not name starts at 0, which the
  learner's projection lifts to `min_weight`; none of the experts named: equal weights).
Refused: an initial weight for an actor that is not a model or a name that is not an actor (a model
Peper ships that the topology leaves out is not refused: its weight stays out of the prior); a
learner without a trader; a trader without a model; two actors of a role that has one; an `after` naming no actor;
a cycle of `after`s. (Weight bounds that the enabled models cannot meet are widened to 1/n by the
projection: one model alone weighs 1.0.)
"""

from __future__ import annotations

import msgspec

from config.schema import ActorSpec, PeperConfig
from messages.errors import TopologyError

ROLE_BY_NAME = {
    "market_feed": "feed",
    "recorder": "recorder",
    "trader": "trader",
    "rl_learner": "learner",
    "trading_ai": "model",
    "strength_ai": "model",
    "lava_ai": "model",
    "lgbm_ai": "model",
    "mistral_ai": "model",
    "llm_supervisor": "llm",
    "executor": "executor",
}
SINGLE_ROLES = ("feed", "recorder", "trader", "learner", "llm", "executor")
REFERENCE_EXPERTS = ("cash", "hold", "hold_vt")


class Topology(msgspec.Struct, frozen=True):
    order: list[str]  # enabled actors in start order
    roles: dict[str, str]  # every enabled actor -> its role
    models: list[str]  # enabled models, by name
    ackers: list[str]  # who acknowledges a replay's ticks
    feed: str | None = None
    recorder: str | None = None
    trader: str | None = None
    learner: str | None = None
    llm: str | None = None
    executor: str | None = None

    def experts(self, config: PeperConfig) -> list[str]:
        """What the learner weighs and the ensemble mixes: the models, then the reference experts
        `[learning] reference_experts` lets take weight (`cash`, `hold`, `hold_vt`: `trading.experts`)."""
        return [*self.models, *config.learning.reference_experts]

    def initial_weights(self, config: PeperConfig) -> dict[str, float]:
        """Each expert's initial weight, before the learner's projection (unnamed ones: 0; none
        named at all: equal weights)."""
        experts = self.experts(config)
        given = {name: weight for name, weight in config.learning.initial_weights.items() if name in experts}
        if not given or not sum(given.values()):
            return {expert: 1.0 / len(experts) for expert in experts}
        return {expert: float(given.get(expert, 0.0)) for expert in experts}


ROLE_NICENESS = {"recorder": 5, "learner": 5, "llm": 10}  # off the bar -> decision path: they yield to it
REALTIME_ROLES = ("feed", "model", "trader")  # on it: live, they run as soon as a frame comes


def niceness(config: PeperConfig, name: str) -> int:
    """The actor's CPU niceness: `[actors.<name>] nice`, else its role's — the recorder, the learner and
    the LLM's server are not on the path from a bar to its decision, so live they let it go first."""
    spec = config.actors[name]
    return spec.nice if spec.nice is not None else ROLE_NICENESS.get(role_of(name, spec.role), 0)


def realtime_priority(config: PeperConfig, name: str) -> int:
    """The actor's SCHED_FIFO priority (0: ordinary scheduling): `[actors.<name>] realtime`, else, live,
    `[supervisor] realtime_priority` for the path from a closing frame to its decision (the feed, the
    models, the trader). A replay needs throughput, not wake-up latency: ordinary unless set per actor."""
    spec = config.actors[name]
    if spec.realtime is not None:
        return spec.realtime
    on_path = role_of(name, spec.role) in REALTIME_ROLES
    return config.supervisor.realtime_priority if on_path and config.feed.mode == "live" else 0


def broker_realtime_priority(config: PeperConfig) -> int:
    """The broker's SCHED_FIFO priority: live, `[supervisor] realtime_priority` (every hop passes it)."""
    return config.supervisor.realtime_priority if config.feed.mode == "live" else 0


def role_of(name: str, spec_role: str) -> str:
    return spec_role or ROLE_BY_NAME.get(name, "other")


def topology_of(config: PeperConfig) -> Topology:
    """The topology the config declares, checked; TopologyError names the offending key."""
    specs = config.actors
    enabled = {name: spec for name, spec in specs.items() if spec.enabled}
    roles = {name: role_of(name, spec.role) for name, spec in enabled.items()}
    single: dict[str, str] = {}
    for role in SINGLE_ROLES:
        holders = sorted(name for name, held in roles.items() if held == role)
        if len(holders) > 1:
            raise TopologyError(f"[actors]: {' and '.join(holders)} both have role {role!r}; a topology has one {role}")
        if holders:
            single[role] = holders[0]
    models = sorted(name for name, role in roles.items() if role == "model")
    _check_weights(config, models, roles)
    if "learner" in single and "trader" not in single:
        raise TopologyError(
            f"[actors.{single['learner']}]: a learner needs a trader to apply its weights; "
            "enable the trader or disable the learner"
        )
    if "executor" in single and "trader" not in single:
        raise TopologyError(
            f"[actors.{single['executor']}]: the executor places the trader's trades; enable the trader"
        )
    if "executor" in single and config.execution.mode == "paper":
        raise TopologyError(
            f'[actors.{single["executor"]}] is enabled but [execution] mode = "paper": '
            'set mode = "testnet" (or "live") or disable the executor'
        )
    if "trader" in single and not models:
        raise TopologyError(f"[actors.{single['trader']}]: the trader needs at least one enabled model to vote")
    ackers = [
        name
        for name in (
            single.get("recorder"),
            *models,
            single.get("trader"),
            single.get("learner"),
            single.get("executor"),
        )
        if name
    ]
    order = _start_order(config, enabled, roles, ackers, single)
    return Topology(order=order, roles=roles, models=models, ackers=ackers, **single)


def _check_weights(config: PeperConfig, models: list[str], roles: dict[str, str]) -> None:
    for name in config.learning.initial_weights:
        if name in config.learning.reference_experts or name in models or shipped_model(name, config):
            continue  # a model Peper ships that this topology leaves out keeps its weight out of the prior
        if name in REFERENCE_EXPERTS:
            raise TopologyError(
                f"[learning.initial_weights] key {name}: a reference expert takes weight only when "
                f"[learning] reference_experts names it"
            )
        what = f"{name} is not a model" if name in roles else f"{name} is not an actor"
        raise TopologyError(
            f"[learning.initial_weights] key {name}: {what}; the enabled models are {', '.join(models) or 'none'}"
        )
    start = config.learning.start_weights
    experts = [*models, *config.learning.reference_experts]
    if start and sorted(start) != sorted(experts):
        raise TopologyError(
            f"[learning.start_weights] weighs {', '.join(sorted(start))}, but the experts are "
            f"{', '.join(experts)}: they come from a run with other experts (a policy, or an earlier run on "
            "this store); enable the same models and [learning] reference_experts, or use a fresh --db"
        )


def shipped_model(name: str, config: PeperConfig) -> bool:
    """A model Peper ships, disabled or absent in this topology (its initial weight is not a typo)."""
    spec = config.actors.get(name)
    return ROLE_BY_NAME.get(name) == "model" and (spec is None or not spec.enabled)


def _start_order(
    config: PeperConfig, enabled: dict[str, ActorSpec], roles: dict[str, str], ackers: list[str], single: dict[str, str]
) -> list[str]:
    needs: dict[str, list[str]] = {}
    for name, spec in enabled.items():
        for dependency in spec.after:
            if dependency not in config.actors:
                raise TopologyError(f"[actors.{name}] after: {dependency!r} is not an actor")
        implied = []
        if roles[name] == "model" and "llm" in single:
            implied.append(single["llm"])
        if roles[name] == "feed":
            implied.extend(ackers)
        needs[name] = [d for d in (*spec.after, *implied) if d in enabled and d != name]
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise TopologyError(f"[actors]: actors start after each other in a cycle: {cycle}")
        visiting.append(name)
        for dependency in needs[name]:
            visit(dependency)
        visiting.pop()
        order.append(name)

    for name in enabled:
        visit(name)
    return order
