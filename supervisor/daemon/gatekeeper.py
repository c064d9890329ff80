"""Who may join the bus: the CURVE authenticator of the daemon's sockets, and the count of refusals.

Consumes the daemon's ZeroMQ context, its server keys (`bus.curve`) and the sockets it binds;
produces an authenticator (pyzmq's `zmq.auth`, answering the handshakes of every CURVE socket of
the context) that admits only the client public keys in the authorized folder, and `refused`:
connections turned away, by reason — "unknown key" (logged with the peer's address and public key)
and "handshake failed" (no CURVE, or the wrong server key: seen on the socket's monitor, which
names the endpoint, not the peer; logged the first times and then every 100th).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import zmq
import zmq.asyncio
from zmq.auth.asyncio import AsyncioAuthenticator
from zmq.utils.monitor import parse_monitor_message

from bus.curve import ServerKeys

log = logging.getLogger("supervisor")
HANDSHAKE_FAILURES = zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
LOGGED_FIRST = 10


class _CountingAuthenticator(AsyncioAuthenticator):
    """pyzmq's authenticator, telling `on_refused` the peer's address of every request it denies."""

    def __init__(self, context: zmq.asyncio.Context, on_refused):
        super().__init__(context, log=logging.getLogger("supervisor.auth"))
        self._on_refused = on_refused
        self._request: tuple[str, bytes] = ("?", b"")

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        address = msg[3].decode(errors="replace") if len(msg) > 3 else "?"
        self._request = (address, msg[6] if len(msg) > 6 else b"")
        await super().handle_zap_message(msg)  # synchronous for a folder of keys: no other request interleaves

    def _send_zap_reply(self, request_id, status_code, status_text, user_id="anonymous") -> None:
        if status_code != b"200":
            address, key = self._request
            self._on_refused(address, key, status_text.decode(errors="replace"))
        super()._send_zap_reply(request_id, status_code, status_text, user_id)


class Gatekeeper:
    def __init__(self, context: zmq.asyncio.Context, keys: ServerKeys):
        self.refused: Counter[str] = Counter()
        self._context = context
        self._authenticator = _CountingAuthenticator(context, self._refused_key)
        self._authenticator.start()
        self._authenticator.configure_curve(domain="*", location=str(keys.authorized))
        self._watchers: list[asyncio.Task[None]] = []

    def _refused_key(self, address: str, key: bytes, reason: str) -> None:
        self.refused["unknown key"] += 1
        public = zmq.utils.z85.encode(key).decode() if len(key) == 32 else "?"
        log.warning(
            "refused a connection from %s: client key %s is not authorized (%s); %d refused so far",
            address,
            public,
            reason,
            self.refused["unknown key"],
        )

    def watch(self, socket: zmq.Socket, name: str) -> None:
        """Count the failed handshakes on `socket` (call before another thread uses it)."""
        address = f"inproc://gatekeeper-{name}-{id(socket)}"
        socket.monitor(address, HANDSHAKE_FAILURES)
        events = self._context.socket(zmq.PAIR)
        events.connect(address)
        self._watchers.append(asyncio.ensure_future(self._count_failures(events, name)))

    async def _count_failures(self, events: zmq.asyncio.Socket, name: str) -> None:
        try:
            while True:
                event = parse_monitor_message(await events.recv_multipart())
                self.refused["handshake failed"] += 1
                count = self.refused["handshake failed"]
                if count <= LOGGED_FIRST or count % 100 == 0:
                    log.warning(
                        "refused a connection on %s (%s): CURVE handshake failed (%s) — a client without "
                        "CURVE or with the wrong server key; %d so far",
                        event["endpoint"].decode(),
                        name,
                        zmq.Event(event["event"]).name,
                        count,
                    )
        finally:
            events.close(linger=0)

    def stop(self) -> None:
        for watcher in self._watchers:
            watcher.cancel()
        self._authenticator.stop()
