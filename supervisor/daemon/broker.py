"""The bus broker: an XSUB/XPUB proxy that forwards every published frame to every subscriber.

Consumes frames from actors' PUB sockets on the publish endpoints; produces them on the subscribe
endpoints, and forwards subscriptions back upstream. It binds every endpoint set it is given (the
run directory's ipc, and tcp for other hosts), as a CURVE server when the bus has keys. It runs in a thread of the daemon inside
libzmq (`zmq.proxy_steerable`, which releases the GIL) and stops on a TERMINATE command. Live, that
thread runs SCHED_FIFO (`[supervisor] realtime_priority`): every frame -> decision hop passes it.
"""

from __future__ import annotations

import logging
import threading

import zmq

from bus.curve import ServerKeys, as_server
from bus.endpoints import Endpoints
from common.priority import take_realtime
from messages.errors import BindError

log = logging.getLogger("supervisor.broker")


class Broker:
    def __init__(
        self,
        context: zmq.Context,
        endpoints: list[Endpoints],
        hwm: int,
        keys: ServerKeys | None = None,
        realtime: int = 0,
    ):
        self._context = context
        self._realtime = realtime
        self._keys = keys
        self._control_address = f"inproc://broker-control-{id(self)}"
        self._frontend = self._bind(zmq.XSUB, [e.publish for e in endpoints], hwm)
        try:
            self._backend = self._bind(zmq.XPUB, [e.subscribe for e in endpoints], hwm)
        except BindError:
            self._frontend.close(linger=0)
            raise
        self._control = context.socket(zmq.PAIR)
        self._control.bind(self._control_address)
        self._thread = threading.Thread(target=self._run, name="broker", daemon=True)

    @property
    def sockets(self) -> tuple[zmq.Socket, zmq.Socket]:
        """The publish (XSUB) and subscribe (XPUB) sockets, to watch their handshakes before `start`."""
        return self._frontend, self._backend

    def _bind(self, kind: int, addresses: list[str], hwm: int) -> zmq.Socket:
        socket = self._context.socket(kind)
        socket.setsockopt(zmq.SNDHWM, hwm)
        socket.setsockopt(zmq.RCVHWM, hwm)
        socket.setsockopt(zmq.LINGER, 0)
        as_server(socket, self._keys)
        for address in addresses:
            try:
                socket.bind(address)
            except zmq.ZMQError as exc:
                socket.close(linger=0)
                raise BindError(f"cannot bind the bus at {address}: {zmq.strerror(exc.errno)}") from exc
        return socket

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        if self._realtime:
            take_realtime(log, self._realtime)
        steering = self._context.socket(zmq.PAIR)
        steering.connect(self._control_address)
        try:
            zmq.proxy_steerable(self._frontend, self._backend, None, steering)
        except zmq.ContextTerminated:
            pass
        finally:
            steering.close(linger=0)
            self._frontend.close(linger=0)
            self._backend.close(linger=0)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._control.send(b"TERMINATE")
            self._thread.join(timeout=5)
        self._control.close(linger=0)
