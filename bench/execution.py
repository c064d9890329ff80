"""Execution benchmark: real orders through the executor against the Binance Spot double, beside the paper path.

Consumes two days of the shared 1m klines (five symbols), traded by trading_ai and lava_ai, and a
`SpotDouble` on 127.0.0.1 (fresh keys per run, from the environment as a user would give them);
produces the section `execution`:
- `paper_bars_per_s` / `executor_bars_per_s`: the replay at full speed without and with the
  executor (every order answered before the chunk is acknowledged), `orders` placed;
- `executor_orders_per_s`: orders over the replay's seconds; `venue_orders_per_s`: python-binance's
  signed `place` alone, in a loop (the client's and the double's ceiling);
- `trade_to_ack_p50_ms` / `_p99_ms`: from the trader publishing a fill to the executor publishing
  the exchange's answer (wall clock of the two frames), in a replay paced below the executor's
  rate (at full speed the figure would be the queue's length, not the path's latency);
- the chaos run: the executor and the trader each SIGKILLed twice at random moments of a paced replay
  of the same two days (`chaos_seed` reproduces it) — `chaos_duplicates`, `chaos_lost`,
  `chaos_mismatched`, `chaos_ledger_equal` (the double's ledger is the recorder's paper fills).
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import numpy as np

from bench.data import SYMBOLS
from bench.topology import finished, replay_config
from config.build import configured
from config.schema import PeperConfig
from exchange.audit import audit, recorded
from exchange.keys import ApiKeys
from exchange.spot_double import SpotDouble, open_rules
from exchange.venue import OrderRequest, Venue
from messages.errors import BenchError
from supervisor.harness import running_daemon, wait_for

WINDOW = ("2021-04-02", "2021-04-04")
ACTORS = ("recorder", "trader", "rl_learner", "trading_ai", "lava_ai")
DECIDING = {"feed": {"decision_interval": "15m"}, "learning": {"update_every": "15m"},
            "trading_ai": {"lookbacks": ["1h", "2h", "4h"]}, "lava_ai": {"window": "2h"},
            "trader": {"volatility_window": "4h"}}  # fmt: skip
PACED_SPEED = "30000"  # the two days in about 6 s: ~40 orders/s, well below what the executor can place
CHAOS_SPEED = PACED_SPEED  # paced, so the kills land mid-run
VENUE_ORDERS = 500


@contextmanager
def double_and_keys() -> Iterator[SpotDouble]:
    key, secret = secrets.token_hex(16), secrets.token_hex(32)
    saved = {name: os.environ.get(name) for name in ("PEPER_BINANCE_API_KEY", "PEPER_BINANCE_API_SECRET")}
    os.environ["PEPER_BINANCE_API_KEY"], os.environ["PEPER_BINANCE_API_SECRET"] = key, secret
    try:
        with SpotDouble(open_rules(SYMBOLS), key, secret, balances={"USDT": "10000"}) as double:
            yield double
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def config_for(db: Path, double: SpotDouble | None, speed: str = "max") -> PeperConfig:
    actors = {name: {} for name in ACTORS}
    sections = {**DECIDING, "feed": {**DECIDING["feed"], "speed": speed}}
    if double is not None:
        actors["executor"] = {}
        sections["execution"] = {"mode": "testnet", "api_url": double.api_url, "stream_url": double.stream_url}
    config = replay_config(db, *WINDOW, actors, **sections)
    return configured(config, supervisor={"max_restarts": 10, "restart_period_s": 60.0})


def replay(workdir: Path, double: SpotDouble | None, speed: str = "max") -> tuple[float, int, Path]:
    """(bars/s, bars, the recording) of one replay."""
    db = workdir / "rec.lmdb"
    with running_daemon(workdir, config_for(db, double, speed)) as daemon:
        counters = finished(daemon, 600)
    return counters.bars / counters.replay_s, counters.bars, db


def trade_to_ack_ms(db: Path) -> np.ndarray:
    trades, reports, _ = recorded(db)
    sent = {(t.trade_id, type(t).__name__): t.ts_sent for t in trades}
    return np.array(
        [
            (r.ts_sent - sent[(r.trade_id, "TradeOpen" if r.side == "BUY" else "TradeClosed")]) / 1e6
            for r in reports
            if (r.trade_id, "TradeOpen" if r.side == "BUY" else "TradeClosed") in sent
        ]
    )


def venue_rate(double: SpotDouble) -> float:
    """Signed orders per second through python-binance alone (a buy and its sale, repeated)."""
    config = configured(execution={"mode": "testnet", "api_url": double.api_url}).execution
    venue = Venue(config, ApiKeys(os.environ["PEPER_BINANCE_API_KEY"], os.environ["PEPER_BINANCE_API_SECRET"]),
                  lambda cause: None)  # fmt: skip
    started = time.perf_counter()
    for i in range(VENUE_ORDERS):
        side = "BUY" if i % 2 == 0 else "SELL"
        venue.place(OrderRequest(f"bench-{i}", SYMBOLS[0], side, Decimal("0.001"), Decimal(50000)))
    elapsed = time.perf_counter() - started
    venue.close()
    return VENUE_ORDERS / elapsed


def chaos(workdir: Path, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    victims = ["executor", "trader"] * 2
    rng.shuffle(victims)
    moments = sorted(rng.uniform(1.0, 6.0) for _ in victims)
    with double_and_keys() as double:
        db = workdir / "chaos.lmdb"
        with running_daemon(workdir, config_for(db, double, CHAOS_SPEED)) as daemon:
            started, killed = time.monotonic(), set()
            for moment, victim in zip(moments, victims):
                time.sleep(max(0.0, started + moment - time.monotonic()))
                pid = wait_for(
                    lambda v=victim: (a := daemon.actor(v)).state == "running" and a.pid not in killed and a.pid,
                    60,
                    f"{victim} running",
                )
                killed.add(pid)
                os.kill(pid, signal.SIGKILL)
            finished(daemon, 600)
            restarts = {name: daemon.actor(name).restarts for name in ("executor", "trader")}
        found = audit(db, double.orders())
    return {
        "chaos_seed": seed,
        "chaos_kills": restarts,
        "chaos_orders": found.orders,
        "chaos_fills": found.fills,
        "chaos_duplicates": len(found.duplicates),
        "chaos_lost": len(found.lost),
        "chaos_mismatched": len(found.mismatched),
        "chaos_ledger_equal": found.equal,
    }


def run(runs: int, quick: bool, seed: int | None = None) -> dict[str, object]:
    paper, executed, order_rates, orders, p50, p99, venue = [], [], [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="peper-bench-exec-") as tmp:
        for i in range(runs):
            paper.append(replay(_dir(tmp, f"paper{i}"), None)[0])
            with double_and_keys() as double:
                rate, bars, db = replay(_dir(tmp, f"exec{i}"), double)
                found = audit(db, double.orders())
                if not found.equal:
                    raise BenchError(f"execution: the double's ledger is not the paper book: {found}")
                executed.append(rate)
                orders.append(found.orders)
                order_rates.append(found.orders / (bars / rate))
            with double_and_keys() as double:  # paced below the executor's rate: latency, not queueing
                latency = trade_to_ack_ms(replay(_dir(tmp, f"paced{i}"), double, PACED_SPEED)[2])
                p50.append(float(np.percentile(latency, 50)))
                p99.append(float(np.percentile(latency, 99)))
                venue.append(venue_rate(double))
        result: dict[str, object] = {
            "paper_bars_per_s": _median(paper), "paper_bars_per_s_runs": paper,
            "executor_bars_per_s": _median(executed), "executor_bars_per_s_runs": executed,
            "orders": orders[0],
            "executor_orders_per_s": _median(order_rates), "executor_orders_per_s_runs": order_rates,
            "venue_orders_per_s": _median(venue), "venue_orders_per_s_runs": venue,
            "trade_to_ack_p50_ms": _median(p50), "trade_to_ack_p50_ms_runs": p50,
            "trade_to_ack_p99_ms": _median(p99), "trade_to_ack_p99_ms_runs": p99,
        }  # fmt: skip
        result.update(chaos(_dir(tmp, "chaos"), seed if seed is not None else time.time_ns() % 1_000_000))
    if not result["chaos_ledger_equal"]:
        raise BenchError(f"execution chaos (seed {result['chaos_seed']}): the ledger is not the paper book: {result}")
    return result


def _dir(root: str, name: str) -> Path:
    path = Path(root) / name
    path.mkdir()
    return path


def _median(values: list[float]) -> float:
    return round(float(np.median(values)), 3)
