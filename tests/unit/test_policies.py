"""Policies: stored by `train` with their own catalog versions, applied to a later run's config,
installed into its store — and refused, naming what does not fit, when they cannot be."""

from __future__ import annotations

import base64

import msgspec
import pytest

from config.build import configured, topology
from messages.errors import ConfigError, WeightsError
from messages.learning import Weights
from signals.stored_model import StoredModel
from storage.catalog import Catalog
from storage.models import get_model, put_model
from storage.store import Store
from storage.weights import all_weights, get_weights, put_weights
from training.policies import apply_policy, find_policy, install_policy, make_policy
from training.search import Candidate, Tried

WEIGHTS = {"lava_ai": 0.2, "trading_ai": 0.5, "cash": 0.3}


def run_config(**learning):
    return configured(
        actors=topology("trader", "rl_learner", "lava_ai", "trading_ai"),
        learning={"reference_experts": ["cash"], **learning},
    )


def stored_model(version: int) -> bytes:
    return msgspec.msgpack.encode(
        StoredModel(
            version=version,
            train_start=0,
            label_end=1,
            trained_at=2,
            horizon_bars=3,
            features=["a"],
            samples=10,
            metrics={},
            booster="b",
        )
    )


def a_policy(tmp_path):
    config = run_config()
    chosen = configured(
        config,
        trader={"volatility_target": 0.15, "rebalance_band": 0.05, "drawdown_limit": 0.08},
        learning={"hedge_eta": 7.0},
        trading_ai={"lookbacks": ["3d", "9d"]},
    )
    changes = {
        "trader.volatility_target": 0.15,
        "learning.hedge_eta": 7.0,
        "trading_ai.lookbacks": ["3d", "9d"],
        "trader.drawdown_limit": 0.08,
    }
    tried = Tried(
        Candidate(3, changes, chosen),
        validation=[],
        tests=[],
        learner_state=b"state",
        final_weights=WEIGHTS,
        final_version=9,
        weights_path=[],
    )
    span = tmp_path / "span.lmdb"
    with Store(span) as store:
        put_model(store, 4, stored_model(4))
    catalog = Catalog(tmp_path / "train.lmdb")
    put_weights(catalog.store, Weights(version=0, effective_from=0, weights=WEIGHTS, cause=["older"]))
    put_model(catalog.store, 1, stored_model(1))
    return catalog, make_policy(catalog, 1, config, tried, span, learned_upto=1_000)


def test_a_policy_gets_new_catalog_versions_and_a_run_starts_from_all_it_chose(tmp_path):
    catalog, policy = a_policy(tmp_path)
    try:
        assert (policy.id, policy.weights_version, policy.lgbm_version) == (1, 1, 2)  # after what the catalog held
        assert msgspec.msgpack.decode(get_model(catalog.store, 2), type=StoredModel).version == 2
        assert all_weights(catalog.store)[-1].cause == ["policy:1", "run:1"]
        assert find_policy(catalog, "latest") == find_policy(catalog, "1") == policy
        started = apply_policy(run_config(), policy)
        learning = started.learning
        assert (learning.hedge_eta, learning.start_version, learning.start_weights) == (7.0, 1, WEIGHTS)
        assert base64.b64decode(learning.start_state) == b"state"
        assert (started.trader.volatility_target, started.trader.drawdown_limit) == (0.15, 0.08)
        assert started.trading_ai.lookbacks == ["3d", "9d"]  # the model settings it chose vote in the run
        assert started.trader.rebalance_band == 0.05  # and the whole trader section it ran with, not only what varied
        assert started.lgbm_ai.pinned_version == 2
        install_policy(catalog, policy, tmp_path / "run.lmdb")
        with Store(tmp_path / "run.lmdb", readonly=True) as store:
            assert get_weights(store, 1).weights == WEIGHTS and get_model(store, 2) == get_model(catalog.store, 2)
    finally:
        catalog.close()


def test_a_policy_that_does_not_fit_is_refused_naming_what_differs(tmp_path):
    catalog, policy = a_policy(tmp_path)
    try:
        with pytest.raises(
            ConfigError,
            match=r"policy 1 does not fit .*weighs cash, lava_ai, trading_ai, but the experts are lgbm_ai, trading_ai, cash",
        ):
            apply_policy(
                configured(run_config(), actors=topology("trader", "rl_learner", "lgbm_ai", "trading_ai")), policy
            )
        with pytest.raises(WeightsError, match=r"no policy '5'; it holds policies 1 \(or say latest\)"):
            find_policy(catalog, "5")
        busy = tmp_path / "busy.lmdb"
        with Store(busy) as store:
            put_weights(store, *(Weights(version=v, effective_from=0, weights=WEIGHTS, cause=[]) for v in range(4)))
        with pytest.raises(WeightsError, match="already holds weights versions up to 3 .* fresh --db"):
            install_policy(catalog, policy, busy)
    finally:
        catalog.close()
