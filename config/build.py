"""Build a configuration in code, typed and checked like a file: what tests and benchmarks run.

Consumes a base `PeperConfig` (default: every default) and, per section, the keys to change;
produces a new `PeperConfig`, validated by the same decoder as peper.toml (a misspelled key or a
wrong type is the same one-line `ConfigError`), never by editing TOML text.

    >>> config = configured(feed={"source": "synthetic:3", "end": "2021-01-02"},
    ...                     actors=topology("recorder", "trading_ai", market_feed={"restart": "transient"}))
    >>> config.feed.source, sorted(config.actors)
    ('synthetic:3', ['market_feed', 'recorder', 'trading_ai'])
"""

from __future__ import annotations

from typing import Any

import msgspec

from config.loader import decode_config
from config.schema import PeperConfig

FAST_SUPERVISION = {  # short heartbeats and quick restarts, for tests
    "heartbeat_interval_s": 0.1,
    "heartbeat_liveness": 8,
    "startup_timeout_s": 20.0,
    "stop_grace_s": 3.0,
    "max_restarts": 5,
    "restart_period_s": 60.0,
    "backoff_initial_s": 0.05,
    "backoff_max_s": 0.5,
}


def topology(*names: str, **specs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`topology("recorder", "trader", market_feed={"restart": "transient"})`: the [actors] table."""
    tables: dict[str, dict[str, Any]] = {name: {} for name in names}
    tables.update(specs)
    return tables


def configured(base: PeperConfig | None = None, **sections: dict[str, Any]) -> PeperConfig:
    """`base` with each section's keys replaced (`actors` replaces the whole table)."""
    document = msgspec.to_builtins(base if base is not None else PeperConfig())
    for section, keys in sections.items():
        if section == "actors" or not isinstance(document.get(section), dict):
            document[section] = keys
        else:
            document[section] = {**document[section], **keys}
    return decode_config(document, source="configured()")
