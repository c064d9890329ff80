"""Real orders: the trader's trades placed by the executor on a Binance Spot double on 127.0.0.1 —
the same trades as the paper broker, nothing placed twice or lost through faults and kills, and
the keys never written anywhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import msgspec
import numpy as np
import pytest

from common.times import parse_time
from exchange.audit import audit, recorded
from exchange.client_ids import client_order_id
from exchange.filters import SymbolRules
from exchange.spot_double import SpotDouble, open_rules
from marketdata.binance_double import BinanceDouble
from marketdata.sources import load_source
from supervisor.harness import running_daemon, start_daemon
from tests.helpers import topologies
from tests.helpers.data import KLINES, REPO_ROOT, requires_shared_data
from tests.helpers.replays import run_replay
from tests.helpers.topologies import live_topology

SYMBOLS = ["AAAUSDT", "BBBUSDT"]
LIVE_SYMBOLS = ["BTCUSDT", "ETHUSDT"]
KEY, SECRET = "peper-test-key-5f2c9a", "peper-test-secret-8d41e7b0c3"
MODELS = {"trading_ai": {}, "lava_ai": {}}


def rules(min_notional: str = "0") -> list[SymbolRules]:
    return open_rules(SYMBOLS, min_notional=min_notional)


def topology(db: Path, double: SpotDouble, *, end: str = "2021-01-02", speed: str = "max", **execution):
    return topologies.replay(
        db,
        "synthetic:21",
        ("", end),
        actors={"rl_learner": {}, "trader": {}, "executor": {}, **MODELS},
        chunk=64,
        credit=256,
        symbols=SYMBOLS,
        feed={"speed": speed},
        execution={
            "mode": "testnet",
            "api_url": double.api_url,
            "stream_url": double.stream_url,
            "request_timeout_s": 1.0,
            **execution,
        },
    )


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("PEPER_BINANCE_API_KEY", KEY)
    monkeypatch.setenv("PEPER_BINANCE_API_SECRET", SECRET)


def run(tmp_path: Path, name: str, config, during=None) -> str:
    return run_replay(tmp_path, name, config, during)[1]


def assert_ledger_is_the_paper_book(double: SpotDouble, db: Path) -> None:
    found = audit(db, double.orders())
    assert found.fills > 10, "too few trades to compare"
    assert found.equal and found.orders == found.fills, found
    _, reports, _ = recorded(db)
    assert {r.client_order_id for r in reports} == set(double.client_order_ids())
    assert all(r.status == "FILLED" for r in reports)


def test_a_replay_through_the_executor_trades_on_the_exchange_exactly_what_the_paper_broker_traded(tmp_path, keys):
    held_before = {"USDT": "10000", "AAA": "500", "BBB": "500"}  # an account with coins of its own, as the Testnet's
    with SpotDouble(rules(), KEY, SECRET, balances=held_before) as double:
        db = tmp_path / "exec.lmdb"
        log = run(tmp_path, "run", topology(db, double))
        assert_ledger_is_the_paper_book(double, db)
        left = double.ledger.balances
    assert left["AAA"] >= 500 and left["BBB"] >= 500  # the coins held before the run were never sold
    report = subprocess.run(
        [sys.executable, "-m", "supervisor", "report", "--db", str(db), "--out", str(tmp_path / "report")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr[-2000:]
    assert (tmp_path / "report" / "report.md").read_text().count("|") > 10  # a session traded through the executor
    assert KEY not in log and SECRET not in log
    raw = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    assert KEY.encode() not in raw and SECRET.encode() not in raw, "a key reached a file"


def test_a_429_a_500_an_unknown_5xx_and_an_answer_that_never_came_each_leave_the_order_placed_once(tmp_path, keys):
    faults = {3: "429", 6: "500", 9: "503_after_accept", 12: "hold_after_accept"}
    with SpotDouble(rules(), KEY, SECRET, faults=faults, hold_s=2.5) as double:
        db = tmp_path / "faults.lmdb"
        captured = {}

        def note_counters(daemon):
            daemon.wait_for(lambda: daemon.actor("executor").counters.orders >= 14, 120, "the faults passed")
            captured["counters"] = daemon.actor("executor").counters

        run(tmp_path, "run", topology(db, double), during=note_counters)
        assert not double.faults, f"faults never met: {double.faults}"
        assert_ledger_is_the_paper_book(double, db)
    counters = captured["counters"]
    assert counters.retries == {"429": 1, "5xx": 2, "timeout": 1}
    assert counters.found_after_doubt == 2  # the 503 after acceptance and the held answer: found, not resent
    # the 500 came before acceptance: looked up twice, half a second apart (-2013, not there), then sent again
    assert double.refused == {-1003: 1, -1001: 1, -2013: 2, -1007: 1}


def test_a_half_filled_order_is_the_books_and_what_the_trader_sells_later_is_what_the_exchange_bought(tmp_path, keys):
    with SpotDouble(rules(), KEY, SECRET, faults={1: "partial"}) as double:
        db = tmp_path / "partial.lmdb"
        seen = {}

        def note_counters(daemon):
            daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 300, "the replay finished")

            def reported(counters) -> bool:  # every tick of the day decided, every trade's report taken
                return (
                    counters.ticks == 1440
                    and counters.exchange_reports == counters.trades_opened + counters.trades_closed
                )

            daemon.wait_for(lambda: reported(daemon.actor("trader").counters), 60, "every trade's report taken")
            seen["trader"] = daemon.actor("trader").counters

        run(tmp_path, "run", topology(db, double), during=note_counters)
        orders = double.orders()
    first = orders[0]
    assert first["status"] == "EXPIRED" and Decimal(first["executedQty"]) * 2 == Decimal(first["origQty"])
    found = audit(db, orders)
    assert found.fills > 10 and not (found.duplicates or found.lost or found.extra or found.refused), found
    [mismatched] = found.mismatched  # only the half-filled order: every later one is what the book then held
    assert mismatched.startswith(f"{first['clientOrderId']}: quantity {first['executedQty']}, paper {first['origQty']}")
    trades, _, _ = recorded(db)
    opened = next(t for t in trades if client_order_id_of(db, t) == first["clientOrderId"])
    sold = sum(t.quantity for t in trades if t.trade_id.startswith(f"{opened.trade_id}-") and hasattr(t, "exit_time"))
    assert sold == pytest.approx(float(first["executedQty"]), abs=1e-7)  # the trader sold what the exchange bought
    counters = seen["trader"]
    assert counters.exchange_reports == len(trades) and counters.exchange_adjusted >= 1


def test_trades_with_the_exchanges_fills_taken_are_the_same_through_a_kill_of_the_trader(tmp_path, keys):
    def replay(name: str, kill_trader: bool) -> list[tuple]:
        with SpotDouble(rules(), KEY, SECRET, faults={1: "partial", 9: "partial"}) as double:
            db = tmp_path / f"{name}.lmdb"

            def kill(daemon):
                daemon.wait_for(lambda: len(double.orders()) >= 20, 120, "twenty orders")
                trader = daemon.actor("trader").pid
                os.kill(trader, signal.SIGKILL)
                restarted(daemon, "trader", trader)

            log = run(tmp_path, name, topology(db, double, speed="20000"), during=kill if kill_trader else None)
            assert double.faults == {}
        if kill_trader:
            assert "trader: restarted: resumed from the checkpoint at" in log
        return [transported_out(trade) for trade in recorded(db)[0]]

    calm = replay("calm", kill_trader=False)
    assert len(calm) > 20 and calm == replay("killed", kill_trader=True)


def transported_out(message) -> tuple:
    """A message's content without what its transport stamps (seq, sender, send time, epoch)."""
    fields = msgspec.structs.asdict(message)
    return tuple((key, value) for key, value in fields.items() if key not in ("seq", "src", "ts_sent", "epoch"))


