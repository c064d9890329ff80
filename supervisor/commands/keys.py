"""`python -m supervisor keys new DIR [--hosts a,b]`: the CURVE keys of a bus across hosts.

Writes, with fresh keys (`bus.curve.make_bundles`), the daemon's bundle DIR/daemon (the broker's
key pair, a client pair for its own host's clients, the authorized client keys) and one bundle
DIR/<host> per host (the broker's public key and that host's client pair); secret keys are files of
mode 0600. Prints what goes where; never prints a secret key.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bus.curve import DAEMON_BUNDLE, make_bundles
from config.schema import PeperConfig


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    keys = commands.add_parser("keys", parents=[common], help="make the CURVE keys for a bus across hosts")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = actions.add_parser("new", help="the daemon's key bundle and one per host, in DIR")
    new.add_argument("dir", type=Path, metavar="DIR", help="folder for the bundles (made if missing)")
    new.add_argument("--hosts", default="agent", help="comma-separated names of the other hosts")


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    hosts = [host.strip() for host in args.hosts.split(",") if host.strip()]
    bundles = make_bundles(args.dir, hosts)
    print(
        f'{bundles[DAEMON_BUNDLE]}: the daemon\'s bundle — set [bus] curve_keys = "{bundles[DAEMON_BUNDLE]}" '
        '(with transport = "tcp") on the daemon\'s host'
    )
    for host in hosts:
        print(
            f"{bundles[host]}: copy to host {host} and run there: python -m supervisor agent "
            f"--connect tcp://DAEMON:PORT --keys {bundles[host].name}"
        )
    print("secret keys (*.key_secret) are mode 0600: keep them on their host, never in a repository")
    return 0
