"""The exchange layer's pure parts: symbol filters, client order ids, signatures, keys, the double's ledger."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from config.schema import ExecutionConfig
from exchange.client_ids import ALLOWED, client_order_id
from exchange.filters import SymbolRules
from exchange.keys import ApiKeys, load_keys
from exchange.ledger import Ledger, Refusal
from exchange.signing import sign, verified
from messages.errors import ConfigError
from messages.trading import TradeClosed, TradeOpen

BTC = SymbolRules(
    "BTCUSDT", "BTC", "USDT", step_size="0.00001000", min_qty="0.00001000", max_qty="9000.00000000",
    tick_size="0.01000000", min_price="0.01000000", max_price="1000000.00000000", min_notional="5.00000000",
)  # fmt: skip


def test_quantities_round_down_to_the_lot_step_and_prices_to_the_nearest_tick():
    assert BTC.quantity(0.0123456789) == Decimal("0.01234")
    assert BTC.price(29345.12567) == Decimal("29345.13")
    assert SymbolRules.from_exchange_info(BTC.exchange_info()) == BTC


@pytest.mark.parametrize(
    ("quantity", "price", "filter_name"),
    [("0.000001", "29000", "LOT_SIZE"), ("9001", "29000", "LOT_SIZE"), ("0.01", "29000.001", "PRICE_FILTER"),
     ("0.0001", "29000", "NOTIONAL"), ("0.01", "0", "PRICE_FILTER")],
)  # fmt: skip
def test_an_order_breaking_a_filter_is_refused_with_the_filter_named(quantity, price, filter_name):
    refusal = BTC.refusal(Decimal(quantity), Decimal(price))
    assert refusal is not None and refusal.startswith(f"{filter_name}: ")
    assert BTC.refusal(Decimal("0.01"), Decimal(29000)) is None


def test_a_trade_of_a_run_always_gives_the_same_client_order_id_and_binance_accepts_every_one():
    opened = TradeOpen(
        trade_id="BTCUSDT-1617321600000", symbol="BTCUSDT", side="LONG", entry_time=1617321600000,
        entry_price=58000.0, quantity=0.01, votes=[],
    )  # fmt: skip
    closes = [
        TradeClosed(
            trade_id="BTCUSDT-1617321600000-1617325200000",
            symbol="BTCUSDT",
            side="LONG",
            entry_time=1617321600000,
            entry_price=58000.0,
            exit_time=exit_time,
            exit_price=58100.0,
            quantity=0.005,
            fees=0.6,
            pnl=0.4,
            ret=0.001,
            exit_reason="target",
            votes=[],
        )
        for exit_time in (1617325200000, 1617328800000)
    ]
    ids = [client_order_id(7, trade) for trade in (opened, *closes)]
    assert ids[0] == client_order_id(7, opened) != client_order_id(8, opened)  # another run: another order
    assert len(set(ids)) == 3 and all(ALLOWED.match(i) for i in ids)  # two closes of one trade: two orders


def test_a_signature_verifies_only_with_its_secret_and_its_exact_parameters():
    query, body = "symbol=BTCUSDT&side=BUY", "quantity=0.01&timestamp=1"
    signature = sign("s3cret", query + body)
    assert verified("s3cret", query, f"{body}&signature={signature}")
    assert not verified("other", query, f"{body}&signature={signature}")
    assert not verified("s3cret", query, f"quantity=0.02&timestamp=1&signature={signature}")
    assert not verified("s3cret", query, body)  # unsigned


def test_keys_come_from_the_environment_or_an_owner_only_file_and_never_show_in_a_repr(tmp_path):
    config = ExecutionConfig(mode="testnet")
    keys = load_keys(config, {"PEPER_BINANCE_API_KEY": "k1", "PEPER_BINANCE_API_SECRET": "s1"})
    assert keys == ApiKeys("k1", "s1") and "k1" not in repr(keys) and "s1" not in repr(keys)
    with pytest.raises(ConfigError, match="no api key: set the environment variable PEPER_BINANCE_API_KEY"):
        load_keys(config, {})
    key_file, secret_file = tmp_path / "key", tmp_path / "secret"
    key_file.write_text("k2\n"), secret_file.write_text("s2\n")
    os.chmod(key_file, 0o600), os.chmod(secret_file, 0o644)
    from_files = ExecutionConfig(mode="testnet", api_key_file=str(key_file), api_secret_file=str(secret_file))
    with pytest.raises(ConfigError, match=r"api_secret_file .*secret: readable by others \(mode 644\); chmod 600"):
        load_keys(from_files, {})
    os.chmod(secret_file, 0o600)
    assert load_keys(from_files, {}) == ApiKeys("k2", "s2")


def test_the_ledger_refuses_what_binance_refuses_and_moves_balances_by_each_fill():
    ledger = Ledger({"BTCUSDT": BTC}, {"USDT": Decimal(1000)})
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01000", "price": "29000.00"}
    answer = ledger.place({**order, "newClientOrderId": "pp-1"}, now_ms=1)
    assert answer["status"] == "FILLED" and answer["fills"][0]["commission"] == "0.29000000"
    assert ledger.balances == {"USDT": Decimal("709.71000000"), "BTC": Decimal("0.01000")}
    for changed, code in (({"quantity": "0.0001"}, -1013), ({"quantity": "1"}, -2010), ({"symbol": "XUSDT"}, -1121)):
        with pytest.raises(Refusal) as refused:
            ledger.place({**order, **changed}, now_ms=2)
        assert refused.value.code == code
    assert ledger.order({"symbol": "BTCUSDT", "origClientOrderId": "pp-1"})["executedQty"] == "0.01000000"
    with pytest.raises(Refusal, match="Order does not exist"):
        ledger.order({"symbol": "BTCUSDT", "origClientOrderId": "pp-2"})
