"""Orders placed on the exchange (topic `order.report`): one `OrderReport` per trade the executor handled;
the kill switch (`exec.command`: `ExecutionCommand`) and the executor's answer (`exec.state`: `ExecutionState`).

Row semantics: the trader's trade `trade_id` (opened, or closed at `exit_time`) became the order
`client_order_id` on the exchange; `status` is Binance's (FILLED, PARTIALLY_FILLED, EXPIRED, ...) or
REFUSED when the executor or the exchange refused it — `reason` then names the limit or the
filter. Quantities are in the base asset, prices and notionals in the quote asset, and the
commission in the asset Binance charged it in. `ts_event` is the trade's bar time (ms UTC).
"""

from __future__ import annotations

from typing import Literal

from messages.base import Message

OrderSide = Literal["BUY", "SELL"]
NOTHING_HELD = "NOTHING_HELD"  # a refusal's reason: a sale of a coin the exchange holds none of
HALTED = "HALTED"  # a refusal's reason: after `supervisor halt`


class OrderReport(Message, frozen=True):
    client_order_id: str
    trade_id: str
    symbol: str
    side: OrderSide
    quantity: float  # asked, base asset
    price: float  # asked (a limit order's), quote per base; 0 for a market order (its fill: quote_qty / executed_qty)
    status: str
    executed_qty: float = 0.0  # base asset
    quote_qty: float = 0.0  # quote asset
    commission: float = 0.0
    commission_asset: str = ""
    base_asset: str = ""  # the symbol's base asset (a commission in it came out of the quantity bought)
    exchange_order_id: int = 0  # 0: never reached the exchange's book
    transact_time: int = 0  # ms UTC, the exchange's
    reason: str = ""  # why it was refused


class ExecutionCommand(Message, frozen=True):
    """`supervisor halt`: cancel every open order and place no more (the feed and the paper book go on)."""

    request_id: str
    halt: bool = True


class ExecutionState(Message, frozen=True):
    request_id: str  # the command answered ("" when not answering one)
    halted: bool
    cancelled_orders: int = 0  # open orders cancelled on the exchange by this halt
