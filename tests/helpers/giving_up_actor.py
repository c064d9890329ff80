"""giving_up_actor: a test-only actor whose background task meets input a restart would meet again
while another of its tasks is using the bus.

Consumes nothing; produces its own hello frames from a busy task (one per turn of the event loop)
until a second task raises `SourceError` — the actor must stop its tasks before it closes its
sockets, so its last line is that error and nothing a closed socket would say after it.
"""

from __future__ import annotations

import asyncio

from actors.base import Actor
from actors.runtime.entry import main
from messages import topics
from messages.errors import SourceError
from messages.system import Hello

TURNS_BEFORE_THE_ERROR = 50


class GivingUpActor(Actor):
    async def on_running(self) -> None:
        self.spawn(self._busy(), "busy")
        self.spawn(self._fail(), "fail")

    async def _busy(self) -> None:
        hello = Hello(actor=self.name)
        while True:
            await asyncio.sleep(0)
            self.publish(topics.hello(self.name), hello)

    async def _fail(self) -> None:
        for _ in range(TURNS_BEFORE_THE_ERROR):
            await asyncio.sleep(0)
        raise SourceError("test.csv: line 7: 2 fields, expected at least 6 (test)")


if __name__ == "__main__":
    main(GivingUpActor)
