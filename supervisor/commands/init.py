"""`python -m supervisor init [--force]`: write the commented default peper.toml into this folder.

Copies the configuration shipped in the package (`config.loader.shipped_config`: every key with
its meaning and unit) to `./peper.toml`, which every command then reads instead of the defaults;
refuses to overwrite one that is there unless `--force`.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from config.loader import DEFAULT_CONFIG, shipped_config
from config.schema import PeperConfig
from messages.errors import ConfigError


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    init = commands.add_parser("init", parents=[common], help="write the commented default peper.toml here")
    init.add_argument("--force", action="store_true", help="overwrite a peper.toml that is already here")


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    target = Path.cwd() / DEFAULT_CONFIG
    if target.exists() and not args.force:
        raise ConfigError(f"{target}: already there; edit it, or run `init --force` to replace it with the defaults")
    shutil.copyfile(shipped_config(), target)
    print(f"wrote {target}: every key documented; commands in {target.parent} now read it")
    return 0