def client_order_id_of(db: Path, trade) -> str:
    return client_order_id(recorded(db)[2], trade)


def test_a_dropped_user_stream_is_reconnected_and_every_order_is_still_placed_once(tmp_path, keys):
    with SpotDouble(rules(), KEY, SECRET, stream_drops={5, 30}) as double:
        db = tmp_path / "stream.lmdb"
        seen = {}

        def note_counters(daemon):
            daemon.wait_for(lambda: daemon.actor("executor").counters.stream_reconnects >= 2, 120, "two reconnects")
            daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 300, "the replay finished")
            daemon.wait_for(lambda: daemon.actor("executor").counters.orders == len(double.orders()), 60, "the last")
            seen["counters"] = daemon.actor("executor").counters

        run(tmp_path, "run", topology(db, double, speed="20000"), during=note_counters)
        assert_ledger_is_the_paper_book(double, db)
        events, accepted = double.stream.events, double.stream.accepted
    counters = seen["counters"]
    assert counters.stream_reconnects == 2 and accepted == 3  # the first connection and two after the drops
    assert counters.stream_unmatched == 0
    # the events sent at the drops are lost (Binance repeats nothing), and any sent while reconnecting; but
    # at most 28 of the first 30 came before the second drop, so more means the stream came back after it
    assert 28 < counters.stream_reports <= events - 2


