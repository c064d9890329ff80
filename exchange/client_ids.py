"""The client order id of a trade: the same trade of the same run always gives the same id, so a resent
order is the same order — and the same replay run again is not taken for the first run's orders.

Consumes the daemon's run id and a trader's `TradeOpen` or `TradeClosed`; produces an id Binance
accepts (`^[.A-Z:/a-z0-9_-]{1,36}$`): `pp-` and 32 hex digits of the BLAKE2b digest of the run, the
trade and its leg (`o` for the opening fill, `c<exit time>` for each closing one: a trade may close
in parts). Binance keeps a client order id unique only among open orders, so a filled order's id
could otherwise be found again by a later run's lookup.
"""

from __future__ import annotations

import hashlib
import re

from messages.trading import TradeClosed, TradeOpen

ALLOWED = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
PREFIX = "pp-"


def client_order_id(run_id: int, trade: TradeOpen | TradeClosed) -> str:
    leg = "o" if isinstance(trade, TradeOpen) else f"c{trade.exit_time}"
    return PREFIX + hashlib.blake2b(f"{run_id}|{trade.trade_id}|{leg}".encode(), digest_size=16).hexdigest()
