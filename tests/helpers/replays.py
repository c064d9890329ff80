"""A replay run to its end under a real daemon: what the trading and execution tests start from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from config.schema import PeperConfig
from supervisor.harness import DaemonHandle, running_daemon


def run_replay(
    tmp_path: Path, name: str, config: PeperConfig, during: Callable[[DaemonHandle], None] | None = None
) -> tuple[Path, str]:
    """(the work directory, the daemon's log) of a replay in `tmp_path/name`; `during(daemon)` runs
    while it goes (kills, commands), then the feed is waited for."""
    workdir = tmp_path / name
    workdir.mkdir()
    with running_daemon(workdir, config) as daemon:
        if during is not None:
            during(daemon)
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 300, "the replay finished")
        log = daemon.log()
    return workdir, log
