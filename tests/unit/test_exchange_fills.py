"""The exchange's fills taken into the paper book: a partial fill, a refusal, Binance's commission
in either asset and a sale that sold less — after each, the book holds what the exchange holds."""

from __future__ import annotations

import msgspec
import pytest

from messages.execution import OrderReport
from tests.unit.test_trading import RULES, SYMBOLS, one_symbol
from trading.exchange_fills import difference, paper_fill
from trading.portfolio import Decision, PortfolioBook


def report(trade, side: str, executed: float, quote: float, commission: float = 0.0, asset: str = "USDT"):
    return OrderReport(
        client_order_id="pp-x",
        trade_id=trade.trade_id,
        symbol=f"{trade.symbol}USDT",
        side=side,  # type: ignore[arg-type]
        quantity=trade.quantity,
        price=0.0,
        status="FILLED" if executed == trade.quantity else "EXPIRED",
        executed_qty=executed,
        quote_qty=quote,
        commission=commission,
        commission_asset=asset,
        base_asset=trade.symbol,
    )


def opened_book():
    """A book that bought 5 AAA at 100 (half of 1000, fee 0.1 %); a close decided at tick 3 fills at 121."""
    book = PortfolioBook(RULES, SYMBOLS)
    prices = one_symbol([100.0, 100.0, 110.0, 121.0, 121.0, 110.0, 110.0, 110.0])
    first = book.run(prices, 0, 2, [Decision(0, {0: 0.5})])
    return book, prices, first.opened[0]


def take(book, trade, found, kind="open"):
    paper = paper_fill(trade, RULES.fee_rate)
    moved = difference(paper, found)
    book.take_exchange_fill("AAA", moved.units, moved.cash, paper.lot_id, 0, paper.price)
    return moved


def test_a_half_filled_buy_leaves_the_book_holding_half_and_its_close_sells_that_half():
    book, prices, opened = opened_book()
    cash_before = book.state.cash
    take(book, opened, report(opened, "BUY", 2.5, 250.0, commission=0.25))
    assert book.state.holdings["AAA"].quantity == pytest.approx(2.5)
    assert book.state.cash == pytest.approx(cash_before + 250.0 + 0.5 - 0.25)  # 2.5 units and half the fee back
    later = book.run(prices, 2, 6, [Decision(3, {0: 0.0})])
    [closed] = later.closed
    assert closed.trade_id.startswith(opened.trade_id) and closed.quantity == pytest.approx(2.5)
    assert book.state.cash == pytest.approx(1000 - 250.0 - 0.25 + 2.5 * 121 * (1 - RULES.fee_rate))


def test_a_refused_buy_is_undone_and_a_commission_in_the_base_asset_comes_out_of_the_units():
    book, _, opened = opened_book()
    take(book, opened, report(opened, "BUY", 0.0, 0.0))
    assert "AAA" not in book.state.holdings and book.state.cash == pytest.approx(1000.0)
    book, _, opened = opened_book()
    take(book, opened, report(opened, "BUY", 5.0, 500.0, commission=0.005, asset="AAA"))
    assert book.state.holdings["AAA"].quantity == pytest.approx(4.995)
    assert book.state.cash == pytest.approx(1000.0 - 500.0)  # no fee in cash: Binance took it in AAA


def test_a_commission_in_a_third_asset_is_not_converted_but_said():
    book, _, opened = opened_book()
    moved = take(book, opened, report(opened, "BUY", 5.0, 500.0, commission=0.001, asset="BNB"))
    assert moved.foreign_commission and moved.units == pytest.approx(0.0)
    assert book.state.cash == pytest.approx(1000.0 - 500.0)


def test_a_sale_that_sold_less_than_the_paper_one_leaves_the_rest_held_as_a_lot_of_its_own():
    book, prices, opened = opened_book()
    take(book, opened, report(opened, "BUY", 5.0, 500.0, commission=0.5))
    [closed] = book.run(prices, 2, 5, [Decision(3, {0: 0.0})]).closed
    assert "AAA" not in book.state.holdings
    take(book, closed, report(closed, "SELL", 3.0, 363.0, commission=0.363))
    held = book.state.holdings["AAA"]
    assert held.quantity == pytest.approx(2.0) and held.lots[0].trade_id == f"{opened.trade_id}-exchange"
    assert book.state.cash == pytest.approx(1000 - 500.5 + 363 - 0.363)
    [again] = book.run(prices, 5, 8, [Decision(5, {0: 0.0})]).closed  # the next decision sells the rest
    assert again.quantity == pytest.approx(2.0)


def test_a_sales_rounding_rest_is_dropped_once_a_later_sale_sold_all_but_an_unsold_rest_is_kept():
    book, prices, _ = opened_book()
    [closed] = book.run(prices, 2, 5, [Decision(3, {0: 0.25})]).closed  # a part sold: the rest still held
    paper, sold = paper_fill(closed, RULES.fee_rate), closed.quantity
    assert closed.remaining > 0 and not paper.closes_all
    rounded = msgspec.structs.replace(report(closed, "SELL", sold - 1e-8, (sold - 1e-8) * 121), status="FILLED")
    assert difference(paper, rounded, sold_all_since=True).units == 0.0  # a later sale of all took the rest
    assert difference(paper, rounded).units == pytest.approx(1e-8)
    expired = msgspec.structs.replace(report(closed, "SELL", 1.0, 121.0), status="EXPIRED")
    assert difference(paper, expired).units == pytest.approx(sold - 1.0)
