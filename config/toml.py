"""Write a configuration back as TOML, so a config built in code runs as `--config FILE`.

Consumes a `PeperConfig` (or any nested dict of strings, numbers, booleans, lists and tables);
produces TOML text that `config.loader` reads back into an equal config. Tables become `[a.b]`
sections (a table inside a list: an inline table); strings are written with JSON's escapes, which TOML's basic strings share.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec

from config.schema import PeperConfig


def dumps(document: dict[str, Any] | PeperConfig) -> str:
    table: dict[str, Any] = msgspec.to_builtins(document) if isinstance(document, PeperConfig) else document
    lines: list[str] = []
    _table(table, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(table: dict[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and v is not None}  # None: absent
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    if path and (scalars or not tables):
        lines.append(f"\n[{'.'.join(_key(p) for p in path)}]")
    for key, value in scalars.items():
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables.items():
        _table(value, [*path, key], lines)


def _key(key: str) -> str:
    return key if key and all(c.isalnum() or c in "_-" for c in key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):  # in a list: an inline table
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
