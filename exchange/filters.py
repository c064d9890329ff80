"""A symbol's trading rules, as Binance's `exchangeInfo` states them, and the check of one order against them.

Consumes a symbol entry of `GET /api/v3/exchangeInfo` (`{"symbol": "BTCUSDT", "baseAsset": "BTC",
"quoteAsset": "USDT", "filters": [{"filterType": "LOT_SIZE", "stepSize": "0.00001000", ...}, ...]}`);
produces `SymbolRules`: the quantity rounded down to the lot step, the price to the tick, and
`refusal(quantity, price)` — None, or the one filter the order breaks, named as Binance names it
(LOT_SIZE, PRICE_FILTER, NOTIONAL or MIN_NOTIONAL). The executor checks before it sends; the double
enforces the same rules, so both refuse the same orders.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any

import msgspec


class SymbolRules(msgspec.Struct, frozen=True):
    symbol: str
    base_asset: str
    quote_asset: str
    step_size: str = "0"  # LOT_SIZE; "0": any quantity
    min_qty: str = "0"
    max_qty: str = "0"  # "0": no upper bound
    tick_size: str = "0"  # PRICE_FILTER; "0": any price
    min_price: str = "0"
    max_price: str = "0"
    min_notional: str = "0"  # NOTIONAL (or the older MIN_NOTIONAL), in the quote asset
    notional_filter: str = "NOTIONAL"

    @classmethod
    def from_exchange_info(cls, entry: dict[str, Any]) -> SymbolRules:
        fields: dict[str, str] = {}
        for rule in entry.get("filters", []):
            kind = rule.get("filterType")
            if kind == "LOT_SIZE":
                fields.update(step_size=rule["stepSize"], min_qty=rule["minQty"], max_qty=rule["maxQty"])
            elif kind == "PRICE_FILTER":
                fields.update(tick_size=rule["tickSize"], min_price=rule["minPrice"], max_price=rule["maxPrice"])
            elif kind in ("NOTIONAL", "MIN_NOTIONAL"):
                fields.update(min_notional=rule["minNotional"], notional_filter=kind)
        return cls(entry["symbol"], entry["baseAsset"], entry["quoteAsset"], **fields)

    def exchange_info(self) -> dict[str, Any]:
        """The symbol's entry as `exchangeInfo` gives it (what the double serves)."""
        return {
            "symbol": self.symbol,
            "status": "TRADING",
            "baseAsset": self.base_asset,
            "quoteAsset": self.quote_asset,
            "orderTypes": ["LIMIT", "MARKET"],
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": self.min_price, "maxPrice": self.max_price,
                 "tickSize": self.tick_size},
                {"filterType": "LOT_SIZE", "minQty": self.min_qty, "maxQty": self.max_qty, "stepSize": self.step_size},
                {"filterType": self.notional_filter, "minNotional": self.min_notional},
            ],
        }  # fmt: skip

    def quantity(self, quantity: float) -> Decimal:
        """`quantity` rounded down to the lot step (never more than was asked for)."""
        return _to_step(Decimal(repr(quantity)), Decimal(self.step_size), ROUND_DOWN)

    def price(self, price: float) -> Decimal:
        """`price` rounded to the nearest tick."""
        return _to_step(Decimal(repr(price)), Decimal(self.tick_size), ROUND_HALF_EVEN)

    def refusal(self, quantity: Decimal, price: Decimal) -> str | None:
        """None if the order passes every filter, else `FILTER: why` for the first one it breaks."""
        step, low, high = Decimal(self.step_size), Decimal(self.min_qty), Decimal(self.max_qty)
        if quantity <= 0 or quantity < low or (high and quantity > high) or (step and quantity % step):
            return f"LOT_SIZE: quantity {quantity} outside [{low}, {high or 'any'}] in steps of {step}"
        tick, low, high = Decimal(self.tick_size), Decimal(self.min_price), Decimal(self.max_price)
        if price <= 0 or price < low or (high and price > high) or (tick and price % tick):
            return f"PRICE_FILTER: price {price} outside [{low}, {high or 'any'}] in ticks of {tick}"
        if quantity * price < Decimal(self.min_notional):
            return (
                f"{self.notional_filter}: notional {quantity * price:.8f} {self.quote_asset} below the minimum "
                f"{self.min_notional}"
            )
        return None


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if not step:
        return value
    return (value / step).quantize(Decimal(1), rounding=rounding) * step
