"""Typed, strict configuration: peper.toml decoded into frozen Structs (see `config.schema`).

`load_config()` is the one entry point; `ConfigError` carries a one-line explanation.
`config.endpoints` derives the bus addresses every process uses from the `[bus]` section.
"""

from config.loader import ConfigError, decode_config, load_config
from config.schema import PeperConfig

__all__ = ["ConfigError", "PeperConfig", "decode_config", "load_config"]
