"""OTP-style restart decisions: which exits restart, the budget R in P seconds, the backoff.

Consumes a restart kind and the exits of a process; produces "restart after this delay" or "leave
it stopped" (the caller raises `RestartBudgetExceeded` when the budget is spent). Pure logic on an
injected clock, so it is unit-tested alone; the daemon uses it for actors, llm_supervisor for the
llama.cpp server — part of the contract both sides share, hence here, below both.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

RestartKind = Literal["permanent", "transient", "temporary"]
GAVE_UP_EXIT = 65  # EX_DATAERR: the process met input a restart would meet again (`messages.errors.PeperError`)


def should_restart(kind: RestartKind, returncode: int, killed_by_supervisor: bool) -> bool:
    """permanent: always; transient: unless it exited 0 by itself; temporary: never; and none that gave up."""
    if kind == "temporary" or (returncode == GAVE_UP_EXIT and not killed_by_supervisor):
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
        delay = min(self.backoff_max_s, self.backoff_initial_s * 2.0 ** len(self._restart_times))
        self._restart_times.append(now)
        return delay
