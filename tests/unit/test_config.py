"""peper.toml is decoded strictly: a typo, a wrong type or an out-of-range value is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_config
from tests.helpers.daemon import REPO_ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "peper.toml"
    path.write_text(text)
    return path


def test_the_shipped_peper_toml_carries_the_seed_configuration():
    config = load_config(REPO_ROOT / "peper.toml", environ={})
    learning = config.learning
    assert (learning.learning_rate, learning.reward_multiplier, learning.punishment_multiplier) == (0.01, 1.5, 0.8)
    assert (learning.weight_decay, learning.min_weight, learning.max_weight) == (0.001, 0.05, 0.70)
    weights = learning.initial_weights
    assert (weights.trading_ai, weights.lava_ai, weights.lgbm_ai, weights.mistral_ai) == (0.25, 0.35, 0.40, 0.0)
    assert config.test.symbols == ["SOLUSDT", "ADAUSDT", "BTCUSDT", "ETHUSDT", "BNBUSDT"]
    assert (config.test.test_period_days, config.test.max_iterations) == (30, 10)
    assert (config.test.target_win_rate, config.test.min_trades_per_symbol) == (0.65, 5)
    assert config.mistral.model_path == "models/mistral-7b-instruct-v0.1.Q4_K_M.gguf"
    assert (config.mistral.port, config.mistral.startup_timeout, config.mistral.health_check_interval) == (8080, 120, 30)
    assert (config.database.backup_interval, config.database.max_backup_files) == (3600, 10)


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
    with pytest.raises(ConfigError, match=r"key learning.initial_weights: initial weights must sum to 1.0, they sum to 1.5"):
        load_config(path, environ={})


def test_environment_overrides_win_and_their_errors_name_the_variable(tmp_path):
    path = write(tmp_path, "[supervisor]\nheartbeat_interval_s = 1.0\n")
    config = load_config(path, environ={"PEPER_SUPERVISOR__HEARTBEAT_INTERVAL_S": "0.25", "PEPER_TEST__SYMBOLS": '["BTCUSDT"]'})
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
    with pytest.raises(ConfigError, match=r"actor 'b' starts after 'ghost', which is not an actor"):
        load_config(write(tmp_path, '[actors.b]\nafter = ["ghost"]\n'), environ={})
    with pytest.raises(ConfigError, match=r"actors start after each other in a cycle: a -> b -> a"):
        load_config(write(tmp_path, '[actors.a]\nafter = ["b"]\n[actors.b]\nafter = ["a"]\n'), environ={})
    config = load_config(write(tmp_path, '[actors.c]\nafter = ["a", "b"]\n[actors.a]\n[actors.b]\nafter = ["a"]\n'), environ={})
    assert config.start_order() == ["a", "b", "c"]
