"""Which frames to take: duplicates dropped, gaps counted, restarted publishers and resyncs understood.

Consumes (publisher, topic, epoch, seq) of every frame; produces a verdict. Per (publisher, topic)
it remembers the epoch (the publisher's lineage) and the last seq taken:
- same epoch, seq at or below the last: a duplicate (a frame re-sent, or repeated by a publisher
  that resumed from its checkpoint) — dropped;
- same epoch, seq beyond last + 1: taken, and the missing ones counted as a gap;
- another epoch: a publisher that started afresh — taken, counting starts again.
Resync gates: an actor that restarted asks its sources to re-send what it has not handled; until
a source's `Resync` marker for it arrives, that source's data frames are dropped (they are all
re-sent after the marker; taking newer ones first would make the re-sent ones look like
duplicates), and its counting starts again at the marker.
"""

from __future__ import annotations

ACCEPT, DUPLICATE, GATED = "accept", "duplicate", "gated"


class SequenceTracker:
    def __init__(self) -> None:
        self.last: dict[tuple[str, str], tuple[int, int]] = {}  # (src, topic) -> (epoch, seq)
        self.gaps = 0
        self.duplicates = 0
        self.gated: set[str] = set()
        self.restarted_publishers: list[tuple[str, str, int, int]] = []  # (src, topic, last seq, new seq)

    def check(self, src: str, topic: str, epoch: int, seq: int, data: bool) -> str:
        if data and src in self.gated:
            return GATED
        key = (src, topic)
        seen = self.last.get(key)
        if seen is None or seen[0] != epoch:
            if seen is not None and seq != 1:
                self.restarted_publishers.append((src, topic, seen[1], seq))
            self.last[key] = (epoch, seq)
            return ACCEPT
        last = seen[1]
        if seq <= last:
            self.duplicates += 1
            return DUPLICATE
        if seq != last + 1:
            self.gaps += seq - last - 1
        self.last[key] = (epoch, seq)
        return ACCEPT

    def gate(self, sources: set[str]) -> None:
        """Drop these sources' data frames until each one's resync marker arrives."""
        self.gated |= sources

    def open(self, src: str) -> bool:
        """`src`'s marker arrived: take its frames again, counting afresh. True if it was gated."""
        if src not in self.gated:
            return False
        self.gated.discard(src)
        for key in [key for key in self.last if key[0] == src]:
            del self.last[key]
        return True
