"""The exchange as the executor sees it: python-binance's signed REST client, with Binance's failure modes handled.

Consumes `[execution]` (the mode, the URL, timeouts, attempts) and `ApiKeys`; produces each
symbol's `SymbolRules` (`exchangeInfo`), the account's free balances, and `place(order)`: Binance's
answer for an order placed exactly once, whatever happened on the way —
- 429 (rate limit): wait `Retry-After` seconds (up to a minute), try again; 418 (the IP banned) or a
  longer wait: `ExchangeError`;
- a timeout, a dropped connection or a 5xx: Binance says the order's fate is then unknown, so the
  order is looked up by its client order id (`GET /api/v3/order?origClientOrderId=`) and sent again
  only if the exchange still does not have it half a second later (client order ids are unique only among open orders, so a
  blind resend of a filled one would be a second order);
- -1021 (the clock is outside `recvWindow`): take the server's time offset, try again;
- the key or the signature refused (-2014, -2015, -1022): `ExchangeError`, no order can pass;
- any other refusal: `OrderRefused` with Binance's code and message (filters, balance).
Blocking (requests); the executor calls it from a worker thread. Every retry is counted by cause.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
import requests

with warnings.catch_warnings():  # python-binance imports names websockets deprecated (its legacy API): not ours
    warnings.simplefilter("ignore", DeprecationWarning)
    from binance.client import Client
    from binance.exceptions import BinanceAPIException, BinanceRequestException

from config.schema import ExecutionConfig
from exchange.filters import SymbolRules
from exchange.keys import ApiKeys
from messages.errors import ExchangeError, OrderRefused

ORDER_NOT_FOUND = -2013
LOOKUP_SETTLE_S = 0.5
MAX_RETRY_AFTER_S = 60.0  # a longer wait is a ban in all but name: stop, do not sleep through it
NO_OPEN_ORDERS = -2011  # "Unknown order sent.": a cancel found nothing to cancel
CLOCK_OUTSIDE_WINDOW = -1021
KEYS_REFUSED = (-2014, -2015, -1022)  # the key unknown or malformed, the signature wrong: no order can pass
UNKNOWN = (requests.Timeout, requests.ConnectionError, BinanceRequestException)  # no answer, or not JSON


class OrderRequest(msgspec.Struct, frozen=True):
    client_order_id: str
    symbol: str
    side: str  # BUY or SELL
    quantity: Decimal
    price: Decimal  # the paper broker's: the limit of a LIMIT IOC order, a MARKET order's estimate


class Venue:
    def __init__(self, execution: ExecutionConfig, keys: ApiKeys, count_retry: Callable[[str], None]):
        self.execution = execution
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        self.client = Client(
            keys.key,
            keys.secret,
            testnet=execution.mode == "testnet",
            ping=False,
            requests_params={"timeout": execution.request_timeout_s},
        )
        # python-binance makes an event loop for its websocket API when the thread has none: close it with us
        self._own_loop = self.client.loop if self.client.loop is not running else None
        self.client.REQUEST_RECVWINDOW = execution.recv_window_ms
        if execution.api_url:
            self.client.API_URL = self.client.API_TESTNET_URL = execution.api_url.rstrip("/")
        self.count_retry = count_retry

    def rules(self, symbols: list[str]) -> dict[str, SymbolRules]:
        info = self._call(self.client.get_exchange_info)
        found = {entry["symbol"]: SymbolRules.from_exchange_info(entry) for entry in info["symbols"]}
        missing = [symbol for symbol in symbols if symbol not in found]
        if missing:
            raise ExchangeError(f"{self.where()}: exchangeInfo lists no symbol {', '.join(missing)}")
        return {symbol: found[symbol] for symbol in symbols}

    def balances(self) -> tuple[dict[str, Decimal], int]:
        """(free balance by asset, the account's update time in ms: every fill up to it is in them)."""
        account = self._call(self.client.get_account)
        return {entry["asset"]: Decimal(entry["free"]) for entry in account["balances"]}, int(account["updateTime"])

    def place(self, order: OrderRequest) -> tuple[dict[str, Any], bool]:
        """(Binance's answer with its `fills`, whether it was found by lookup after a doubt)."""
        doubt = False
        for _ in range(self.execution.max_attempts):
            if doubt:
                found = self._settled_lookup(order)
                if found is not None:
                    return found, True
            try:
                return self.client.create_order(**self._order_params(order)), False
            except UNKNOWN:
                doubt = True
                self.count_retry("timeout")
            except BinanceAPIException as exc:
                doubt = self._retry_or_raise(exc) or doubt
        raise ExchangeError(
            f"{self.where()}: order {order.client_order_id} ({order.side} {order.quantity} {order.symbol}) unanswered "
            f"after {self.execution.max_attempts} attempts; its fate is unknown: look it up by that client order id"
        )

    def _settled_lookup(self, order: OrderRequest) -> dict[str, Any] | None:
        """The order after a doubt: Binance may still be processing a request whose answer was lost, so
        "does not exist" is only believed when it says so again `LOOKUP_SETTLE_S` later."""
        found = self.lookup(order.symbol, order.client_order_id)
        if found is None:
            time.sleep(LOOKUP_SETTLE_S)
            found = self.lookup(order.symbol, order.client_order_id)
        return found

    def _order_params(self, order: OrderRequest) -> dict[str, str]:
        params = {"symbol": order.symbol, "side": order.side, "quantity": format(order.quantity, "f"),
                  "newClientOrderId": order.client_order_id, "newOrderRespType": "FULL"}  # fmt: skip
        if self.execution.order_type == "market":
            return {**params, "type": "MARKET"}
        return {**params, "type": "LIMIT", "timeInForce": "IOC", "price": format(order.price, "f")}

    def lookup(self, symbol: str, client_order_id: str) -> dict[str, Any] | None:
        """The order as the exchange has it, with its fills (`myTrades`), or None if it never arrived."""
        try:
            found = self._call(self.client.get_order, symbol=symbol, origClientOrderId=client_order_id)
        except OrderRefused as refused:
            if refused.code == ORDER_NOT_FOUND:
                return None
            raise
        trades = self._call(self.client.get_my_trades, symbol=symbol, orderId=found["orderId"])
        fills = [{key: t[key] for key in ("price", "qty", "commission", "commissionAsset")} for t in trades]
        return {**found, "transactTime": found.get("updateTime", 0), "fills": fills}

    def listen_key(self) -> str:
        """A user data stream's listen key (`POST /api/v3/userDataStream`)."""
        return str(self._call(self.client.stream_get_listen_key))

    def keep_alive(self, key: str) -> None:
        self._call(self.client.stream_keepalive, listenKey=key)

    def cancel_open_orders(self, symbols: list[str]) -> int:
        """Cancel every open order of `symbols` (`DELETE /api/v3/openOrders`); how many there were."""
        cancelled = 0
        for symbol in symbols:
            try:
                cancelled += len(self._call(self.client.cancel_all_open_orders, symbol=symbol))
            except OrderRefused as refused:
                if refused.code != NO_OPEN_ORDERS:
                    raise
        return cancelled

    def where(self) -> str:
        return self.execution.api_url or f"Binance {self.execution.mode}"

    def _call(self, method: Callable[..., Any], **params: Any) -> Any:
        """A read: retried over timeouts, 5xx, 429s and the clock; refused otherwise."""
        for _ in range(self.execution.max_attempts):
            try:
                return method(**params)
            except UNKNOWN:
                self.count_retry("timeout")
            except BinanceAPIException as exc:
                self._retry_or_raise(exc)
        raise ExchangeError(
            f"{self.where()}: {method.__name__} unanswered after {self.execution.max_attempts} attempts"
        )

    def _retry_or_raise(self, exc: BinanceAPIException) -> bool:
        """Wait as the exchange asks and return whether the request's fate is unknown; raise a refusal."""
        wait_s = float(exc.response.headers.get("Retry-After", "1")) if exc.response is not None else 1.0
        if exc.status_code == 418 or (exc.status_code == 429 and wait_s > MAX_RETRY_AFTER_S):
            raise ExchangeError(
                f"{self.where()}: Binance banned this IP for {wait_s:g} s after too many requests "
                f"(HTTP {exc.status_code}); lower [execution] max_orders_per_minute"
            )
        if exc.status_code == 429:
            self.count_retry("429")
            time.sleep(wait_s)
            return False
        if exc.status_code >= 500:
            self.count_retry("5xx")
            return True
        if exc.code == CLOCK_OUTSIDE_WINDOW:
            self.count_retry("clock")
            server = self.client.get_server_time()["serverTime"]
            self.client.timestamp_offset = server - int(time.time() * 1000)
            return False
        if exc.code in KEYS_REFUSED or exc.status_code == 401:
            raise ExchangeError(f"{self.where()}: the API key was refused (code {exc.code}): {exc.message}")
        raise OrderRefused(int(exc.code or 0), f"{self.where()}: Binance refused (code {exc.code}): {exc.message}")

    def close(self) -> None:
        self.client.session.close()
        if self._own_loop is not None and not self._own_loop.is_running():
            self._own_loop.close()
            asyncio.set_event_loop(None)