def test_the_executor_killed_before_the_answer_came_and_the_trader_killed_mid_run_place_nothing_twice(tmp_path, keys):
    with SpotDouble(rules(), KEY, SECRET, faults={8: "hold_after_accept"}, hold_s=5.0) as double:
        db = tmp_path / "kills.lmdb"

        def kill_both(daemon):
            assert double.held.wait(120), "the held order never came"
            executor = daemon.actor("executor").pid
            os.kill(executor, signal.SIGKILL)  # the double has the order; its answer never reaches the executor
            restarted(daemon, "executor", executor)
            daemon.wait_for(lambda: len(double.orders()) >= 20, 120, "more orders")
            trader = daemon.actor("trader").pid
            os.kill(trader, signal.SIGKILL)
            restarted(daemon, "trader", trader)
            found = daemon.actor("executor").counters.found_after_doubt
            assert found >= 1, "the order accepted before the kill was not looked up after the restart"

        log = run(tmp_path, "run", topology(db, double, speed="20000"), during=kill_both)
        assert_ledger_is_the_paper_book(double, db)
    assert "executor: restarted: resumed from the checkpoint at" in log
    assert "trader: restarted: resumed from the checkpoint at" in log


def restarted(daemon, name: str, old_pid: int) -> None:
    daemon.wait_for(
        lambda: (actor := daemon.actor(name)).state == "running" and actor.pid not in (None, old_pid),
        60,
        f"{name} restarted",
    )


def test_an_order_a_filter_refuses_is_reported_with_the_filter_named_and_never_sent(tmp_path, keys):
    with SpotDouble(rules(min_notional="1000000"), KEY, SECRET) as double:
        db = tmp_path / "refused.lmdb"
        log = run(tmp_path, "run", topology(db, double))
        assert double.order_requests == 0
    _, reports, _ = recorded(db)
    buys, sells = [r for r in reports if r.side == "BUY"], [r for r in reports if r.side == "SELL"]
    assert buys and all(r.status == "REFUSED" and r.reason.startswith("NOTIONAL: notional") for r in buys)
    assert all(r.status == "REFUSED" and r.reason.startswith("NOTHING_HELD") for r in sells), [
        (r.trade_id, r.status, r.reason) for r in sells if not r.reason.startswith("NOTHING_HELD")
    ][:5]
    refusals = [line for line in log.splitlines() if "executor: refused BUY" in line]
    assert refusals and "below the minimum 1000000" in refusals[0]


@pytest.mark.parametrize(
    ("secret", "environ", "last_line"),
    [
        ("another-secret", True, ("ExchangeError: http://127.0.0.1:{port}/api: the API key was refused (code -1022): "
         "Signature for this request is not valid.")),
        (SECRET, False, ("ConfigError: [execution]: no api key: set the environment variable PEPER_BINANCE_API_KEY "
         "or [execution] api_key_file")),
    ],
    ids=["bad_signature", "missing_key"],
)  # fmt: skip
def test_a_bad_signature_and_a_missing_key_each_stop_the_run_with_one_clear_line(
    tmp_path, monkeypatch, secret, environ, last_line
):
    for name, value in (("PEPER_BINANCE_API_KEY", KEY), ("PEPER_BINANCE_API_SECRET", SECRET)):
        if environ:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    with SpotDouble(rules(), KEY, secret) as double:
        daemon = start_daemon(tmp_path, topology(tmp_path / "x.lmdb", double))
        assert daemon.process.wait(timeout=60) != 0
        port = double.api_url.split(":")[2].split("/")[0]
    log = daemon.log()
    assert log.strip().splitlines()[-1].endswith(last_line.format(port=port)), log[-2000:]
    assert SECRET not in log and "another-secret" not in log


