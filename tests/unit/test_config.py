"""peper.toml is decoded strictly: a typo, a wrong type, an out-of-range value or an impossible
topology is one clear line naming the key; and its defaults are the schema's, key for key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from bus.endpoints import bus_address, control_address
from config import ConfigError, load_config
from config.build import configured, topology
from config.schema import PeperConfig
from config.toml import dumps
from config.topology import broker_realtime_priority, realtime_priority, topology_of
from messages.errors import TopologyError
from tests.helpers.data import REPO_ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "peper.toml"
    path.write_text(text)
    return path


def differences(first: object, second: object, path: str = "") -> list[str]:
    """Every key whose value differs between two TOML-shaped documents, with both values."""
    if isinstance(first, dict) and isinstance(second, dict):
        return [
            line
            for key in sorted(set(first) | set(second))
            for line in differences(
                first.get(key, "<absent>"), second.get(key, "<absent>"), f"{path}.{key}".lstrip(".")
            )
        ]
    return [] if first == second else [f"{path}: peper.toml {first!r}, the schema {second!r}"]


def test_the_shipped_peper_toml_and_the_schema_hold_the_same_defaults_key_for_key():
    shipped = msgspec.to_builtins(load_config(REPO_ROOT / "peper.toml", environ={}))
    written = load_config.__globals__["_read_toml"](REPO_ROOT / "peper.toml")
    assert not differences(shipped, msgspec.to_builtins(PeperConfig())), "\n".join(
        differences(shipped, msgspec.to_builtins(PeperConfig()))
    )
    # and every key is written (documented) in the file, not left to the schema — but for what only a program
    # sets (a policy's start, an agent's local control) and the per-actor keys the [actors] comment documents
    missing = [
        line.split(":")[0]
        for line in differences(written, msgspec.to_builtins(PeperConfig()))
        if "peper.toml '<absent>'" in line and not line.startswith("actors.")
    ]
    assert missing == ["bus.local_control", "learning.start_state", "learning.start_weights"]
    assert configured() == load_config(REPO_ROOT / "peper.toml", environ={})  # what tests build is what users get


def test_the_shipped_peper_toml_carries_the_seed_configuration():
    config = load_config(REPO_ROOT / "peper.toml", environ={})
    learning = config.learning
    assert (learning.learning_rate, learning.reward_multiplier, learning.punishment_multiplier) == (0.01, 1.5, 0.8)
    assert learning.weight_decay == 0.001
    assert learning.initial_weights == {"trading_ai": 0.25, "lava_ai": 0.35, "lgbm_ai": 0.40, "mistral_ai": 0.0}
    assert config.test.symbols == ["SOLUSDT", "ADAUSDT", "BTCUSDT", "ETHUSDT", "BNBUSDT"]
    assert (config.test.test_period_days, config.test.target_win_rate, config.test.max_drawdown) == (30, 0.65, 0.15)
    assert config.mistral.model_path == "models/mistral-7b-instruct-v0.1.Q4_K_M.gguf"
    assert (config.mistral.port, config.mistral.startup_timeout_s, config.mistral.health_check_interval_s) == (
        8080,
        120,
        30,
    )
    assert (config.database.backup_interval_s, config.database.max_backup_files) == (3600, 10)


def test_the_shipped_topology_is_derived_from_the_actors_table_alone():
    shipped = topology_of(load_config(REPO_ROOT / "peper.toml", environ={}))
    assert shipped.models == ["lava_ai", "lgbm_ai", "mistral_ai", "strength_ai", "trading_ai"]
    assert shipped.ackers == [
        "recorder",
        "lava_ai",
        "lgbm_ai",
        "mistral_ai",
        "strength_ai",
        "trading_ai",
        "trader",
        "rl_learner",
    ]
    assert (shipped.feed, shipped.recorder, shipped.trader, shipped.learner, shipped.llm) == (
        "market_feed",
        "recorder",
        "trader",
        "rl_learner",
        "llm_supervisor",
    )
    order = shipped.order
    assert order[-1] == "market_feed" and order.index("llm_supervisor") < order.index("mistral_ai")
    # disabling a model takes it out of the models and the acknowledgers: no replay can wait for it
    without = topology_of(
        configured(
            actors=topology("recorder", "trader", "trading_ai", "market_feed", lava_ai={"enabled": False}),
            learning={"initial_weights": {}},
        )
    )
    assert without.models == ["trading_ai"] and "lava_ai" not in without.ackers and "lava_ai" not in without.order


@pytest.mark.parametrize(
    ("actors", "weights", "message"),
    [
        (
            topology("trader", "trading_ai"),
            {"lava_aii": 1.0},
            "[learning.initial_weights] key lava_aii: lava_aii is not an actor; the enabled models are trading_ai",
        ),
        (
            topology("trader", "trading_ai"),
            {"trading_ai": 0.5, "hold": 0.5},
            (
                "[learning.initial_weights] key hold: a reference expert takes weight only when [learning] reference_experts "
                "names it"
            ),
        ),
        (
            topology("trader", "trading_ai", "recorder"),
            {"recorder": 1.0},
            "[learning.initial_weights] key recorder: recorder is not a model; the enabled models are trading_ai",
        ),
        (
            topology("rl_learner", "trading_ai"),
            {},
            "[actors.rl_learner]: a learner needs a trader to apply its weights; enable the trader or disable the learner",
        ),
        (topology("trader", "recorder"), {}, "[actors.trader]: the trader needs at least one enabled model to vote"),
        (
            topology("trader", "trading_ai", other={"role": "trader"}),
            {},
            "[actors]: other and trader both have role 'trader'; a topology has one trader",
        ),
    ],
)
def test_impossible_topologies_are_refused_in_one_line_naming_the_key(tmp_path, actors, weights, message):
    text = dumps({"learning": {"initial_weights": weights}, "actors": actors})
    with pytest.raises(TopologyError) as error:
        load_config(write(tmp_path, text), environ={})
    assert str(error.value) == f"{tmp_path / 'peper.toml'}: {message}"


def test_a_shipped_model_left_out_of_the_topology_keeps_its_initial_weight_out_of_the_prior():
    config = configured(
        actors=topology("trader", "trading_ai", lava_ai={"enabled": False}),
        learning={"initial_weights": {"trading_ai": 0.5, "lava_ai": 0.5}, "reference_experts": []},
    )
    assert topology_of(config).initial_weights(config) == {"trading_ai": 0.5}


def test_a_misspelled_key_names_the_file_and_the_key(tmp_path):
    path = write(tmp_path, "[supervisor]\nheartbeat_intervl_s = 1.0\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert str(error.value) == (
        f"{path}: key supervisor.heartbeat_intervl_s: unknown key (misspelled? see peper.toml for the valid keys)"
    )


def test_a_wrong_type_names_the_key_and_the_expected_type(tmp_path):
    path = write(tmp_path, '[mistral]\nport = "eighty"\n')
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert str(error.value) == f"{path}: key mistral.port: expected `int`, got `str`"


def test_an_out_of_range_value_names_the_key_and_the_range(tmp_path):
    path = write(tmp_path, "[learning]\nlearning_rate = 1.5\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert str(error.value) == f"{path}: key learning.learning_rate: expected `float` <= 1.0"


def test_initial_weights_must_sum_to_one(tmp_path):
    path = write(tmp_path, "[learning.initial_weights]\nmistral_ai = 0.5\n")
    with pytest.raises(ConfigError, match=r"key learning: initial weights must sum to 1.0, they sum to 0.5"):
        load_config(path, environ={})


def test_environment_overrides_win_and_their_errors_name_the_variable(tmp_path):
    path = write(tmp_path, "[supervisor]\nheartbeat_interval_s = 1.0\n")
    config = load_config(
        path, environ={"PEPER_SUPERVISOR__HEARTBEAT_INTERVAL_S": "0.25", "PEPER_TEST__SYMBOLS": '["BTCUSDT"]'}
    )
    assert config.supervisor.heartbeat_interval_s == 0.25
    assert config.test.symbols == ["BTCUSDT"]
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={"PEPER_SUPERVISOR__MAX_RESTARTS": "many"})
    assert str(error.value) == (
        "environment variable PEPER_SUPERVISOR__MAX_RESTARTS: key supervisor.max_restarts: expected `int`, got `str`"
    )


def test_command_line_overrides_are_validated_like_the_file(tmp_path):
    path = write(tmp_path, "")
    assert load_config(path, environ={}, overrides={"feed.speed": "60"}).feed.speed == "60"
    with pytest.raises(ConfigError, match=r"^command line: key feed.speed: expected `str` matching regex"):
        load_config(path, environ={}, overrides={"feed.speed": "fast"})


def test_missing_file_and_invalid_toml_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere.toml: config file not found$"):
        load_config(tmp_path / "nowhere.toml", environ={})
    with pytest.raises(ConfigError, match=r"peper.toml: not valid TOML: "):
        load_config(write(tmp_path, "[learning\n"), environ={})


def test_actor_dependencies_must_exist_and_not_form_a_cycle(tmp_path):
    with pytest.raises(ConfigError, match=r"\[actors.b\] after: 'ghost' is not an actor"):
        load_config(write(tmp_path, '[actors.b]\nafter = ["ghost"]\n'), environ={})
    with pytest.raises(ConfigError, match=r"actors start after each other in a cycle: a -> b -> a"):
        load_config(write(tmp_path, '[actors.a]\nafter = ["b"]\n[actors.b]\nafter = ["a"]\n'), environ={})
    config = load_config(
        write(tmp_path, '[actors.c]\nafter = ["a", "b"]\n[actors.a]\n[actors.b]\nafter = ["a"]\n'), environ={}
    )
    assert topology_of(config).order == ["a", "b", "c"]


def test_a_config_written_back_as_toml_reads_back_equal(tmp_path):
    config = load_config(REPO_ROOT / "peper.toml", environ={})
    assert load_config(write(tmp_path, dumps(config)), environ={}) == config


def test_every_command_works_from_a_folder_without_peper_toml_and_init_writes_the_shipped_one(tmp_path):
    peper = [sys.executable, "-m", "supervisor"]
    listed = subprocess.run(
        [*peper, "policy", "list", "--catalog", "none.lmdb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "config file not found" not in listed.stderr and "none.lmdb" in listed.stderr  # it got past the config
    written = subprocess.run([*peper, "init"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "peper.toml").read_text() == (REPO_ROOT / "peper.toml").read_text()
    again = subprocess.run([*peper, "init"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 1 and "already there" in again.stderr


def test_live_the_frame_to_decision_actors_and_the_broker_run_realtime_and_nothing_else_does():
    actors = topology("market_feed", "recorder", "trader", "rl_learner", "trading_ai", "lgbm_ai")
    live = configured(feed={"mode": "live"}, actors=actors, learning={"initial_weights": {}})
    assert {name: realtime_priority(live, name) for name in sorted(live.actors)} == {
        "lgbm_ai": 10,
        "market_feed": 10,
        "recorder": 0,
        "rl_learner": 0,
        "trader": 10,
        "trading_ai": 10,
    }
    assert broker_realtime_priority(live) == 10
    replay = configured(actors=actors, learning={"initial_weights": {}})  # throughput, not wake-ups
    assert {realtime_priority(replay, name) for name in replay.actors} == {0} and broker_realtime_priority(replay) == 0
    chosen = configured(
        feed={"mode": "live"},
        supervisor={"realtime_priority": 0},
        learning={"initial_weights": {}},
        actors={**actors, "trader": {"realtime": 30}, "recorder": {"realtime": 5}},
    )
    assert (
        realtime_priority(chosen, "trader"),
        realtime_priority(chosen, "recorder"),
        realtime_priority(chosen, "trading_ai"),
        broker_realtime_priority(chosen),
    ) == (30, 5, 0, 0)


def test_connect_is_a_daemons_bus_address_for_every_command():
    assert bus_address("tcp://10.0.0.1:5750") == ("10.0.0.1", 5750)
    assert bus_address("tcp://gpu1") == ("gpu1", None)
    assert control_address("10.0.0.1", 5750) == "tcp://10.0.0.1:5752"
    for wrong in ("10.0.0.1:5750", "ipc:///tmp/x", "tcp://:5750", "tcp://h:port"):
        with pytest.raises(ConfigError, match=r"expected the daemon's bus address, tcp://HOST\[:PORT\]"):
            bus_address(wrong)
