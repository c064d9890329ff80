"""A Binance Spot REST double on 127.0.0.1: signed requests checked as Binance checks them, orders
filled by its `Ledger`, and faults on demand.

Consumes HTTP requests shaped as python-binance sends them (`X-MBX-APIKEY` header, the parameters in
the query string or a form body, `timestamp`, `recvWindow` and the HMAC-SHA256 `signature` last);
produces Binance's JSON answers and its errors: an unknown key (401, -2015), a bad signature (400,
-1022), a timestamp outside `recvWindow` (400, -1021), a filter failure (400, -1013, the filter
named), insufficient balance (400, -2010), an order looked up that does not exist (400, -2013).
Endpoints: `GET /api/v3/ping`, `/time`, `/exchangeInfo`; signed `POST /api/v3/order`,
`GET /api/v3/order`, `/openOrders`, `/account`, `/myTrades`, `DELETE /api/v3/openOrders` (none is ever
open: every order fills at once); `POST|PUT|DELETE /api/v3/userDataStream` (the key's header only) for
the user data stream, which sends an `executionReport` per fill (`exchange.user_stream_double`;
`stream_drops` drops it before chosen events).

Faults, by the number of the order request (1 = the first `POST /api/v3/order`): `"429"` (refused,
`Retry-After: 1`, -1003), `"500"` (refused before it is accepted), `"503_after_accept"` (accepted,
then Binance's -1007 "execution status unknown") and `"hold_after_accept"` (accepted, then the
answer held back `hold_s` — a client's timeout, or a kill before the answer came) and `"partial"`
(half of it filled, the rest expired, as an IOC order meeting too little liquidity). It serves from a
thread of its own (`start()` / `stop()`, or `with`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

from exchange.filters import SymbolRules
from exchange.ledger import Ledger, Refusal
from exchange.signing import parameters, verified
from exchange.user_stream_double import UserStreamServer

MAX_RECV_WINDOW_MS = 60_000
SIGNED = {("POST", "/api/v3/order"), ("GET", "/api/v3/order"), ("GET", "/api/v3/openOrders"),
          ("GET", "/api/v3/account"), ("GET", "/api/v3/myTrades"),
          ("DELETE", "/api/v3/openOrders")}  # fmt: skip


def open_rules(symbols: list[str], quote: str = "USDT", min_notional: str = "0") -> list[SymbolRules]:
    """Rules that let every paper fill through unchanged: lots and ticks of 1e-8, no bounds."""
    return [
        SymbolRules(s, s.removesuffix(quote), quote, step_size="0.00000001", tick_size="0.00000001",
                    min_notional=min_notional)
        for s in symbols
    ]  # fmt: skip


class SpotDouble:
    def __init__(
        self,
        rules: list[SymbolRules],
        api_key: str,
        api_secret: str,
        balances: dict[str, str] | None = None,
        fee_rate: str = "0.001",
        faults: dict[int, str] | None = None,
        hold_s: float = 3.0,
        stream_drops: set[int] | None = None,
        price_of: Callable[[str], Decimal | None] | None = None,
    ):
        self.api_key, self._secret = api_key, api_secret
        self.ledger = Ledger(
            {r.symbol: r for r in rules},
            {asset: Decimal(v) for asset, v in (balances or {"USDT": "10000"}).items()},
            Decimal(fee_rate),
            price_of=price_of,
        )
        self.faults = dict(faults or {})
        self.hold_s = hold_s
        self.order_requests = 0
        self.cancels = 0  # DELETE /api/v3/openOrders requests
        self.refused: dict[int, int] = {}  # Binance error code -> times answered
        self.held = threading.Event()  # set when a held answer starts waiting
        self.stream = UserStreamServer(stream_drops)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ----- serving ----------------------------------------------------------------------------
    def start(self) -> Self:
        self.stream.start()
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="spot-double", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.stream.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        """What python-binance's `API_URL` (or `API_TESTNET_URL`) is set to, to reach this double."""
        assert self._server is not None, "start() the double first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    @property
    def stream_url(self) -> str:
        """What `[execution] stream_url` is set to: the user data stream's base (`/ws/<listenKey>` after it)."""
        return self.stream.url

    # ----- answering --------------------------------------------------------------------------
    def answer(self, method: str, target: str, body: str, api_key: str | None) -> tuple[int, Any, dict[str, str]]:
        """(HTTP status, JSON body, extra headers) for one request."""
        url = urlsplit(target)
        params = parameters(url.query, body)
        try:
            if (method, url.path) in SIGNED:
                self._authenticate(url.query, body, params, api_key, int(time.time() * 1000))
            if url.path == "/api/v3/userDataStream":
                self._know_key(api_key)
                with self._lock:
                    return 200, self._user_stream(method, params), {}
            return 200, self._route(method, url.path, params), {}
        except Refusal as refusal:
            with self._lock:
                self.refused[refusal.code] = self.refused.get(refusal.code, 0) + 1
            headers = {"Retry-After": "1"} if refusal.status == 429 else {}
            return refusal.status, {"code": refusal.code, "msg": refusal.message}, headers

    def _know_key(self, api_key: str | None) -> None:
        if not api_key:
            raise Refusal(401, -2014, "API-key format invalid.")
        if api_key != self.api_key:
            raise Refusal(401, -2015, "Invalid API-key, IP, or permissions for action.")

    def _user_stream(self, method: str, params: dict[str, str]) -> Any:
        """`POST` a new listen key; `PUT` (keep alive) or `DELETE` one it issued."""
        if method == "POST":
            key = secrets.token_hex(32)
            self.stream.keys.add(key)
            return {"listenKey": key}
        if params.get("listenKey") not in self.stream.keys:
            raise Refusal(400, -1125, "This listenKey does not exist.")
        if method == "DELETE":
            self.stream.keys.discard(params["listenKey"])
        return {}

    def _authenticate(self, query: str, body: str, params: dict[str, str], api_key: str | None, now: int) -> None:
        self._know_key(api_key)
        if not verified(self._secret, query, body):
            raise Refusal(400, -1022, "Signature for this request is not valid.")
        try:
            stamp, window = int(params["timestamp"]), int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            raise Refusal(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        if window > MAX_RECV_WINDOW_MS:
            raise Refusal(400, -1131, "recvWindow must be less than 60000")
        if stamp > now + 1000 or now - stamp > window:
            raise Refusal(400, -1021, "Timestamp for this request is outside of the recvWindow.")

    def _route(self, method: str, path: str, params: dict[str, str]) -> Any:
        now = int(time.time() * 1000)
        if path == "/api/v3/ping":
            return {}
        if path == "/api/v3/time":
            return {"serverTime": now}
        if path == "/api/v3/exchangeInfo":
            symbols = [rules.exchange_info() for rules in self.ledger.rules.values()]
            return {"timezone": "UTC", "serverTime": now, "rateLimits": [], "symbols": symbols}
        with self._lock:
            now = int(time.time() * 1000)  # taken holding the lock: no answer is older than a fill it shows
            if (method, path) == ("POST", "/api/v3/order"):
                return self._place(params, now)
            if path == "/api/v3/order":
                return self.ledger.order(params)
            if path == "/api/v3/openOrders" and method == "DELETE":
                self.cancels += 1
                raise Refusal(400, -2011, "Unknown order sent.")  # as Binance answers when none is open
            if path == "/api/v3/openOrders":
                return []  # every order the double accepts fills at once
            if path == "/api/v3/account":
                return self.ledger.account(now)
            if path == "/api/v3/myTrades":
                return self.ledger.my_trades(params)
        raise Refusal(404, -1000, f"The double does not serve {method} {path}.")

    def _place(self, params: dict[str, str], now: int) -> Any:
        self.order_requests += 1
        fault = self.faults.pop(self.order_requests, "")
        if fault == "429":
            raise Refusal(429, -1003, "Too many requests; current limit is 6000 request weight per 1 MINUTE.")
        if fault == "500":
            raise Refusal(500, -1001, "Internal error; unable to process your request. Please try again.")
        answer = self.ledger.place(params, now, Decimal("0.5") if fault == "partial" else Decimal(1))
        self.stream.push(execution_report(answer, now))
        if fault == "503_after_accept":
            raise Refusal(503, -1007, "Timeout waiting for response from backend server. Send status unknown; "
                          "execution status unknown.")  # fmt: skip
        if fault == "hold_after_accept":
            self._lock.release()  # let lookups through while the answer is held back
            try:
                self.held.set()
                time.sleep(self.hold_s)
            finally:
                self._lock.acquire()
        return answer

    # ----- what the tests read ----------------------------------------------------------------
    def client_order_ids(self) -> list[str]:
        with self._lock:
            return [order["clientOrderId"] for order in self.ledger.orders]

    def orders(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(order) for order in self.ledger.orders]


def execution_report(answer: dict[str, Any], now: int) -> dict[str, Any]:
    """The user data stream's event for an order the ledger filled (its FULL answer)."""
    fill = answer["fills"][0]
    return {
        "e": "executionReport", "E": now, "s": answer["symbol"], "c": answer["clientOrderId"], "S": answer["side"],
        "o": answer["type"], "f": answer["timeInForce"], "q": answer["origQty"], "p": answer["price"],
        "x": "TRADE", "X": answer["status"], "r": "NONE", "i": answer["orderId"], "l": fill["qty"],
        "z": answer["executedQty"], "L": fill["price"], "n": fill["commission"], "N": fill["commissionAsset"],
        "T": answer["transactTime"], "t": fill["tradeId"], "Z": answer["cummulativeQuoteQty"],
    }  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    double: SpotDouble
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the headers and the body leave at once, not 40 ms apart (delayed ACK)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        status, answer, headers = self.double.answer(method, self.path, body, self.headers.get("X-MBX-APIKEY"))
        payload = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout) or was killed
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass
