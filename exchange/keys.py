"""The API key and secret the executor signs with: from the environment, else from files only its owner reads.

Consumes `[execution]` (`api_key_env`/`api_secret_env`, `api_key_file`/`api_secret_file`) and the
environment; produces `ApiKeys`, whose `repr` shows neither, or a `ConfigError` in one line naming
what is missing or too open. The keys go to python-binance and nowhere else: never to a log, the
bus or LMDB.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from config.schema import ExecutionConfig
from messages.errors import ConfigError

LIVE_ENV = "PEPER_I_MEAN_LIVE"  # set to 1 by `supervisor run --i-mean-live`; without it mode "live" refuses to start


@dataclass(frozen=True)
class ApiKeys:
    key: str = field(repr=False)
    secret: str = field(repr=False)


def load_keys(execution: ExecutionConfig, environ: Mapping[str, str] = os.environ) -> ApiKeys:
    return ApiKeys(
        _one(environ, execution.api_key_env, execution.api_key_file, "api_key"),
        _one(environ, execution.api_secret_env, execution.api_secret_file, "api_secret"),
    )


def _one(environ: Mapping[str, str], variable: str, file: str, what: str) -> str:
    if environ.get(variable):
        return environ[variable].strip()
    if not file:
        raise ConfigError(
            f"[execution]: no {what.replace('_', ' ')}: set the environment variable {variable} "
            f"or [execution] {what}_file"
        )
    path = Path(file)
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"[execution] {what}_file {path}: readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it"
            )
        value = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"[execution] {what}_file {path}: cannot be read ({exc.strerror})") from None
    if not value:
        raise ConfigError(f"[execution] {what}_file {path}: is empty")
    return value
