"""The double's user data stream: `wss://…/ws/<listenKey>` on 127.0.0.1, one `executionReport` per fill.

Consumes the listen keys the REST double hands out and the events it pushes (from its own thread,
`push`); produces Binance's frames to every connection of a key it issued (`{"e": "executionReport",
"E": ..., "s": "BTCUSDT", "c": "<client order id>", "S": "BUY", "X": "FILLED", "z": "<cum qty>",
"L": "<last price>", "n": "<commission>", "N": "USDT", "i": <order id>, "T": <time>, ...}`). A
connection to a key it never issued is closed with 1008. `drop_before` (event numbers, 1 = the
first) aborts every connection before that event is sent: the event is lost to the client, as when a
real stream drops. Serves from a thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


class UserStreamServer:
    def __init__(self, drop_before: set[int] | None = None):
        self.keys: set[str] = set()
        self.drop_before = set(drop_before or ())
        self.events = 0
        self.connections: dict[str, set[ServerConnection]] = {}
        self.accepted = 0
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._started = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="user-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the user stream double did not start")

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(10)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def push(self, event: dict[str, Any]) -> None:
        """Send the account's `event` to every connection of every key it issued (from any thread)."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._send, json.dumps(event))

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0, compression=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._started.set()
            await self._stopping.wait()

    async def _handle(self, connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else ""
        key = path.removeprefix("/ws/")
        if not path.startswith("/ws/") or key not in self.keys:
            await connection.close(1008, "unknown listen key")
            return
        self.accepted += 1
        self.connections.setdefault(key, set()).add(connection)
        try:
            await connection.wait_closed()
        finally:
            self.connections[key].discard(connection)

    def _send(self, frame: str) -> None:
        self.events += 1
        connections = [c for key, group in self.connections.items() if key in self.keys for c in group]
        if self.events in self.drop_before:
            for connection in connections:
                connection.transport.abort()
            return
        for connection in connections:
            task = asyncio.get_running_loop().create_task(self._deliver(connection, frame))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    @staticmethod
    async def _deliver(connection: ServerConnection, frame: str) -> None:
        try:
            await connection.send(frame)
        except ConnectionClosed:
            pass  # the client went away: the event is lost to it, as on Binance
