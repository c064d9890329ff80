"""An actor's message handlers, found by name: `on_kline_batch` handles a `KlineBatch`.

Consumes an actor (any object with `on_<snake_case type name>` methods); produces {message type:
bound method} over every type the bus carries (`messages.codec.BusMessage`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from messages.codec import BusMessage

Handler = Callable[[str, Any], Awaitable[None] | None]


def handlers_of(actor: object) -> dict[type, Handler]:
    handlers: dict[type, Handler] = {}
    for message_type in BusMessage.__args__:
        method = getattr(actor, f"on_{_snake_case(message_type.__name__)}", None)
        if method is not None:
            handlers[message_type] = method
    return handlers


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
