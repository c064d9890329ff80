"""How an actor survives its own restart and helps others survive theirs, without losing or repeating anything.

Mixed into `actors.base.Actor`. Consumes the actor's store (`[database] path` of its host), its
checkpoints (in their own environment beside it, `storage.checkpoints`), and acknowledgements;
produces checkpoints, resync requests and re-sent frames:
- `checkpoint(upto, state)`: the actor's state at bar time `upto`, its lineage (epoch) and the
  seqs of its data topics, committed, then `upto` acknowledged — so whatever comes after it is
  still kept upstream;
- `restore()`: after a restart, this run's newest checkpoint, lineage and seqs taken back, so what
  the actor publishes again repeats what it published before, seq for seq, and receivers drop it;
- `request_resync(upto, sources)`: ask the sources for every data frame after `upto`, dropping
  their frames until each one's `Resync` marker (the gates in `actors.runtime.sequence`);
- answering acknowledgements: an actor with an outbox drops what every acknowledger has, and
  re-sends, after a marker, what a restarted one asks for.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from messages import topics
from messages.errors import StoreError
from messages.system import Ack, Resync
from storage.checkpoints import Checkpoint, checkpoint_path, read_checkpoint, write_checkpoint
from storage.store import Store

RESYNC_RETRY_S = 1.0


class Recovery:
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
            self._checkpoints = Store(checkpoint_path(Path(database.path)), map_size_mb=database.map_size_mb,
                                      durable=False)
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
            self.restored = found
        return found

    def checkpoint(self, upto: int, state: bytes, journal: tuple[int, bytes] | None = None,
                   keep_journal_from: int | None = None) -> None:
        """Write the state reached at bar time `upto`, then acknowledge `upto`."""
        data_seqs = {topic: seq for topic, seq in self.seqs.items() if topics.is_data(topic)}
        write_checkpoint(self.checkpoint_store(), self.name,
                         Checkpoint(run_id=self.run_id, upto=upto, epoch=self.data_epoch, seqs=data_seqs, state=state),
                         journal, keep_journal_from)
        self.acknowledge(upto)

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
        acker = topic[len(topics.ACK_PREFIX):]
        if not ack.resync:
            self.outbox.acknowledge(acker, ack.upto)
            return
        frames = self.outbox.after(acker, ack.upto)
        self.publish(topics.RESYNC, Resync(acker=acker, after_tick=-1, frames=len(frames), upto=ack.upto))
        for frame in frames:
            self.resend(frame)
        self.log.info("%s resynced after %d: re-sent %d frames", acker, ack.upto, len(frames))