def test_halt_cancels_open_orders_and_stops_placing_while_the_feed_and_the_paper_book_go_on(tmp_path, keys):
    with SpotDouble(rules(), KEY, SECRET) as double:
        db = tmp_path / "halt.lmdb"
        answers = {}

        def halt_midway(daemon):
            daemon.wait_for(lambda: len(double.orders()) >= 10, 120, "ten orders placed")
            answers["halt"] = subprocess.run(
                [sys.executable, "-m", "supervisor", "halt", "--run-dir", str(daemon.run_dir)],
                check=False,
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            answers["placed"] = len(double.orders())

        log = run(tmp_path, "run", topology(db, double, speed="20000"), during=halt_midway)
        after = len(double.orders())
    halted = answers["halt"]
    assert halted.returncode == 0, halted.stderr
    assert halted.stdout.strip() == "halted: 0 open orders cancelled; the executor places no more orders"
    assert double.cancels == len(SYMBOLS) and after == answers["placed"]
    trades, reports, _ = recorded(db)
    refused = [r for r in reports if r.status == "REFUSED"]
    assert refused and all(r.reason == "HALTED: by supervisor halt" for r in refused)
    assert len(trades) == len(reports) > after  # the paper book went on trading; every fill has its report
    assert "executor: halted by cli: 0 open orders cancelled" in log


def test_live_mode_does_not_start_without_i_mean_live(tmp_path, keys):
    with SpotDouble(rules(), KEY, SECRET) as double:
        daemon = start_daemon(tmp_path, topology(tmp_path / "live.lmdb", double, mode="live"))
        assert daemon.process.wait(timeout=60) == 1
        assert double.order_requests == 0
    assert daemon.log().strip().splitlines()[-1] == (
        '[execution] mode = "live" places real orders with real money: add --i-mean-live to mean it'
    )


@requires_shared_data
@pytest.mark.parametrize("order_type", ["limit_ioc", "market"])
def test_live_bars_from_the_websocket_double_are_traded_on_the_exchange_double_fill_for_fill(
    tmp_path, keys, order_type
):
    table = load_source(
        str(KLINES), interval="1m", symbols=LIVE_SYMBOLS, start_ms=parse_time("2021-05-03"),
        end_ms=parse_time("2021-05-03T03:00"),
    )  # fmt: skip
    db = tmp_path / "live.lmdb"
    market = BinanceDouble(table, bar_period_s=0.03).start()  # its clock starts when the feed connects

    def last_close(symbol: str) -> Decimal | None:
        if market.current < 0:
            return None
        rows = [r for r in market.ticks[market.current][1] if table.symbols[table.symbol_index[r]] == symbol]
        return Decimal(repr(float(table.values["close"][rows[0]]))) if rows else None

    try:
        with SpotDouble(
            open_rules(LIVE_SYMBOLS),
            KEY,
            SECRET,
            balances={"USDT": "20000"},
            price_of=last_close,  # room: market fills are not the paper's
        ) as exchange:
            topology = live_topology(
                db,
                market,
                actors={"trading_ai": {}, "trader": {}, "executor": {}},
                symbols=LIVE_SYMBOLS,
                trader={"volatility_window": "30m", "vote_deadline_ms": 2000},
                execution={
                    "mode": "testnet",
                    "api_url": exchange.api_url,
                    "stream_url": exchange.stream_url,
                    "order_type": order_type,
                },
            )
            with running_daemon(tmp_path, topology) as daemon:
                last_bar = int(table.open_time[-1])
                daemon.wait_for(lambda: daemon.actor("market_feed").counters.last_bar == last_bar, 120, "the last bar")
                daemon.wait_for(lambda: daemon.actor("trader").counters.ticks >= 150, 60, "the last decisions")

                def settled() -> bool:
                    trader = daemon.actor("trader").counters
                    return daemon.actor("executor").counters.orders == trader.trades_opened + trader.trades_closed

                daemon.wait_for(settled, 60, "every fill placed")
                daemon.wait_for(lambda: daemon.actor("recorder").msgs_in > 0, 10, "the recorder")
            found = audit(db, exchange.orders())
    finally:
        market.stop()
    assert found.fills > 5 and found.equal and found.orders == found.fills, found
    orders = exchange.orders()
    assert {order["type"] for order in orders} == {"LIMIT" if order_type == "limit_ioc" else "MARKET"}
    if order_type == "market":  # filled at the market's last close, not at the paper price
        fills = [float(o["cummulativeQuoteQty"]) / float(o["executedQty"]) for o in orders]
        assert all(np.isclose(fill, table.values["close"], rtol=1e-9).any() for fill in fills)
