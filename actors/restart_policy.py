"""OTP-style restart decisions: which exits restart, the budget R in P seconds, the backoff.

Consumes a restart kind and the exits of a process; produces "restart after this delay", "leave
it stopped" or `RestartBudgetExceeded`. Pure logic on an injected clock, so it is unit-tested
alone; the supervisor uses it for actors and llm_supervisor for the llama.cpp server.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

RestartKind = Literal["permanent", "transient", "temporary"]


class RestartBudgetExceeded(Exception):
    def __init__(self, actor: str, restarts: int, period_s: float, last_error: str):
        self.actor = actor
        self.last_error = last_error
        super().__init__(
            f"actor {actor!r} exceeded its restart budget ({restarts} restarts in {period_s:g} s); "
            f"last error: {last_error or 'none reported'}"
        )


def should_restart(kind: RestartKind, returncode: int, killed_by_supervisor: bool) -> bool:
    """permanent: always; transient: unless it exited 0 by itself; temporary: never."""
    if kind == "temporary":
        return False
    if kind == "transient":
        return returncode != 0 or killed_by_supervisor
    return True


class RestartBudget:
    """At most `max_restarts` restarts within any `period_s`; delays double up to `backoff_max_s`."""

    def __init__(self, max_restarts: int, period_s: float, backoff_initial_s: float, backoff_max_s: float):
        self.max_restarts = max_restarts
        self.period_s = period_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._restart_times: deque[float] = deque()

    def next_delay(self, now: float) -> float | None:
        """Record a restart at `now` and return its delay, or None when the budget is spent."""
        while self._restart_times and now - self._restart_times[0] > self.period_s:
            self._restart_times.popleft()
        if len(self._restart_times) >= self.max_restarts:
            return None
        delay = min(self.backoff_max_s, self.backoff_initial_s * 2 ** len(self._restart_times))
        self._restart_times.append(now)
        return delay
