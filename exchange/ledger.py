"""The double's book of record: balances, every order it accepted and every fill, as Binance answers them.

Consumes order requests already authenticated (symbol, side, type, quantity, price, client order
id); produces Binance's answers — the FULL order response, an order looked up, the account's
balances, an order's trades — or a `Refusal` with Binance's HTTP status, error code and message.
A LIMIT order fills at once and in full at its limit price (the double's book sits at the price
asked: the same fills as the paper broker's); a MARKET order fills at the market's price (`price_of`,
e.g. the market-data double's last close) or else the symbol's last fill. The commission (`fee_rate` of the notional) is charged in the
quote asset, as the paper broker charges it. Not thread-safe: the server holds a lock around it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from exchange.filters import SymbolRules


@dataclass
class Refusal(Exception):
    status: int  # HTTP status
    code: int  # Binance's error code
    message: str


@dataclass
class Ledger:
    rules: dict[str, SymbolRules]
    balances: dict[str, Decimal]
    fee_rate: Decimal = Decimal("0.001")
    orders: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    marks: dict[str, Decimal] = field(default_factory=dict)
    price_of: Callable[[str], Decimal | None] | None = None  # the market's price now, for MARKET orders

    def place(self, params: dict[str, str], now_ms: int, share: Decimal = Decimal(1)) -> dict[str, Any]:
        """Accept and fill one order (`POST /api/v3/order`), or raise `Refusal`; `share` < 1 fills only
        that part of it (rounded down to the lot step) and the rest expires, as an IOC order's does."""
        symbol = params.get("symbol", "")
        rules = self.rules.get(symbol)
        if rules is None:
            raise Refusal(400, -1121, "Invalid symbol.")
        side, kind = params.get("side"), params.get("type")
        if side not in ("BUY", "SELL"):
            raise Refusal(400, -1100, "Illegal characters found in parameter 'side'; legal range is BUY, SELL.")
        if kind not in ("LIMIT", "MARKET"):
            raise Refusal(400, -1116, "Invalid orderType.")
        try:
            quantity = Decimal(params["quantity"])
            price = Decimal(params["price"]) if kind == "LIMIT" else self._market_price(symbol)
        except (KeyError, ArithmeticError):
            raise Refusal(
                400,
                -1102,
                "Mandatory parameter 'quantity' (or 'price' for LIMIT) was not sent, was empty/null, or malformed.",
            )
        if kind == "MARKET" and not price:
            raise Refusal(400, -2010, f"No mark price for {symbol} in the double yet.")
        broken = rules.refusal(quantity, price)
        if broken is not None:
            raise Refusal(400, -1013, f"Filter failure: {broken.split(':')[0]}")
        client_id = params.get("newClientOrderId") or f"double-{len(self.orders) + 1}"
        asked, quantity = quantity, rules.quantity(float(quantity * share)) if share < 1 else quantity
        notional = quantity * price
        commission = (notional * self.fee_rate).quantize(Decimal("0.00000001"))
        base, quote = rules.base_asset, rules.quote_asset
        if side == "BUY" and self.balances.get(quote, Decimal(0)) < notional + commission:
            raise Refusal(400, -2010, "Account has insufficient balance for requested action.")
        if side == "SELL" and self.balances.get(base, Decimal(0)) < quantity:
            raise Refusal(400, -2010, "Account has insufficient balance for requested action.")
        sign = 1 if side == "BUY" else -1
        self.balances[base] = self.balances.get(base, Decimal(0)) + sign * quantity
        self.balances[quote] = self.balances.get(quote, Decimal(0)) - sign * notional - commission
        self.marks[symbol] = price
        order_id = len(self.orders) + 1
        order = {
            "symbol": symbol, "orderId": order_id, "orderListId": -1, "clientOrderId": client_id,
            "price": _text(price if kind == "LIMIT" else Decimal(0)), "origQty": _text(asked),
            "executedQty": _text(quantity), "cummulativeQuoteQty": _text(notional),
            "status": "FILLED" if quantity == asked else "EXPIRED",
            "timeInForce": params.get("timeInForce", "GTC"), "type": kind, "side": side,
            "time": now_ms, "updateTime": now_ms, "workingTime": now_ms,
        }  # fmt: skip
        trade = {
            "symbol": symbol, "id": len(self.trades) + 1, "orderId": order_id, "orderListId": -1,
            "price": _text(price), "qty": _text(quantity), "quoteQty": _text(notional),
            "commission": _text(commission), "commissionAsset": quote, "time": now_ms,
            "isBuyer": side == "BUY", "isMaker": False, "isBestMatch": True,
        }  # fmt: skip
        self.orders.append(order)
        self.trades.append(trade)
        fill = {key: trade[key] for key in ("price", "qty", "commission", "commissionAsset")}
        return {**_answer(order), "transactTime": now_ms, "fills": [{**fill, "tradeId": trade["id"]}]}

    def _market_price(self, symbol: str) -> Decimal:
        found = self.price_of(symbol) if self.price_of is not None else None
        return found if found is not None else self.marks.get(symbol, Decimal(0))

    def order(self, params: dict[str, str]) -> dict[str, Any]:
        """`GET /api/v3/order` by `origClientOrderId` or `orderId`: the newest match, or -2013."""
        wanted_client, wanted_id = params.get("origClientOrderId"), params.get("orderId")
        for order in reversed(self.orders):
            if order["symbol"] != params.get("symbol"):
                continue
            if order["clientOrderId"] == wanted_client or str(order["orderId"]) == wanted_id:
                return _answer(order)
        raise Refusal(400, -2013, "Order does not exist.")

    def my_trades(self, params: dict[str, str]) -> list[dict[str, Any]]:
        order_id = params.get("orderId")
        return [
            t
            for t in self.trades
            if t["symbol"] == params.get("symbol") and (order_id is None or str(t["orderId"]) == order_id)
        ]

    def account(self, now_ms: int) -> dict[str, Any]:
        return {
            "canTrade": True, "canWithdraw": False, "canDeposit": False, "accountType": "SPOT", "updateTime": now_ms,
            "balances": [{"asset": a, "free": _text(v), "locked": "0"} for a, v in sorted(self.balances.items())],
            "permissions": ["SPOT"],
        }  # fmt: skip


def _answer(order: dict[str, Any]) -> dict[str, Any]:
    return {**order, "isWorking": False, "origQuoteOrderQty": "0", "selfTradePreventionMode": "EXPIRE_MAKER"}


def _text(value: Decimal) -> str:
    return f"{value:.8f}"
