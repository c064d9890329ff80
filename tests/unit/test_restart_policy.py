"""Restart decisions: which exits restart, R restarts in P seconds, doubling capped backoff."""

from __future__ import annotations

from common.restart_policy import RestartBudget, should_restart


def test_permanent_restarts_always_transient_only_after_failure_temporary_never():
    assert should_restart("permanent", 0, killed_by_supervisor=False)
    assert should_restart("permanent", -9, killed_by_supervisor=False)
    assert not should_restart("transient", 0, killed_by_supervisor=False)
    assert should_restart("transient", 1, killed_by_supervisor=False)
    assert should_restart("transient", 0, killed_by_supervisor=True)
    assert not should_restart("temporary", 1, killed_by_supervisor=False)


def test_budget_allows_r_restarts_in_p_seconds_with_doubling_backoff():
    budget = RestartBudget(max_restarts=3, period_s=10.0, backoff_initial_s=0.1, backoff_max_s=0.3)
    assert [budget.next_delay(now) for now in (0.0, 1.0, 2.0)] == [0.1, 0.2, 0.3]
    assert budget.next_delay(3.0) is None


def test_budget_forgets_restarts_older_than_the_period():
    budget = RestartBudget(max_restarts=2, period_s=10.0, backoff_initial_s=1.0, backoff_max_s=60.0)
    assert budget.next_delay(0.0) == 1.0
    assert budget.next_delay(5.0) == 2.0
    assert budget.next_delay(9.0) is None
    assert budget.next_delay(10.5) == 2.0  # the restart at 0.0 has left the window; 5.0 is still in it
