"""How an actor survives its own restart and helps others survive theirs, without losing or repeating anything.

One `Recovery` per actor (`Actor.recovery`), built from the parts it uses: the actor's identity
in this run, its checkpoints' store (`actors.runtime.stores`), its `Lineage`, its receive gates
(`SequenceTracker`), its outbox, and the actor's publish/resend/spawn. Consumes checkpoints and
acknowledgements; produces checkpoints, resync requests and re-sent frames:
- `checkpoint(upto, state)`: the actor's state at bar time `upto`, its lineage (epoch) and the
  seqs of its data topics, committed, then `upto` acknowledged — so whatever comes after it is
  still kept upstream;
- `resume(sources)` / `catch_up(upto, sources)`: what a restarted consumer does in `on_start` and
  `on_running` — the gates, the restore, the resync request below;
- `restore()`: after a restart, this run's newest checkpoint, lineage and seqs taken back, so what
  the actor publishes again repeats what it published before, seq for seq, and receivers drop it;
- `resend_kept()`: after a restart, the frames its checkpoint kept published again — the last
  ones before a kill may never have left the process (SIGKILL drops a socket's queue), and a
  receiver that did not restart would otherwise keep a gap; one that has them drops them;
- `request_resync(upto, sources)`: ask the sources for every data frame after `upto`, dropping
  their frames until each one's `Resync` marker (the gates in `actors.runtime.sequence`);
- answering acknowledgements: an actor with an outbox drops what every acknowledger has, and
  re-sends, after a marker, what a restarted one asks for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from actors.runtime.lineage import Lineage
from actors.runtime.outbox import Outbox
from actors.runtime.sequence import SequenceTracker
from actors.runtime.stores import ActorStores
from messages import topics
from messages.codec import BusMessage
from messages.errors import StoreError
from messages.system import Ack, Resync
from storage.checkpoints import Checkpoint, read_checkpoint, read_outbox, write_checkpoint

RESYNC_RETRY_S = 1.0


class Recovery:
    def __init__(
        self,
        *,
        name: str,
        run_id: int,
        restarts: int,
        replay: bool,
        acknowledges: bool,
        stores: ActorStores,
        lineage: Lineage,
        tracker: SequenceTracker,
        outbox: Outbox | None,
        durable_outbox: bool,
        publish: Callable[[str, BusMessage], bytes],
        resend: Callable[[bytes], None],
        spawn: Callable[[Coroutine[Any, Any, Any], str], asyncio.Task[Any]],
        log: logging.Logger,
    ):
        self.name, self.run_id, self.restarts, self.replay = name, run_id, restarts, replay
        self.acknowledges = acknowledges  # its checkpoints are acknowledged (not the feed's: it is acknowledged)
        self.stores, self.lineage, self.tracker, self.outbox = stores, lineage, tracker, outbox
        self.durable_outbox = durable_outbox  # the outbox is saved with the checkpoints
        self._publish, self._resend, self._spawn, self.log = publish, resend, spawn, log
        self.acked_upto: int | None = None  # the last bar time this actor acknowledged
        self.restored: Checkpoint | None = None

    def resume(self, sources: set[str]) -> Checkpoint | None:
        """In `on_start`: after a restart, gate `sources` until their markers (`expect_resync`) and
        take back this run's newest checkpoint (`restore`); else None."""
        if self.restarts:
            self.expect_resync(sources)
        return self.restore()

    def catch_up(self, upto: int, sources: set[str]) -> None:
        """In `on_running`: after a restart, ask `sources` for every data frame after `upto`."""
        if self.restarts:
            self.request_resync(upto, sources)

    def restore(self) -> Checkpoint | None:
        """After a restart: this run's newest checkpoint, its lineage and seqs taken back; else None."""
        if not self.restarts or not self.replay:
            return None
        try:
            found = read_checkpoint(self.stores.checkpoints(), self.name, self.run_id)
        except StoreError as exc:
            self.log.warning("restarted, but no checkpoint could be read (%s); starting from nothing", exc)
            return None
        if found is not None:
            self.lineage.data_epoch = found.epoch
            self.lineage.seqs.update(found.seqs)
            self.acked_upto = found.upto if self.acknowledges else None  # acknowledged before the kill
            self.restored = found
            if self.outbox is not None and self.durable_outbox:
                self.outbox.load(read_outbox(self.stores.checkpoints(), self.name, found.upto))
        return found

    def resend_kept(self) -> None:
        """Publish again, in order, every frame restored with the checkpoint, then its acknowledgement."""
        if self.restored is None or self.outbox is None or not len(self.outbox):
            return
        for _, frame in self.outbox.frames:
            self._resend(frame)
        self.repeat_ack()
        self.log.info("restarted: re-sent the %d frames kept at the checkpoint", len(self.outbox))

    def checkpoint(
        self, upto: int, state: bytes, journal: tuple[int, bytes] | None = None, keep_journal_from: int | None = None
    ) -> None:
        """Write the state reached at bar time `upto`, then (an acknowledger) acknowledge `upto`."""
        saved = self.outbox.take_unsaved() if self.outbox is not None and self.durable_outbox else None
        write_checkpoint(
            self.stores.checkpoints(),
            self.name,
            Checkpoint(
                run_id=self.run_id,
                upto=upto,
                epoch=self.lineage.data_epoch,
                seqs=self.lineage.data_seqs(),
                state=state,
            ),
            journal,
            keep_journal_from,
            saved,
        )
        if self.acknowledges:
            self.acknowledge(upto)

    def acknowledge(self, upto: int, **fields: Any) -> None:
        """Everything up to bar time `upto` is handled (and checkpointed); live, nothing waits for it."""
        if self.replay:
            self.acked_upto = upto
            self._publish(topics.ack(self.name), Ack(upto=upto, ts_event=max(upto, 0), **fields))

    def handled(self, bar_time: int) -> bool:
        """Whether everything at `bar_time` is handled and acknowledged already (replay only)."""
        return self.acked_upto is not None and bar_time <= self.acked_upto

    def repeat_ack(self) -> None:
        """Acknowledge again how far this actor is: after re-sending frames to a restarted acknowledger
        (which dropped the acknowledgements that came before them), or when a clock this actor already
        had came again (a restarted feed re-sends from its slowest acknowledger's position and never
        takes acknowledgements of its duplicates)."""
        if self.acked_upto is not None:
            self.acknowledge(self.acked_upto)

    def expect_resync(self, sources: set[str]) -> None:
        """Call in `on_start` of a restarted actor: from now until each source's marker, its data
        frames are dropped (newer ones arriving before the re-sent older ones would break the order)."""
        if self.replay:
            self.tracker.gate(set(sources))

    def request_resync(self, upto: int, sources: set[str]) -> None:
        """Ask `sources` for every data frame after bar time `upto` (-1: all they kept), again every
        `RESYNC_RETRY_S` until each one's marker came (a source not yet listening missed the ask)."""
        if not self.replay or not sources:
            return
        self.tracker.gate(set(sources))
        ask = Ack(upto=upto, resync=True, ts_event=max(upto, 0))
        self._publish(topics.ack(self.name), ask)
        self._spawn(self._repeat_resync(ask), "resync")

    async def _repeat_resync(self, ask: Ack) -> None:
        while self.tracker.gated:
            await asyncio.sleep(RESYNC_RETRY_S)
            if self.tracker.gated:
                self._publish(topics.ack(self.name), ask)

    def answer_ack(self, topic: str, ack: Ack) -> None:
        """An acknowledgement from another actor: drop what it has, or re-send what it asks for."""
        assert self.outbox is not None
        acker = topic[len(topics.ACK_PREFIX) :]
        if not ack.resync:
            self.outbox.acknowledge(acker, ack.upto)
            return
        frames = self.outbox.after(acker, ack.upto)
        self._publish(topics.RESYNC, Resync(acker=acker, after_tick=-1, frames=len(frames), upto=ack.upto))
        for frame in frames:
            self._resend(frame)
        self.repeat_ack()
        self.log.info("%s resynced after %d: re-sent %d frames", acker, ack.upto, len(frames))
