"""Typed, strict configuration: peper.toml decoded into frozen Structs.

`load_config()` is the one entry point (`config.loader`); `ConfigError` carries a one-line
explanation. `config.schema` is the shape of peper.toml (its sections in `config.section`,
`config.models`, `config.llm`), `config.topology` what the `[actors]` table implies,
`config.build` a config built in code, `config.toml` writes one back as TOML. What is not
configuration lives below (`common`: times, priorities, restart decisions, child processes) or
above (`bus`: endpoints, CURVE keys, the daemon-actor contract). Imports `messages` and `common`.
"""

from config.loader import decode_config, load_config
from config.schema import PeperConfig
from messages.errors import ConfigError

__all__ = ["ConfigError", "PeperConfig", "decode_config", "load_config"]
