"""`python -m supervisor` (or `peper`): run the daemon, or talk to a running one, or work offline.

Consumes the command line and the configuration; dispatches to the command's module in
`supervisor.commands`. Exit status 0 means success; any `PeperError` (the tree in
`messages.errors`) prints one line on stderr that says what failed and exits 1; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from bus.endpoints import resolve_run_dir
from config import load_config
from messages.errors import PeperError

COMMANDS = (
    "run",
    "status",
    "stop",
    "monitor",
    "demo",
    "train",
    "report",
    "export",
    "download",
    "weights",
    "policy",
    "db",
    "llm",
    "init",
    "keys",
    "agent",
    "halt",
)
MODULE_OF = {"status": "run", "stop": "run"}


def command_module(name: str):
    return importlib.import_module(f"supervisor.commands.{MODULE_OF.get(name, name)}")


class DefaultsFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless it has none or its text already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return text + " (default: %(default)s)"


class CommandParser(argparse.ArgumentParser):
    """A command's parser (and its sub-commands'): defaults in --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="python -m supervisor",
        description="Peper's supervisor: runs every actor as its own process on a ZeroMQ bus and keeps them alive; "
        "trains, reports and exports offline. `run` is the default command.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=None,
        help="configuration file (default: ./peper.toml, else the defaults shipped with Peper)",
    )
    common.add_argument("--run-dir", default=None, help="run directory of the bus (default: [bus] run_dir)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    added: set[str] = set()
    for name in COMMANDS:
        module = command_module(name)
        if module.__name__ not in added:
            module.add_parser(commands, common)
            added.add(module.__name__)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0].startswith("-") and arguments[0] not in ("-h", "--help"):
        arguments.insert(0, "run")
    args = build_parser().parse_args(arguments)
    module = command_module(args.command)
    try:
        overrides = getattr(module, "overrides", None)
        config = load_config(args.config, overrides=overrides(args) if overrides else None)
        args.explicit_run_dir = args.run_dir is not None
        args.run_dir = resolve_run_dir(config.bus, args.run_dir)
        return module.main(config, args)
    except PeperError as exc:
        print(f"supervisor: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("supervisor: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
