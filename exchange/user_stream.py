"""Follow an account's user data stream: a listen key over REST, the websocket, kept alive, reconnected.

Consumes a `Venue` (its REST client makes and keeps alive the listen key) and the stream's base URL;
produces a call of `on_report(event)` for every `executionReport` that arrives, `on_reconnect()`
each time the connection drops and is made again (with a new listen key: the old one may have
expired), and `on_malformed(frame)` for a frame that is not a JSON event. Events sent while the
connection was down are lost (Binance does not repeat them); the executor's record is the REST
answer of every order, so the stream only confirms it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from exchange.venue import Venue
from messages.errors import PeperError

STREAM_URLS = {"testnet": "wss://stream.testnet.binance.vision", "live": "wss://stream.binance.com:9443"}
RECONNECT_S = (0.1, 5.0)  # the first delay, doubled after each failure up to the second


async def follow_user_stream(
    venue: Venue,
    url: str,
    keepalive_s: float,
    on_report: Callable[[dict[str, Any]], None],
    on_reconnect: Callable[[], None],
    on_malformed: Callable[[str], None],
) -> None:
    delay, first = RECONNECT_S[0], True
    while True:
        if not first:
            on_reconnect()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_S[1])
        first = False
        key = await asyncio.to_thread(venue.listen_key)
        try:
            async with connect(f"{url.rstrip('/')}/ws/{key}", compression=None) as stream:
                delay = RECONNECT_S[0]
                keepalive = asyncio.get_running_loop().create_task(_keep_alive(venue, key, keepalive_s, stream))
                try:
                    async for frame in stream:
                        _dispatch(frame, on_report, on_malformed)
                finally:
                    keepalive.cancel()
        except (ConnectionClosed, InvalidHandshake, OSError):
            continue


async def _keep_alive(venue: Venue, key: str, every_s: float, stream: ClientConnection) -> None:
    """Keep the listen key alive; if that fails, close the stream: the reconnect takes a new key."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await asyncio.to_thread(venue.keep_alive, key)
        except PeperError:
            await stream.close()
            return


def _dispatch(
    frame: str | bytes, on_report: Callable[[dict[str, Any]], None], on_malformed: Callable[[str], None]
) -> None:
    try:
        event = json.loads(frame)
    except ValueError:
        on_malformed(str(frame)[:80])
        return
    if isinstance(event, dict) and event.get("e") == "executionReport":
        on_report(event)
