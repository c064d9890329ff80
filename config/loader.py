"""Load peper.toml into a `PeperConfig`, apply overrides, and explain every mistake in one line.

Consumes a TOML file (./peper.toml, `--config`, or the defaults shipped in the package when the
working directory has none), `PEPER_<SECTION>__<KEY>` environment variables and command-line overrides
(`{"feed.source": "synthetic:3"}`); produces a frozen `PeperConfig` whose topology holds
(`config.topology`), or raises `ConfigError` whose message names the file (or variable), the key
and what was expected.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from config.schema import PeperConfig
from config.topology import topology_of
from messages.errors import ConfigError, TopologyError

ENV_PREFIX = "PEPER_"
DEFAULT_CONFIG = Path("peper.toml")
_PATH_IN_ERROR = re.compile(r" - at `\$((?:\.[A-Za-z0-9_]+|\[[0-9]+\])*)`$")


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> PeperConfig:
    """Decode `path` (default ./peper.toml, else the defaults shipped in the package), then
    environment, then explicit overrides."""
    file = Path(path) if path is not None else DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else shipped_config()
    document = _read_toml(file)
    origins: dict[str, str] = {}
    env = os.environ if environ is None else environ
    for name, text in sorted(env.items()):
        if name.startswith(ENV_PREFIX) and "__" in name:
            key = name[len(ENV_PREFIX) :].lower().replace("__", ".")
            _set_key(document, key, _parse_env_value(text))
            origins[key] = f"environment variable {name}"
    for key, value in (overrides or {}).items():
        _set_key(document, key, value)
        origins[key] = "command line"
    return decode_config(document, source=str(file), origins=origins)


def shipped_config() -> Path:
    """The commented default peper.toml inside the package (`config/peper.toml`, the repository's own)."""
    return Path(str(resources.files("config") / "peper.toml"))


def decode_config(
    document: dict[str, Any], *, source: str = "<config>", origins: Mapping[str, str] | None = None
) -> PeperConfig:
    """Validate a TOML-shaped dict and its topology; errors name `source` or the override that set the key."""
    try:
        config = msgspec.convert(document, PeperConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), source, origins or {})) from exc
    try:
        topology_of(config)
    except TopologyError as exc:
        raise TopologyError(f"{source}: {exc}") from exc
    return config


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{file}: config file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from exc


def _parse_env_value(text: str) -> Any:
    """A TOML value (`0.2`, `true`, `["A"]`, `"x"`), or else the raw text as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def _set_key(document: dict[str, Any], dotted_key: str, value: Any) -> None:
    *sections, leaf = dotted_key.split(".")
    node = document
    for section in sections:
        child = node.setdefault(section, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {dotted_key}: {section} is not a section")
        node = child
    node[leaf] = value


def _explain(message: str, source: str, origins: Mapping[str, str]) -> str:
    """Turn msgspec's `Expected X - at `$.a.b`` into `peper.toml: key a.b: expected X`."""
    match = _PATH_IN_ERROR.search(message)
    path = match.group(1).lstrip(".").replace(".[", "[") if match else ""
    what = message[: match.start()] if match else message
    unknown = re.fullmatch(r"Object contains unknown field `([^`]+)`", what)
    if unknown:
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
        what = "unknown key (misspelled? see peper.toml for the valid keys)"
    elif what.startswith("Expected"):
        what = "expected" + what[len("Expected") :]
    origin = next(
        (origins[key] for key in origins if path == key or key.startswith(path + ".") or path.startswith(key + "[")),
        source,
    )
    location = f"key {path}" if path else "top level"
    return f"{origin}: {location}: {what}"
