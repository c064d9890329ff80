"""The client order id of a trade: the same trade always gives the same id, so a resent order is the same order.

Consumes a trader's `TradeOpen` or `TradeClosed`; produces an id Binance accepts
(`^[.A-Z:/a-z0-9_-]{1,36}$`): `pp-<trade_id>-o` for the opening fill, `pp-<trade_id>-c<exit time>`
for each closing one (a trade may close in parts), or, when that is too long or not of Binance's
characters, `pp-` and 32 hex digits of its BLAKE2b digest.
"""

from __future__ import annotations

import hashlib
import re

from messages.trading import TradeClosed, TradeOpen

ALLOWED = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
PREFIX = "pp-"


def client_order_id(trade: TradeOpen | TradeClosed) -> str:
    leg = "o" if isinstance(trade, TradeOpen) else f"c{trade.exit_time}"
    readable = f"{PREFIX}{trade.trade_id}-{leg}"
    if ALLOWED.match(readable):
        return readable
    return PREFIX + hashlib.blake2b(readable.encode(), digest_size=16).hexdigest()
