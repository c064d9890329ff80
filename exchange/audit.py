"""The exchange's ledger against the recording: was every paper fill placed once, and only once?

Consumes a recording (its `trade.open`, `trade.closed` and `order.report` frames) and the orders the
exchange holds (`GET /api/v3/order` answers, or the double's ledger); produces an `Audit`: client
order ids placed more than once, paper fills with no order (lost), orders no paper fill asked for
(extra), orders whose symbol, side, price (a limit order's) or quantity is not the fill's, and refusals by
reason.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from exchange.client_ids import client_order_id
from messages import topics
from messages.execution import OrderReport
from messages.trading import TradeClosed, TradeOpen
from storage.recording import last_batch
from storage.store import Store
from storage.stream import StreamReader

Trade = TradeOpen | TradeClosed
KINDS: dict[str, type[Trade]] = {topics.TRADE_OPEN: TradeOpen, topics.TRADE_CLOSED: TradeClosed}


class Audit(msgspec.Struct, frozen=True):
    fills: int  # paper fills recorded
    orders: int  # orders on the exchange
    duplicates: list[str]  # client order ids placed more than once
    lost: list[str]  # paper fills with neither an order nor a refusal
    extra: list[str]  # orders no paper fill asked for
    mismatched: list[str]  # "<client order id>: what differs" — symbol, side, price or quantity
    refused: dict[str, int]  # refusals reported, by reason

    @property
    def equal(self) -> bool:
        """The ledger is the paper book: every fill placed once, as it was filled on paper."""
        return not (self.duplicates or self.lost or self.extra or self.mismatched or self.refused)


def recorded(db: Path) -> tuple[list[Trade], list[OrderReport], int]:
    """The paper fills (opens and closes), the executor's order reports and the run id of a recording."""
    trades: list[Trade] = []
    reports: list[OrderReport] = []
    with Store(db, readonly=True) as store:
        batch = last_batch(store)
        run_id = batch.run_id if batch is not None else 0
        for topic, _, _, _, payload in StreamReader(store).records():
            if topic in KINDS:
                trades.append(msgspec.msgpack.decode(payload, type=KINDS[topic]))
            elif topic == topics.ORDER_REPORT:
                reports.append(msgspec.msgpack.decode(payload, type=OrderReport))
    return trades, reports, run_id


def audit(db: Path, orders: list[dict[str, Any]], step: float = 1e-8, tick: float = 1e-8) -> Audit:
    """`step`, `tick`: the symbols' lot step and price tick — an order may differ from its paper fill by
    the rounding to them: a partial sale by two steps, the sale that closes a position by a step for
    every fill of it (it sells what is held, with what each earlier fill's rounding left)."""
    trades, reports, run_id = recorded(db)
    counts = Counter(order["clientOrderId"] for order in orders)
    placed = {order["clientOrderId"]: order for order in orders}
    refusals = {r.client_order_id: r.reason for r in reports if r.status == "REFUSED"}
    wanted = {client_order_id(run_id, trade): trade for trade in trades}
    mismatched = []
    since_flat: dict[str, int] = {}  # fills of the symbol's position so far, each rounded by up to a step
    for cid, trade in wanted.items():
        since_flat[trade.symbol] = fills = since_flat.get(trade.symbol, 0) + 1
        flat = isinstance(trade, TradeClosed) and trade.remaining == 0
        if flat:
            since_flat[trade.symbol] = 0  # the closing sale sells all held: every earlier fill's rounding with it
        order = placed.get(cid)
        if order is None:
            continue
        opening = isinstance(trade, TradeOpen)
        price = trade.entry_price if isinstance(trade, TradeOpen) else trade.exit_price
        quantity = float(order["executedQty"])
        if order["symbol"] != trade.symbol or order["side"] != ("BUY" if opening else "SELL"):
            mismatched.append(
                f"{cid}: {order['side']} {order['symbol']} for a {type(trade).__name__} of {trade.symbol}"
            )
        elif order["type"] == "LIMIT" and abs(float(order["price"]) - price) > tick * 0.5 + 1e-12 * price:
            mismatched.append(f"{cid}: price {order['price']}, paper {price!r}")
        elif abs(quantity - trade.quantity) > step * (fills + 1 if flat else 2) + 1e-12 * trade.quantity:
            mismatched.append(f"{cid}: quantity {order['executedQty']}, paper {trade.quantity!r}")
    return Audit(
        fills=len(trades),
        orders=len(orders),
        duplicates=sorted(cid for cid, n in counts.items() if n > 1),
        lost=sorted(cid for cid in wanted if cid not in placed and cid not in refusals),
        extra=sorted(cid for cid in placed if cid not in wanted),
        mismatched=sorted(mismatched),
        refused=dict(Counter(reason.split(":")[0] for reason in refusals.values())),
    )
