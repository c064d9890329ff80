"""Orders placed on the exchange (topic `order.report`): one `OrderReport` per trade the executor handled.

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


class OrderReport(Message, frozen=True):
    client_order_id: str
    trade_id: str
    symbol: str
    side: OrderSide
    quantity: float  # asked, base asset
    price: float  # asked (limit), quote per base
    status: str
    executed_qty: float = 0.0  # base asset
    quote_qty: float = 0.0  # quote asset
    commission: float = 0.0
    commission_asset: str = ""
    exchange_order_id: int = 0  # 0: never reached the exchange's book
    transact_time: int = 0  # ms UTC, the exchange's
    reason: str = ""  # why it was refused
