"""Data frames an actor published, kept until every acknowledger has handled them; re-sent on request.

Consumes the frames an actor publishes on data topics, each with its position (the bar time of
the feed's chunk it belongs to), and the acknowledgements (`Ack(upto=position)`) of the replay's
acknowledgers; produces the frames to re-send to an acknowledger that restarted and asked for
everything after its checkpoint. A frame is dropped once every acknowledger but the actor itself
has acknowledged its position, so memory is bounded by the feed's credit window.

Kept frames outlive the actor: at each checkpoint the frames kept since the last one are saved
beside it and the ones every acknowledger has are deleted (`storage.checkpoints`); restarted, the
actor loads the saved frames up to its checkpoint again — a slower acknowledger that asks for them
later still gets them, though the actor that sent them was killed in between.
"""

from __future__ import annotations

from collections import deque


class Outbox:
    def __init__(self, ackers: list[str], me: str):
        self.acked = {name: -1 for name in ackers if name != me}
        self.frames: deque[tuple[int, bytes]] = deque()
        self.unsaved: list[tuple[int, bytes]] = []  # kept since the last checkpoint

    def keep(self, position: int, frame: bytes) -> None:
        self.frames.append((position, frame))
        self.unsaved.append((position, frame))

    def take_unsaved(self) -> tuple[list[tuple[int, bytes]], int]:
        """(frames kept since the last call, the position every acknowledger has) for a checkpoint."""
        unsaved, self.unsaved = self.unsaved, []
        return unsaved, min(self.acked.values(), default=-1)

    def load(self, frames: list[tuple[int, bytes]]) -> None:
        """A restarted actor's saved frames, oldest first, kept again."""
        self.frames.extend(frames)

    def acknowledge(self, acker: str, upto: int) -> None:
        if acker not in self.acked or upto <= self.acked[acker]:
            return
        self.acked[acker] = upto
        slowest = min(self.acked.values())
        while self.frames and self.frames[0][0] <= slowest:
            self.frames.popleft()

    def after(self, acker: str, upto: int) -> list[bytes]:
        """Every kept frame after `upto` (the acknowledger restarted from there)."""
        if acker in self.acked:
            self.acked[acker] = upto
        return [frame for position, frame in self.frames if position > upto]

    def __len__(self) -> int:
        return len(self.frames)
