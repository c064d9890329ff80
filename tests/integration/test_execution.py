"""Real orders: the trader's trades placed by the executor on a Binance Spot double on 127.0.0.1 —
the same trades as the paper broker, nothing placed twice or lost through faults and kills, and
the keys never written anywhere."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec
import pytest

from exchange.client_ids import client_order_id
from exchange.filters import SymbolRules
from exchange.spot_double import SpotDouble
from messages import topics
from messages.execution import OrderReport
from messages.trading import TradeClosed, TradeOpen
from storage.store import Store
from storage.stream import StreamReader
from supervisor.harness import running_daemon
from tests.helpers import topologies

SYMBOLS = ["AAAUSDT", "BBBUSDT"]
KEY, SECRET = "peper-test-key-5f2c9a", "peper-test-secret-8d41e7b0c3"
MODELS = {"trading_ai": {}, "lava_ai": {}}


def rules(min_notional: str = "0") -> list[SymbolRules]:
    return [
        SymbolRules(s, s[:-4], "USDT", step_size="0.00000001", tick_size="0.00000001", min_notional=min_notional)
        for s in SYMBOLS
    ]


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
        execution={"mode": "testnet", "api_url": double.api_url, "request_timeout_s": 1.0, **execution},
    )


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("PEPER_BINANCE_API_KEY", KEY)
    monkeypatch.setenv("PEPER_BINANCE_API_SECRET", SECRET)


def recorded(db: Path) -> tuple[list[TradeOpen | TradeClosed], list[OrderReport]]:
    """The paper trades (opens and closes) and the executor's order reports of a recording."""
    trades: list[TradeOpen | TradeClosed] = []
    reports = []
    kinds = {topics.TRADE_OPEN: TradeOpen, topics.TRADE_CLOSED: TradeClosed}
    with Store(db, readonly=True) as store:
        for topic, _, _, _, payload in StreamReader(store).records():
            if topic in kinds:
                trades.append(msgspec.msgpack.decode(payload, type=kinds[topic]))
            elif topic == topics.ORDER_REPORT:
                reports.append(msgspec.msgpack.decode(payload, type=OrderReport))
    return trades, reports


def run(tmp_path: Path, name: str, config, during=None) -> str:
    workdir = tmp_path / name
    workdir.mkdir()
    with running_daemon(workdir, config) as daemon:
        if during is not None:
            during(daemon)
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 300, "the replay finished")
        return daemon.log()


def assert_ledger_is_the_paper_book(double: SpotDouble, db: Path) -> None:
    trades, reports = recorded(db)
    orders = double.orders()
    ids = [order["clientOrderId"] for order in orders]
    assert len(trades) > 10, "too few trades to compare"
    assert len(ids) == len(set(ids)), f"placed twice: {[i for i, n in Counter(ids).items() if n > 1]}"
    assert len(orders) == len(trades), f"{len(orders)} orders on the exchange for {len(trades)} paper fills"
    by_id = {report.client_order_id: report for report in reports}
    assert set(by_id) == set(ids) and all(report.status == "FILLED" for report in reports)
    placed = {order["clientOrderId"]: order for order in orders}
    for trade in trades:
        order, opening = placed[client_order_id(trade)], isinstance(trade, TradeOpen)
        assert order["symbol"] == trade.symbol and order["side"] == ("BUY" if opening else "SELL")
        price = trade.entry_price if isinstance(trade, TradeOpen) else trade.exit_price
        assert float(order["price"]) == pytest.approx(price, rel=1e-8)
        assert float(order["executedQty"]) == pytest.approx(trade.quantity, rel=1e-6)


def test_a_replay_through_the_executor_trades_on_the_exchange_exactly_what_the_paper_broker_traded(tmp_path, keys):
    with SpotDouble(rules(), KEY, SECRET) as double:
        db = tmp_path / "exec.lmdb"
        log = run(tmp_path, "run", topology(db, double))
        assert_ledger_is_the_paper_book(double, db)
    assert KEY not in log and SECRET not in log
    raw = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    assert KEY.encode() not in raw and SECRET.encode() not in raw, "a key reached a file"
