"""Policies: made by `train` from its chosen configuration, traded with by `run --policy`.

Consumes, when made, the configuration the last fold chose (`training.search.Tried`: where its
learner ended after the whole span, its weights) and the span's recording (its newest lgbm_ai
model); produces a `storage.policies.Policy` in the catalog, its weights as a new catalog weights
version and its model as a new catalog model version. Consumes, when used, a policy and a run's
config; produces the config that starts from it (`apply_policy`: the chosen learning and trader sections, `start_version`/`start_weights`/`start_state`, the model pinned) and installs the
policy's weights version and model into the run's store (`install_policy`), so its first decision
already uses both.
"""

from __future__ import annotations

import base64
from pathlib import Path

import msgspec

from config.build import configured
from config.schema import PeperConfig
from config.topology import topology_of
from messages.errors import ConfigError, WeightsError
from messages.learning import Weights
from signals.stored_model import StoredModel
from storage.catalog import Catalog, config_hash
from storage.models import get_model, latest_model, model_versions, put_model
from storage.policies import Policy, all_policies, get_policy, next_policy_id, put_policy
from storage.store import Store
from storage.weights import get_weights, latest_weights, put_weights
from training.search import Tried, sections_of


def make_policy(
    catalog: Catalog, run: int, config: PeperConfig, chosen: Tried, span_recording: Path, learned_upto: int
) -> Policy:
    """Store the chosen configuration, learned through the span, as the catalog's newest policy."""
    store = catalog.store
    policy_id = next_policy_id(store)
    latest = latest_weights(store)
    weights_version = 0 if latest is None else latest.version + 1
    with Store(span_recording, readonly=True) as recording:
        found = latest_model(recording)
    lgbm_version = max(model_versions(store), default=0) + 1 if found is not None else 0
    with store.write() as txn:
        if found is not None:
            model = msgspec.msgpack.decode(found[1], type=StoredModel)
            put_model(
                store, lgbm_version, msgspec.msgpack.encode(msgspec.structs.replace(model, version=lgbm_version)), txn
            )
        put_weights(
            store,
            Weights(
                version=weights_version,
                effective_from=learned_upto,
                weights=chosen.final_weights,
                cause=[f"policy:{policy_id}", f"run:{run}"],
            ),
            txn=txn,
        )
        candidate = chosen.candidate.config
        policy = Policy(
            id=policy_id,
            run=run,
            created_at=learned_upto,
            experts=topology_of(candidate).experts(candidate),
            weights_version=weights_version,
            weights=chosen.final_weights,
            lgbm_version=lgbm_version,
            learner_state=base64.b64encode(chosen.learner_state).decode(),
            learning=msgspec.to_builtins(candidate.learning),
            trader=msgspec.to_builtins(candidate.trader),
            changes=chosen.candidate.changes,
            config_hash=config_hash(config),
        )
        put_policy(store, policy, txn)
    return policy


def find_policy(catalog: Catalog, which: str) -> Policy:
    """`which`: a policy id or `latest`; a `WeightsError` naming what the catalog holds otherwise."""
    policies = all_policies(catalog.store)
    if not policies:
        raise WeightsError(f"{catalog.path}: no policy stored yet (run `python -m supervisor train` first)")
    if which == "latest":
        return policies[-1]
    try:
        found = get_policy(catalog.store, int(which))
    except ValueError:
        found = None
    if found is None:
        raise WeightsError(
            f"{catalog.path}: no policy {which!r}; it holds policies "
            f"{', '.join(str(p.id) for p in policies)} (or say latest)"
        )
    return found


def apply_policy(config: PeperConfig, policy: Policy) -> PeperConfig:
    """The run's config, starting from the policy: its learning and trader sections (and any model setting
    its grid varied), weights, state and model."""
    chosen = sections_of(policy.changes)
    sections = {name: keys for name, keys in chosen.items() if name not in ("learning", "trader")}
    learning = {
        **policy.learning,
        "start_version": policy.weights_version,
        "start_weights": policy.weights,
        "start_state": policy.learner_state,
    }
    pinned = {"pinned_version": policy.lgbm_version} if policy.lgbm_version else {}
    try:
        started = configured(
            config,
            **sections,
            learning=learning,
            trader={**policy.trader, **chosen.get("trader", {})},
            lgbm_ai={**sections.get("lgbm_ai", {}), **pinned},
        )
        experts = topology_of(started).experts(started)
    except ConfigError as exc:
        raise ConfigError(f"policy {policy.id} does not fit this config: {exc}") from exc
    if experts != policy.experts:
        raise ConfigError(
            f"policy {policy.id} weighs {', '.join(policy.experts)}, but this config's experts are "
            f"{', '.join(experts)}: enable the same models as its training run {policy.run}"
        )
    return started


def install_policy(catalog: Catalog, policy: Policy, store_path: Path) -> None:
    """Put the policy's weights version and model into the run's store under the catalog's numbers."""
    weights = get_weights(catalog.store, policy.weights_version)
    model = get_model(catalog.store, policy.lgbm_version) if policy.lgbm_version else None
    with Store(store_path) as store:
        newest = latest_weights(store)
        held = get_weights(store, policy.weights_version)
        if (
            held is not None
            and held.weights != weights.weights
            or newest is not None
            and newest.version > policy.weights_version
        ):
            raise WeightsError(
                f"{store_path} already holds weights versions up to {newest.version} from another run; a run with "
                f"--policy {policy.id} starts at version {policy.weights_version}: record it into a fresh --db"
            )
        with store.write() as txn:
            if held is None:
                put_weights(store, weights, txn=txn)
            if model is not None:
                put_model(store, policy.lgbm_version, model, txn)
