"""crashing_actor: a test-only actor that fails on start-up, every time.

Consumes nothing; produces nothing but a `RuntimeError` in `on_start`, so the supervisor's
restart budget is spent and the daemon must give up loudly.
"""

from __future__ import annotations

from actors.base import Actor
from actors.runtime.entry import main


class CrashingActor(Actor):
    async def on_start(self) -> None:
        raise RuntimeError("refusing to start: this actor always crashes (test)")


if __name__ == "__main__":
    main(CrashingActor)
