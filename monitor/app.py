"""Attach to a running daemon and show it live; never slow it down.

Consumes the config and run directory of a daemon: its control socket (`status`, a few times a
second), its recording (a read-only snapshot when attaching: weights history, closed trades, gap
ledger) and the bus (a SUB socket with a small receive queue). Produces a Rich screen refreshed
`refresh_per_s` times a second. The bus is drained in time slices between refreshes; when the
terminal or this process falls behind, ZeroMQ drops messages for this subscriber only (the
monitor counts them as skipped) — the topology never waits for it. A daemon that stops and comes
back is reattached (the screen says so). Ctrl-C restores the terminal.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import zmq
from rich.console import Console
from rich.live import Live

from bus import runtime
from bus.curve import as_client
from bus.endpoints import client_keys_for, endpoints_for
from config.schema import PeperConfig
from marketdata.table import INTERVAL_MS
from messages import topics
from messages.codec import Codec
from messages.control import StatusReply, StatusRequest
from messages.errors import DaemonUnreachable, MalformedFrame, StoreError
from messages.system import Gap
from messages.trading import TradeClosed
from monitor.state import MonitorState
from monitor.view import render, render_text
from storage.backup import backup_dir_for
from storage.recording import last_batch
from storage.schema import current
from storage.store import Store
from storage.stream import StreamReader
from storage.weights import all_weights

SUBSCRIBED = (
    topics.KLINE,
    topics.CLOCK,
    topics.SIGNAL_PREFIX,
    topics.WEIGHTS,
    topics.CREDIT,
    topics.TRADE_OPEN,
    topics.TRADE_CLOSED,
    topics.LLM_STATUS,
    topics.GAP,
)
RECEIVE_QUEUE = 2_000  # messages held for a slow monitor before ZeroMQ drops (for the monitor only)


class Monitor:
    def __init__(
        self,
        config: PeperConfig,
        run_dir: Path,
        *,
        refresh_per_s: float = 4.0,
        recording: Callable[[], Path] | None = None,
    ):
        self.config = config
        self.run_dir = run_dir
        self.refresh_s = 1.0 / refresh_per_s
        self.state = MonitorState(
            mode=config.feed.mode,
            initial_equity=config.trader.initial_equity,
            interval_s=INTERVAL_MS[config.feed.interval] / 1000,
            tick_deadline_s=config.feed.tick_deadline_s,
        )
        self.codec = Codec()
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.SUB)
        self.socket.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        self.socket.setsockopt(zmq.LINGER, 0)
        for prefix in SUBSCRIBED:
            self.socket.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        as_client(self.socket, client_keys_for(config.bus))
        self.socket.connect(endpoints_for(config.bus, run_dir).subscribe)
        self._recording = recording or (lambda: Path(config.database.path))
        self.stopping = threading.Event()

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()

    # ----- one step -----------------------------------------------------------------------
    @property
    def db(self) -> Path:
        """The recording of the topology shown (`train` and `demo` move to a new one each session)."""
        return self._recording()

    def snapshot(self) -> None:
        """What the recording holds so far, tagged with the recorder's batch number."""
        if not (self.db / "data.mdb").exists():
            return
        try:
            with Store(self.db, readonly=True) as store:
                record = last_batch(store)
                seq = record.number if record else 0
                trades = [m for m in self._recorded(store, topics.TRADE_CLOSED) if isinstance(m, TradeClosed)]
                gaps = [m for m in self._recorded(store, topics.GAP) if isinstance(m, Gap)]
                self.state.on_snapshot(all_weights(store), trades, gaps, seq)
        except StoreError as exc:
            self.state.daemon_note = f"no snapshot: {exc}"

    def _recorded(self, store: Store, topic: str) -> list[object]:
        return [current(self.codec.decode_payload(payload)) for *_, payload in StreamReader(store).records(topic)]

    def drain(self, budget_s: float) -> None:
        """Fold bus messages into the state for at most budget_s."""
        deadline = time.monotonic() + budget_s
        while (remaining := deadline - time.monotonic()) > 0:
            if not self.socket.poll(int(remaining * 1000) + 1):
                return
            for _ in range(500):
                try:
                    frame = self.socket.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                try:
                    topic, message = self.codec.decode(frame)
                except MalformedFrame:
                    continue
                if not self.state.received:
                    print("monitor: receiving from the bus", file=sys.stderr, flush=True)
                self.state.on_message(topic, message)

    def refresh_status(self) -> None:
        try:
            reply = runtime.request(self.config.bus, self.run_dir, StatusRequest(), timeout_s=0.5)
        except DaemonUnreachable as exc:
            self.state.on_unreachable(str(exc))
            return
        if isinstance(reply, StatusReply):
            restarted = self.state.status is not None and reply.daemon_pid != self.state.status.daemon_pid
            self.state.on_status(reply, time.monotonic())
            if restarted:
                self.snapshot()
        self._recorder_files()

    def _recorder_files(self) -> None:
        with contextlib.suppress(OSError):
            self.state.lmdb_bytes = (self.db / "data.mdb").stat().st_size
        with contextlib.suppress(OSError, ValueError):
            backups = [p for p in backup_dir_for(self.db).iterdir() if p.name.startswith("backup-")]
            self.state.last_backup = max(p.stat().st_mtime for p in backups)

    def step(self) -> None:
        self.refresh_status()
        self.drain(self.refresh_s)

    # ----- the screen ---------------------------------------------------------------------
    def run(self, console: Console, *, duration_s: float | None = None) -> None:
        """Show the screen until Ctrl-C, `stopping`, or duration_s."""
        self.snapshot()
        ends = None if duration_s is None else time.monotonic() + duration_s
        try:
            with Live(console=console, screen=console.is_terminal, auto_refresh=False, transient=False) as live:
                while not self.stopping.is_set() and (ends is None or time.monotonic() < ends):
                    self.step()
                    live.update(render(self.state, console.width, console.height), refresh=True)
        except KeyboardInterrupt:
            pass

    def text(self, width: int = 120, height: int = 40) -> str:
        return render_text(self.state, width, height)
