"""The topologies every benchmark runs, built typed (`config.build`): the shared klines through the given actors.

`replay_config` builds a replay of ../shared/data klines (1m, the five symbols) through the actors
given, deciding every hour with the models' periods in hours (`HOURLY`) and the seed's initial weights; `finished` waits until the
feed has completed the replay and returns its counters (bars, seconds from the first send to the
last acknowledgement); `measured` also returns what each actor cost meanwhile.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.data import KLINES, SYMBOLS
from bench.watch import ActorWatcher
from config.build import configured
from config.schema import PeperConfig
from messages.control import ActorStatus
from messages.counters import FeedCounters
from supervisor.harness import DaemonHandle, wait_for

# The benchmarks replay days of 1m bars: they decide every hour, every model's periods in hours, so each
# model works through the replay (the shipped config decides daily, which would leave them idle here).
HOURLY = {
    "feed": {"decision_interval": "1h"},
    "learning": {"update_every": "1h"},
    "trading_ai": {"lookbacks": ["4h", "8h", "16h", "1d", "2d"]},
    "strength_ai": {"lookbacks": ["4h", "12h"]},
    "lava_ai": {"window": "12h"},
    "lgbm_ai": {"horizon": "4h", "lookback": "2d", "min_train": "2d", "retrain_every": "1d"},
    "mistral_ai": {"every": "4h", "history": "12h"},
    "trader": {"volatility_window": "2d"},
}
SEED_WEIGHTS = {
    "trading_ai": 0.25,
    "lava_ai": 0.35,
    "lgbm_ai": 0.40,
    "mistral_ai": 0.0,
}  # the seed's; others start at 0
FEED = {"restart": "transient"}


def replay_config(
    db: Path,
    start: str,
    end: str,
    actors: dict[str, dict[str, Any]],
    *,
    source: Path | str = KLINES,
    interval: str = "1m",
    symbols: list[str] = SYMBOLS,
    **sections: dict[str, Any],
) -> PeperConfig:
    models = [name for name in SEED_WEIGHTS if name in actors]
    weights = {m: SEED_WEIGHTS[m] for m in models}
    total = sum(weights.values())
    learning = {
        "initial_weights": {m: w / total for m, w in weights.items()} if total else {},
        **HOURLY["learning"],
        **sections.pop("learning", {}),
    }
    for section, keys in HOURLY.items():
        if section not in ("feed", "learning"):
            sections[section] = {**keys, **sections.get(section, {})}
    return configured(
        test={"symbols": symbols},
        database={"path": str(db)},
        feed={
            "source": str(source),
            "start": start,
            "end": end,
            "interval": interval,
            **HOURLY["feed"],
            **sections.pop("feed", {}),
        },
        learning=learning,
        actors={**actors, "market_feed": FEED},
        **sections,
    )


def finished(daemon: DaemonHandle, timeout_s: float) -> FeedCounters:
    """The feed's counters once the replay is complete: `bars` and `replay_s` (measured by the feed
    itself, so polling slowly loses no precision and leaves the cores to the topology)."""
    return wait_for(
        lambda: (c := daemon.actor("market_feed").counters).replay_s > 0 and c,
        timeout_s,
        "the replay completed",
        interval_s=0.1,
    )


def counters_reported_after(daemon: DaemonHandle, name: str, since: float, timeout_s: float = 30) -> ActorStatus:
    """`name`'s status from a heartbeat sent after `since` (time.monotonic()): its counters then
    include everything it did before — a heartbeat read at once may predate the replay's last bar."""

    def fresh() -> ActorStatus | None:
        asked = time.monotonic()  # the daemon ages the heartbeat at a moment after this
        actor = daemon.actor(name)
        return actor if actor.heartbeat_age_s is not None and asked - actor.heartbeat_age_s > since else None

    return wait_for(fresh, timeout_s, f"a heartbeat of {name} after the replay", interval_s=0.1)


def measured(daemon: DaemonHandle, timeout_s: float) -> tuple[FeedCounters, ActorWatcher]:
    """The replay's counters and what each actor cost during it: every other actor's CPU is marked
    when the feed is being started (they are all running and idle then); the feed measures its own
    (it exits when done)."""
    watcher = ActorWatcher(daemon)
    wait_for(lambda: daemon.actor("market_feed").state in ("starting", "running", "done"), 120, "the feed started")
    watcher.mark({actor.name for actor in daemon.status().actors if actor.name != "market_feed"})
    feed = finished(daemon, timeout_s)
    watcher.read()
    watcher.cpu_s["market_feed"] = feed.replay_cpu_s
    watcher.peak_rss_mb["market_feed"] = feed.peak_rss_mb
    return feed, watcher
