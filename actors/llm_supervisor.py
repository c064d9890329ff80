"""llm_supervisor: owns the llama.cpp server (the seed's MistralServerManager), keeps it healthy.

Consumes nothing from the bus; produces `llm.status` (`LlmStatus`: starting / ready / degraded /
down, restarts, last error, probe latency p50/p99 in ms) at every change, after every probe and
every second in between (late subscribers learn the state at once).
Config: `[mistral]`.

It refuses clearly — status `down` with the reason, checked again every health interval — when
the model file is missing or the port is taken by another process. A start that fails (a corrupt
model: the server exits, or is not ready in time) counts against the restart budget like a crash.
`LlmStatus.retrying` says whether a `down` server will be started again (so a replay's mistral_ai
waits for it) or not (refused, or the budget spent: it abstains). Every
`health_check_interval_s` it probes (liveness and a one-token completion). It restarts the server
when it exits, hangs (a probe with no answer within `probe_timeout_s` while the server used
almost no CPU — a SIGSTOPped or deadlocked one) or fails
`probe_failures_to_restart` probes in a row, with exponential backoff and a budget of
`max_restarts` in `restart_period_s`; past the budget it stays down. The server runs in its own
process group and dies with this actor; on stop it gets SIGTERM, then SIGKILL.

llama.cpp's server answers one request at a time and no probe while it generates, so a probe
that times out while the server burns CPU is a busy server, not a hung one (counted as
`busy_probes`): it is restarted only once it has answered nothing for `probe_timeout_s` plus
`[mistral_ai] request_timeout_s`, longer than any answer mistral_ai still waits for.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from actors.base import Actor
from actors.runtime.entry import main
from common.restart_policy import RestartBudget
from llm.server import LlmServer, ProbeFailed, ServerRefused, StartFailed
from messages import topics
from messages.counters import LlmSupervisorCounters, bump
from messages.llm import LlmStatus

STATUS_REPEAT_S = 1.0
BUSY_CPU_SHARE = 0.1  # CPU seconds per second of a timed-out probe above which the server was working


class LlmSupervisor(Actor):
    Counters = LlmSupervisorCounters

    async def on_start(self) -> None:
        config = self.config.mistral
        self.server = LlmServer(config)
        self.busy_limit_s = config.probe_timeout_s + self.config.mistral_ai.request_timeout_s
        self.budget = RestartBudget(
            config.max_restarts, config.restart_period_s, config.backoff_initial_s, config.backoff_max_s
        )
        self.latencies: deque[float] = deque(maxlen=100)
        self.restarts = 0
        self.last_error = ""
        self.status_state = "starting"
        self.retrying = False

    async def on_running(self) -> None:
        self.spawn(self._supervise(), "supervise")
        self.spawn(self._repeat_status(), "repeat-status")

    async def _repeat_status(self) -> None:
        """llm.status is a state: repeat it every second, so a subscriber that joins late learns it."""
        while True:
            await asyncio.sleep(STATUS_REPEAT_S)
            self._publish(self.status_state)

    def _publish(self, state: str, error: str | None = None, retrying: bool | None = None) -> None:
        if error is not None:
            self.last_error = error
        if retrying is not None:
            self.retrying = retrying
        self.status_state = state
        ordered = sorted(self.latencies)
        p50 = ordered[len(ordered) // 2] if ordered else None
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else None
        self.publish(
            topics.LLM_STATUS,
            LlmStatus(
                state=state,
                restarts=self.restarts,
                last_error=self.last_error,
                latency_p50_ms=p50,
                latency_p99_ms=p99,
                retrying=self.retrying and state == "down",
            ),
        )
        bump(self.counters.states, state)

    async def _supervise(self) -> None:
        interval = self.config.mistral.health_check_interval_s
        while True:
            self._publish("starting")
            try:
                seconds = await self.server.start()
            except ServerRefused as exc:  # not a crash: check again every health interval
                if str(exc) != self.last_error:
                    self.log.error("LLM server refused: %s (checking again every %g s)", exc, interval)
                self._publish("down", str(exc), retrying=False)
                await asyncio.sleep(interval)
                continue
            except StartFailed as exc:
                self.log.warning("LLM server failed to start: %s", exc)
                self.counters.failed_starts += 1
                self._publish("down", str(exc), retrying=True)
                await self.server.stop()
                if not await self._back_off():
                    return
                continue
            self.log.info("LLM server ready in %.2f s at %s", seconds, self.server.base_url)
            self.counters.start_to_ready_ms = int(seconds * 1000)
            self._publish("ready", "")
            reason = await self._watch(interval)
            self.log.warning("restarting the LLM server: %s", reason)
            self._publish("down", reason, retrying=True)
            await self.server.stop()
            if not await self._back_off():
                return

    async def _watch(self, interval: float) -> str:
        """Probe until the server must be restarted; return why."""
        failures = 0
        silent_since: float | None = None  # when the server, busy, last left a probe unanswered
        while True:
            exit_waiter = asyncio.ensure_future(self.server.child.wait())
            done, _ = await asyncio.wait({exit_waiter}, timeout=interval)
            exit_waiter.cancel()
            if done or not self.server.running():
                return f"the server exited (status {self.server.child.returncode}): {self.server.child.last_line()}"
            asked, cpu_before = time.monotonic(), self.server.cpu_seconds()
            try:
                latency = await self.server.probe()
            except ProbeFailed as exc:
                if exc.hung:
                    waited = time.monotonic() - asked
                    working = self.server.cpu_seconds() - cpu_before >= BUSY_CPU_SHARE * waited
                    silent_since = silent_since if silent_since is not None else asked
                    silent = time.monotonic() - silent_since
                    if working and silent < self.busy_limit_s:
                        self.counters.busy_probes += 1
                        continue
                    self.counters.failed_probes += 1
                    return f"hung: {exc}" + (f", and nothing answered for {silent:.0f} s" if working else "")
                failures += 1
                self.counters.failed_probes += 1
                if failures >= self.config.mistral.probe_failures_to_restart:
                    return f"{failures} failed probes in a row: {exc}"
                self._publish("degraded", str(exc))
                continue
            failures, silent_since = 0, None
            self.counters.probes += 1
            self.latencies.append(latency)
            self._publish("ready")

    async def _back_off(self) -> bool:
        delay = self.budget.next_delay(time.monotonic())
        if delay is None:
            message = f"restart budget spent ({self.budget.max_restarts} restarts in {self.budget.period_s:g} s): {self.last_error}"
            self.log.error("giving up on the LLM server: %s", message)
            self._publish("down", message, retrying=False)
            return False
        self.restarts += 1
        self.counters.restarts = self.restarts
        await asyncio.sleep(delay)
        return True

    async def on_stop(self) -> None:
        await self.server.stop()


if __name__ == "__main__":
    main(LlmSupervisor)
