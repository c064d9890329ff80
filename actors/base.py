"""The actor runtime: one asyncio (uvloop) process on the bus, watched by the supervisor.

Consumes frames on the topics an actor subscribes to and calls its `on_<message_type>` handlers
(`on_kline_batch(topic, message)` for a `KlineBatch`); produces what the actor publishes, plus
`sys.lifecycle` transitions and `Ready`/`Heartbeat` on the supervisor's control socket.

Speed (DESIGN.md §9): the receive loop awaits readiness once and then drains the socket without
awaiting each message, and every message is one plain frame, never multipart. A drain yields to
the loop every `DRAIN_SLICE_S` of handling (a replay frame can carry thousands of bars), so
heartbeats keep flowing under load.

Start-up: the actor subscribes, then publishes `_hello.<name>` until it receives its own hello back
through the broker — proof that its subscriptions are in place (no sleep against slow joiners) —
and only then tells the supervisor it is ready. Stop: SIGTERM or SIGINT ends it in order; the
death of the supervisor ends it too (PR_SET_PDEATHSIG).

Malformed frames are counted, logged (rate-limited) and dropped; so are duplicates (a frame
re-sent with an epoch and seq already seen, e.g. a replay re-sent to a restarted recorder). An exception in a handler is a
broken invariant: the actor publishes `faulted` and exits non-zero; the supervisor restarts it.
`seq` counts per (publisher, topic), so any subscriber can detect a gap on the topics it reads.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import inspect
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import uvloop
import zmq
import zmq.asyncio

from config.endpoints import Endpoints, endpoints_for
from config.schema import PeperConfig
from messages import topics
from messages.codec import BusMessage, Codec, MalformedFrame
from messages.control import CONTROL_ENCODER, Heartbeat, Ready
from messages.system import Ack, ErrorEvent, Hello, Lifecycle, LifecycleState, Resync

RESTARTS_ENV = "PEPER_RESTARTS"  # set by the supervisor: how often this actor was restarted
LOG_LEVEL_ENV = "PEPER_LOG_LEVEL"  # the actors' log level (INFO unless set; `train` sets WARNING)
DRAIN_SLICE_S = 0.05
HELLO_RETRY_S = 0.05
RESYNC_RETRY_S = 1.0
CONFIG_FILE_NAME = "config.json"
_LOG_EVERY = 1000
_TRANSITIONS: dict[str, set[str]] = {
    "starting": {"running", "stopping", "faulted"},
    "running": {"stopping", "faulted"},
    "stopping": {"stopped", "faulted"},
}

Handler = Callable[[str, Any], Awaitable[None] | None]


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Actor:
    """Base of every actor: set `subscriptions`, write handlers, call `publish`.

    Subclasses may override `on_start`, `on_running`, `on_stop` and `add_arguments`, and start
    background work with `spawn`. `finish()` ends the actor with exit status 0 (its job is done).
    """

    subscriptions: ClassVar[tuple[str, ...]] = ()
    # Topics read on a second socket by their own loop, so their handlers run even while a handler
    # of the main loop awaits (a model waiting for the LLM to come up still hears llm.status).
    side_subscriptions: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, config: PeperConfig, endpoints: Endpoints, args: argparse.Namespace):
        self.name = name
        self.config = config
        self.endpoints = endpoints
        self.args = args
        self.log = logging.getLogger(name)
        self.state: LifecycleState = "starting"
        self.msgs_in = 0
        self.msgs_out = 0
        self.malformed = 0
        self.seq_gaps = 0
        self.duplicates = 0
        self.epoch = time.time_ns()
        self.counters: dict[str, int] = {}  # actor-specific counts, reported with every heartbeat
        self._codec = Codec()
        self._seq_by_topic: dict[str, int] = {}
        self._last_seq_seen: dict[tuple[str, str], tuple[int, int]] = {}
        self._resyncing = False  # asked the feed to re-send; its frames wait for its Resync marker
        self._frame_hook = getattr(self, "on_frame", None)  # (topic, message, frame): every valid frame
        self._drained_hook = getattr(self, "on_drained", None)  # (): the socket is empty for now
        self._handlers = self._collect_handlers()
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping: asyncio.Event | None = None
        self._hello_seen: asyncio.Event | None = None
        self._context: zmq.asyncio.Context | None = None
        self._route_proven = False  # until the own hello came back, lifecycle events wait
        self._held_events: list[Lifecycle] = []

    # ----- hooks for subclasses -------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add the actor's own command-line options."""

    async def on_start(self) -> None:
        """Set up state and open resources; runs before any message is handled."""

    async def on_running(self) -> None:
        """Start producing: the route through the broker is proven and the supervisor told.

        Publish from here (or from tasks spawned here), not from `on_start`: until the actor's
        own hello came back, its PUB socket may not know every subscriber yet and drops frames.
        """

    async def on_stop(self) -> None:
        """Release resources; runs on an orderly stop."""

    # ----- publishing -----------------------------------------------------------------------
    def publish(self, topic: str, message: BusMessage) -> bytes:
        """Stamp `seq`, `src`, `epoch`, `ts_sent`, send one frame (PUB never blocks), return it."""
        seq = self._seq_by_topic.get(topic, 0) + 1
        self._seq_by_topic[topic] = seq
        stamped = msgspec.structs.replace(message, seq=seq, src=self.name, epoch=self.epoch, ts_sent=time.time_ns())
        frame = self._codec.encode(topic, stamped)
        self._publisher.send(frame)
        self.msgs_out += 1
        return frame

    def expect_resync(self) -> None:
        """Call in on_start of an actor that will `request_resync`: from now until the feed's `Resync`
        marker, the feed's frames are dropped (all are re-sent after the marker). Otherwise newer frames,
        arriving first, would be taken and the re-sent older ones dropped as duplicates."""
        self._resyncing = self.config.feed.mode == "replay"  # a live feed keeps no frames to re-send

    def request_resync(self, upto: int) -> None:
        """Ask the feed for every kept frame after bar time `upto` (-1: all), again every
        `RESYNC_RETRY_S` until its marker comes (a feed not yet started or subscribed missed the ask)."""
        self.expect_resync()
        ask = Ack(upto=upto, resync=True, ts_event=max(upto, 0))
        self.publish(topics.ack(self.name), ask)
        if self._resyncing:
            self.spawn(self._repeat_resync(ask), "resync")

    async def _repeat_resync(self, ask: Ack) -> None:
        while True:
            await asyncio.sleep(RESYNC_RETRY_S)
            if not self._resyncing:
                return
            self.publish(topics.ack(self.name), ask)

    def resend(self, frame: bytes) -> None:
        """Send a frame this actor published before, byte for byte (its receivers drop duplicates)."""
        self._publisher.send(frame)
        self.msgs_out += 1

    def spawn(self, coroutine: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        """Run background work whose failure fails the actor."""
        task = asyncio.ensure_future(coroutine)
        task.set_name(f"{self.name}.{name}")
        self._tasks.append(task)
        return task

    def finish(self) -> None:
        """The actor's job is done: stop in order and exit 0."""
        self.log.info("finished")
        self._request_stop()

    # ----- lifecycle ------------------------------------------------------------------------
    async def run(self) -> int:
        self._stopping = asyncio.Event()
        self._hello_seen = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._request_stop)
        self._open_sockets()
        try:
            self._transition("starting")
            await self.on_start()
            receiver = asyncio.ensure_future(self._receive_loop(self._subscriber_async, self._subscriber))
            self._tasks.append(receiver)
            if self.side_subscriptions:
                self._tasks.append(asyncio.ensure_future(self._receive_loop(self._side_async, self._side)))
            await self._await_own_hello(receiver)
            self._tasks.append(asyncio.ensure_future(self._heartbeat_loop()))
            await self._control.send(CONTROL_ENCODER.encode(Ready(actor=self.name, pid=os.getpid())))
            self._transition("running")
            await self.on_running()
            await self._wait_for_stop_or_failure()
            self._transition("stopping")
            await self._cancel_tasks()
            await self.on_stop()
            self._transition("stopped")
            return 0
        except Exception as exc:
            self._report_fault(exc)
            raise
        finally:
            self._close_sockets()

    def _request_stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()

    async def _wait_for_stop_or_failure(self) -> None:
        stop_waiter = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                pending = [task for task in self._tasks if not task.done()]
                done, _ = await asyncio.wait([stop_waiter, *pending], return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not stop_waiter and not task.cancelled() and task.exception() is not None:
                        raise task.exception()
                self._tasks = [task for task in self._tasks if not task.done()]
        finally:
            stop_waiter.cancel()

    async def _cancel_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def _transition(self, state: LifecycleState, detail: str = "") -> None:
        if state != self.state and state not in _TRANSITIONS.get(self.state, set()):
            raise RuntimeError(f"lifecycle cannot go from {self.state} to {state}")
        self.state = state
        event = Lifecycle(actor=self.name, state=state, pid=os.getpid(), detail=detail)
        if self._route_proven:
            self.publish(topics.LIFECYCLE, event)
        else:
            self._held_events.append(event)

    def _report_fault(self, exc: BaseException) -> None:
        detail = f"{type(exc).__name__}: {exc}"
        try:
            self.state = "faulted"
            self.publish(topics.ERROR, ErrorEvent(actor=self.name, kind="fault", detail=detail))
            self.publish(topics.LIFECYCLE, Lifecycle(actor=self.name, state="faulted", pid=os.getpid(), detail=detail))
        except zmq.ZMQError:
            pass

    # ----- sockets --------------------------------------------------------------------------
    def _open_sockets(self) -> None:
        self._context = zmq.asyncio.Context()
        hwm = self.config.bus.hwm
        self._publisher = zmq.Context.shadow(self._context.underlying).socket(zmq.PUB)
        self._publisher.setsockopt(zmq.SNDHWM, hwm)
        self._publisher.setsockopt(zmq.LINGER, 2000)
        self._publisher.connect(self.endpoints.publish)
        self._subscriber_async = self._context.socket(zmq.SUB)
        self._subscriber_async.setsockopt(zmq.RCVHWM, hwm)
        self._subscriber_async.setsockopt(zmq.LINGER, 0)
        self._subscriber_async.connect(self.endpoints.subscribe)
        for prefix in (*self.subscriptions, topics.hello(self.name)):
            self._subscriber_async.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        self._subscriber = zmq.Socket.shadow(self._subscriber_async.underlying)
        if self.side_subscriptions:
            self._side_async = self._context.socket(zmq.SUB)
            self._side_async.setsockopt(zmq.LINGER, 0)
            self._side_async.connect(self.endpoints.subscribe)
            for prefix in self.side_subscriptions:
                self._side_async.setsockopt(zmq.SUBSCRIBE, prefix.encode())
            self._side = zmq.Socket.shadow(self._side_async.underlying)
        self._control = self._context.socket(zmq.DEALER)
        self._control.setsockopt(zmq.LINGER, 500)
        self._control.setsockopt(zmq.SNDHWM, 100)
        self._control.connect(self.endpoints.control)

    def _close_sockets(self) -> None:
        if self._context is not None:
            self._publisher.close(linger=2000)  # made on a shadow context, which destroy() does not track
            self._context.destroy(linger=2000)
            self._context = None

    async def _await_own_hello(self, receiver: asyncio.Task[None]) -> None:
        deadline = time.monotonic() + self.config.supervisor.startup_timeout_s
        hello_seen = asyncio.ensure_future(self._hello_seen.wait())
        try:
            while not self._hello_seen.is_set():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no route through the broker at {self.endpoints.subscribe}")
                self.publish(topics.hello(self.name), Hello(actor=self.name))
                await asyncio.wait({hello_seen, receiver}, timeout=HELLO_RETRY_S, return_when=asyncio.FIRST_COMPLETED)
                if receiver.done():
                    receiver.result()  # raises what killed the receive loop
                    raise RuntimeError("the receive loop ended during start-up")
        finally:
            hello_seen.cancel()
        self._route_proven = True
        for event in self._held_events:
            self.publish(topics.LIFECYCLE, event)
        self._held_events.clear()

    async def _heartbeat_loop(self) -> None:
        interval = self.config.supervisor.heartbeat_interval_s
        while True:
            beat = Heartbeat(
                actor=self.name, pid=os.getpid(), state=self.state, msgs_in=self.msgs_in,
                msgs_out=self.msgs_out, malformed=self.malformed, seq_gaps=self.seq_gaps, counters={**self.counters, "duplicates": self.duplicates},
            )
            try:
                self._control.send(CONTROL_ENCODER.encode(beat), zmq.NOBLOCK)
            except zmq.Again:
                pass
            await asyncio.sleep(interval)

    # ----- receiving ------------------------------------------------------------------------
    async def _receive_loop(self, async_socket: zmq.asyncio.Socket, socket: zmq.Socket) -> None:
        receive = socket.recv
        clock = time.monotonic
        while True:
            await async_socket.poll(flags=zmq.POLLIN)
            slice_ends = clock() + DRAIN_SLICE_S
            while True:
                try:
                    frame = receive(zmq.NOBLOCK)
                except zmq.Again:
                    break
                pending = self._dispatch(frame)
                if pending is not None:
                    await pending
                if clock() > slice_ends:
                    await asyncio.sleep(0)  # let heartbeats and timers run, then drain on
                    slice_ends = clock() + DRAIN_SLICE_S
            if self._drained_hook is not None:
                self._drained_hook()

    def _dispatch(self, frame: bytes) -> Awaitable[None] | None:
        try:
            topic, message = self._codec.decode(frame)
        except MalformedFrame as exc:
            self._count_malformed(str(exc))
            return None
        if type(message) is Hello:
            if message.actor == self.name:
                self._hello_seen.set()
            return None
        if self._resyncing:
            if topic in topics.FEED_TOPICS:
                return None  # the feed re-sends it after its Resync marker
            if type(message) is Resync and message.acker == self.name:
                self._resyncing = False
                for feed_topic in topics.FEED_TOPICS:  # re-sent frames repeat seqs this process may have seen
                    self._last_seq_seen.pop((message.src, feed_topic), None)
        if not self._check_sequence(message.src, topic, message.epoch, message.seq):
            self.duplicates += 1
            return None
        self.msgs_in += 1
        if self._frame_hook is not None:
            self._frame_hook(topic, message, frame)
        handler = self._handlers.get(type(message))
        if handler is None:
            return None
        return handler(topic, message)

    def _check_sequence(self, src: str, topic: str, epoch: int, seq: int) -> bool:
        """Count gaps; return False for a duplicate (same epoch, seq already seen)."""
        key = (src, topic)
        last_epoch, last = self._last_seq_seen.get(key, (epoch, 0))
        if epoch != last_epoch:
            if seq != 1:
                self.log.warning("%s restarted: its %s stream went from seq %d to %d", src, topic, last, seq)
            self._last_seq_seen[key] = (epoch, seq)
            return True
        if seq <= last:
            return False
        self._last_seq_seen[key] = (epoch, seq)
        if seq != last + 1 and last != 0:
            self.seq_gaps += seq - last - 1
            self.log.warning("seq gap on %s from %s: %d messages missing (%d -> %d)", topic, src, seq - last - 1, last, seq)
        return True

    def _count_malformed(self, reason: str) -> None:
        self.malformed += 1
        if self.malformed <= 10 or self.malformed % _LOG_EVERY == 0:
            self.log.warning("dropped malformed frame #%d: %s", self.malformed, reason)
            self.publish(topics.ERROR, ErrorEvent(actor=self.name, kind="malformed", detail=reason, count=self.malformed))

    def _collect_handlers(self) -> dict[type, Handler]:
        handlers: dict[type, Handler] = {}
        for message_type in BusMessage.__args__:
            method = getattr(self, f"on_{_snake_case(message_type.__name__)}", None)
            if method is not None:
                handlers[message_type] = method
        return handlers

    def sequence_of(self, topic: str) -> int:
        """The seq of the last message this actor published on `topic` (0 if none)."""
        return self._seq_by_topic.get(topic, 0)


# ----- process entry point --------------------------------------------------------------------
def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when the supervisor dies, so no actor is orphaned."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def load_run_config(run_dir: Path) -> PeperConfig:
    """The resolved configuration the supervisor wrote into its run directory."""
    return msgspec.json.decode((run_dir / CONFIG_FILE_NAME).read_bytes(), type=PeperConfig)


def main(actor_class: type[Actor], argv: list[str] | None = None) -> None:
    """`python -m actors.<name> --run-dir DIR`: run one actor until it stops."""
    default_name = actor_class.__module__.rsplit(".", 1)[-1]
    parser = argparse.ArgumentParser(
        prog=f"python -m {actor_class.__module__}",
        description=(inspect.getdoc(sys.modules[actor_class.__module__]) or "").split("\n\n")[0],
    )
    parser.add_argument("--run-dir", required=True, type=Path, help="the supervisor's run directory")
    parser.add_argument("--name", default=default_name, help=f"actor name on the bus (default {default_name})")
    actor_class.add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get(LOG_LEVEL_ENV, "INFO"), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:
        sys.exit(f"{args.name}: supervisor exited before the actor started")
    try:
        config = load_run_config(args.run_dir)
    except (OSError, msgspec.DecodeError) as exc:
        sys.exit(f"{args.name}: cannot read {args.run_dir / CONFIG_FILE_NAME}: {exc}")
    endpoints = endpoints_for(config.bus, args.run_dir)
    actor = actor_class(args.name, config, endpoints, args)
    sys.exit(uvloop.run(actor.run()))
