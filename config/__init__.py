"""Typed, strict configuration: peper.toml decoded into frozen Structs, and the daemon-actor contract.

`load_config()` is the one entry point (`config.loader`); `ConfigError` carries a one-line
explanation. `config.schema` is the shape of peper.toml, `config.topology` what the `[actors]`
table implies, `config.endpoints` the bus addresses, `config.runtime` what the daemon and the
actors agree on (environment, run directory, control client), `config.restart_policy` the OTP-style
restart budget, `config.times` ISO times, `config.toml` writes a config back as TOML.
Imports `messages` only.
"""

from config.loader import decode_config, load_config
from config.schema import PeperConfig
from messages.errors import ConfigError

__all__ = ["ConfigError", "PeperConfig", "decode_config", "load_config"]
