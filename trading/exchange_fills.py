"""The exchange's fill of a trade beside the paper broker's: what the paper book changes to hold what the exchange holds.

Consumes a trade the trader published (`TradeOpen` / `TradeClosed`, the paper broker's fill) and the
executor's `OrderReport` of it; produces `FillDifference`: the units and the cash (quote) the book
moves by (`PortfolioBook.take_exchange_fill`) so that, after it, the book holds what the exchange's
fill left — a partial IOC fill, a market order's own price, the lot step's rounding and a refusal
(nothing filled) included; a rest a sale left unsold (expired, refused) is the book's again. Three
exceptions, each where the exchange holds none of the coin afterwards: a sale refused because it
held none (`NOTHING_HELD`: the book keeps neither the coins nor the proceeds), a sale of all it
held filled in full, and any fill a later sale of all followed (the executor sold what the fill
left with it: the reports of a replay's chunk come after all its fills, live ones may come after
the next decision). A units difference below `DUST` of the
fill is float rounding. Binance's commission counts where it charged it: in the quote asset from
the cash, in the base asset from the units bought; in a third asset (BNB) it is not converted
(`FillDifference.foreign_commission`: the caller counts it).
"""

from __future__ import annotations

import msgspec

from messages.execution import NOTHING_HELD, OrderReport
from messages.trading import TradeClosed, TradeOpen

DUST = 1e-9  # a units difference this small against the fill is the float rounding of the same quantity


class PaperFill(msgspec.Struct, frozen=True):
    symbol: str
    lot_id: str  # the lot the trade opened or closed
    units: float  # signed: + bought, - sold
    price: float  # quote per unit
    fee: float  # quote
    closes_all: bool = False  # a close that left the book flat (the executor then sells all it holds)
    sales_of_all_before: int = 0  # the symbol's sales of all (`closes_all`) the trader published before it


class FillDifference(msgspec.Struct, frozen=True):
    units: float  # what the exchange's fill added beyond the paper fill's (signed)
    cash: float  # quote, the same
    foreign_commission: bool = False


def paper_fill(trade: TradeOpen | TradeClosed, fee_rate: float, sales_of_all_before: int = 0) -> PaperFill:
    """The paper broker's fill behind a trade: an open buys (a short's sells), a close sells (buys back)."""
    grows = 1 if trade.side == "LONG" else -1
    if isinstance(trade, TradeOpen):
        units, price = grows * trade.quantity, trade.entry_price
    else:
        units, price = -grows * trade.quantity, trade.exit_price
    lot_id = trade.trade_id if isinstance(trade, TradeOpen) else trade.trade_id.rsplit("-", 1)[0]
    closes_all = isinstance(trade, TradeClosed) and trade.remaining == 0
    fee = abs(units) * price * fee_rate
    return PaperFill(trade.symbol, lot_id, units, price, fee, closes_all, sales_of_all_before)


def difference(paper: PaperFill, report: OrderReport, sold_all_since: bool = False) -> FillDifference:
    """`sold_all_since`: a later trade of the symbol sold all of it (its units difference is then gone with it)."""
    paper_cash = -paper.units * paper.price - paper.fee
    if report.reason.startswith(NOTHING_HELD):
        return FillDifference(0.0, -paper_cash)
    sign = 1 if report.side == "BUY" else -1
    units, cash = sign * report.executed_qty, -sign * report.quote_qty
    foreign = False
    if report.commission:
        if report.commission_asset == report.base_asset:
            units -= report.commission
        elif report.commission_asset == report.symbol.removeprefix(report.base_asset):
            cash -= report.commission
        else:
            foreign = True
    extra = units - paper.units
    filled = report.status == "FILLED"
    if (
        abs(extra) <= DUST * max(abs(paper.units), report.executed_qty)
        or (paper.closes_all and filled)
        or sold_all_since
    ):
        extra = 0.0  # rounding, or a sale of all the exchange held, now or since: it holds none, as the book
    return FillDifference(extra, cash - paper_cash, foreign)
