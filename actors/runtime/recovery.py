"""How an actor survives its own restart and helps others survive theirs, without losing or repeating anything.

Mixed into `actors.base.Actor`. Consumes the actor's store (`[database] path` of its host), its
checkpoints (in their own environment beside it, `storage.checkpoints`), and acknowledgements;
produces checkpoints, resync requests and re-sent frames:
- `checkpoint(upto, state)`: the actor's state at bar time `upto`, its lineage (epoch) and the
  seqs of its data topics, committed, then `upto` acknowledged — so whatever comes after it is
  still kept upstream;
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
from pathlib import Path
from typing import Any

from messages import topics
from messages.errors import StoreError
from messages.system import Ack, Resync
from storage.checkpoints import Checkpoint, checkpoint_path, read_checkpoint, read_outbox, write_checkpoint
from storage.store import Store

RESYNC_RETRY_S = 1.0


class Recovery:
    acked_upto: int | None = None  # the last bar time this actor acknowledged
    acknowledges = True  # its checkpoints are acknowledged (not the feed's: it is acknowledged)

    def own_store(self) -> Store:
        """The store of this host (`[database] path`) that holds this actor's own databases —
        lgbm_ai's models, mistral_ai's cache, rl_learner's weights — opened once."""
        if self._own_store is None:
            database = self.config.database
            self._own_store = Store(Path(database.path), map_size_mb=database.map_size_mb)
        return self._own_store

    def checkpoint_store(self) -> Store:
        """The checkpoints' own environment beside the store, committed without fsync
        (`storage.checkpoints`), opened once."""
        if self._checkpoints is None:
            database = self.config.database
            self._checkpoints = Store(
                checkpoint_path(Path(database.path)), map_size_mb=database.map_size_mb, durable=False
            )
        return self._checkpoints

    def restore(self) -> Checkpoint | None:
        """After a restart: this run's newest checkpoint, its lineage and seqs taken back; else None."""
        if not self.restarts or not self.replay:
            return None
        try:
            found = read_checkpoint(self.checkpoint_store(), self.name, self.run_id)
        except StoreError as exc:
            self.log.warning("restarted, but no checkpoint could be read (%s); starting from nothing", exc)
            return None
        if found is not None:
            self.data_epoch = found.epoch
            self.seqs.update(found.seqs)
            self.acked_upto = found.upto if self.acknowledges else None  # acknowledged before the kill
            self.restored = found
            if self.outbox is not None and self.durable_outbox:
                self.outbox.load(read_outbox(self.checkpoint_store(), self.name, found.upto))
        return found

    def resend_kept(self) -> None:
        """Publish again, in order, every frame restored with the checkpoint, then its acknowledgement."""
        if self.restored is None or self.outbox is None or not len(self.outbox):
            return
        for _, frame in self.outbox.frames:
            self.resend(frame)
        self.repeat_ack()
        self.log.info("restarted: re-sent the %d frames kept at the checkpoint", len(self.outbox))

    def checkpoint(
        self, upto: int, state: bytes, journal: tuple[int, bytes] | None = None, keep_journal_from: int | None = None
    ) -> None:
        """Write the state reached at bar time `upto`, then (an acknowledger) acknowledge `upto`."""
        data_seqs = {topic: seq for topic, seq in self.seqs.items() if topics.is_data(topic)}
        saved = self.outbox.take_unsaved() if self.outbox is not None and self.durable_outbox else None
        write_checkpoint(
            self.checkpoint_store(),
            self.name,
            Checkpoint(run_id=self.run_id, upto=upto, epoch=self.data_epoch, seqs=data_seqs, state=state),
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
            self.publish(topics.ack(self.name), Ack(upto=upto, ts_event=max(upto, 0), **fields))

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
        self.publish(topics.ack(self.name), ask)
        self.spawn(self._repeat_resync(ask), "resync")

    async def _repeat_resync(self, ask: Ack) -> None:
        while self.tracker.gated:
            await asyncio.sleep(RESYNC_RETRY_S)
            if self.tracker.gated:
                self.publish(topics.ack(self.name), ask)

    def _answer_ack(self, topic: str, ack: Ack) -> None:
        acker = topic[len(topics.ACK_PREFIX) :]
        if not ack.resync:
            self.outbox.acknowledge(acker, ack.upto)
            return
        frames = self.outbox.after(acker, ack.upto)
        self.publish(topics.RESYNC, Resync(acker=acker, after_tick=-1, frames=len(frames), upto=ack.upto))
        for frame in frames:
            self.resend(frame)
        self.repeat_ack()
        self.log.info("%s resynced after %d: re-sent %d frames", acker, ack.upto, len(frames))
