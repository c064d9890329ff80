"""The stamp of what an actor publishes: a seq per topic, and the epoch (lineage) of each frame.

Consumed by `Actor.publish` (which stamps every frame) and `actors.runtime.recovery` (a checkpoint
saves the data topics' seqs and epoch; a restart takes them back, so what the actor publishes again
repeats what it published before, seq for seq). Control topics carry the process's own epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from messages import topics


@dataclass
class Lineage:
    process_epoch: int  # this process's start (ns): the epoch of its control frames
    data_epoch: int  # the lineage of its data topics; a checkpoint restores it
    seqs: dict[str, int] = field(default_factory=dict)

    def stamp(self, topic: str) -> tuple[int, int]:
        """The next seq of `topic` (counted) and the epoch its frame carries."""
        seq = self.seqs.get(topic, 0) + 1
        self.seqs[topic] = seq
        return seq, self.data_epoch if topics.is_data(topic) else self.process_epoch

    def data_seqs(self) -> dict[str, int]:
        """The seqs of the data topics: what a checkpoint keeps."""
        return {topic: seq for topic, seq in self.seqs.items() if topics.is_data(topic)}
