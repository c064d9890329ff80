"""An actor's lifecycle as a transition table: starting -> running -> stopping -> stopped, or faulted.

Consumes requested transitions; produces the new state, or `RuntimeError` for one the table does
not allow (a broken invariant). Every transition is published on `sys.lifecycle` by the actor.
"""

from __future__ import annotations

from messages.system import LifecycleState

TRANSITIONS: dict[str, frozenset[str]] = {
    "starting": frozenset({"running", "stopping", "faulted"}),
    "running": frozenset({"stopping", "faulted"}),
    "stopping": frozenset({"stopped", "faulted"}),
}


class Lifecycle:
    def __init__(self) -> None:
        self.state: LifecycleState = "starting"

    def move(self, state: LifecycleState) -> LifecycleState:
        if state != self.state and state not in TRANSITIONS.get(self.state, frozenset()):
            raise RuntimeError(f"lifecycle cannot go from {self.state} to {state}")
        self.state = state
        return state
