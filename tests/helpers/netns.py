"""Two hosts on one machine: network namespaces joined by a veth pair, addresses only inside them.

`two_hosts()` makes namespaces `<tag>a` and `<tag>b` with 10.<x>.<y>.1 and .2 on the pair and
loopback up in each (the LLM server binds 127.0.0.1 on its host), yields (wrap_a, wrap_b, address
of a, address of b) — `wrap_*` is the `ip netns exec NS` prefix that runs a command on that host —
and deletes both namespaces after. Skips with the reason where namespaces cannot be made (not
root, no `ip`); CI runs as root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def two_hosts() -> Iterator[tuple[tuple[str, ...], tuple[str, ...], str, str]]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2's `ip` (CI runs as root)")
    tag = f"pp{os.getpid() % 100_000}"
    a, b = f"{tag}a", f"{tag}b"
    subnet = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"
    made: list[str] = []
    try:
        for name in (a, b):
            _ip("netns", "add", name)
            made.append(name)
        _ip("link", "add", f"{tag}va", "type", "veth", "peer", "name", f"{tag}vb")
        for name, device, host in ((a, f"{tag}va", 1), (b, f"{tag}vb", 2)):
            _ip("link", "set", device, "netns", name)
            _ip("-n", name, "addr", "add", f"{subnet}.{host}/24", "dev", device)
            _ip("-n", name, "link", "set", device, "up")
            _ip("-n", name, "link", "set", "lo", "up")
    except subprocess.CalledProcessError as exc:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30, check=False)
        pytest.skip(f"cannot make network namespaces here: {' '.join(exc.cmd)}: {exc.stderr.strip()}")
    try:
        yield ("ip", "netns", "exec", a), ("ip", "netns", "exec", b), f"{subnet}.1", f"{subnet}.2"
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30, check=False)
