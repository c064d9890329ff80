"""The actor's background tasks: started by name, the first failure fails the actor, cancelled together.

Consumes coroutines (`spawn`) and the actor's stop event; produces tasks that `wait` watches until
the stop is requested — raising the exception of the first task that failed — and `cancel` ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Tasks:
    def __init__(self, owner: str):
        self.owner = owner
        self._running: list[asyncio.Task[Any]] = []

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine, name=f"{self.owner}.{name}")
        self._running.append(task)
        return task

    async def wait(self, stopping: asyncio.Event) -> None:
        """Until `stopping` is set; a task that failed meanwhile raises its exception here."""
        stop_waiter = asyncio.ensure_future(stopping.wait())
        try:
            while not stopping.is_set():
                pending = [task for task in self._running if not task.done()]
                done, _ = await asyncio.wait([stop_waiter, *pending], return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not stop_waiter and not task.cancelled() and (error := task.exception()) is not None:
                        raise error
                self._running = [task for task in self._running if not task.done()]
        finally:
            stop_waiter.cancel()

    async def cancel(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._running.clear()
