"""What each actor of a running topology cost: CPU seconds between two moments, and peak RSS.

`mark()` reads every actor's CPU time (user + system) now — call it when the work to be measured
is about to start; `read()` reads them again and each actor's VmHWM (the kernel's own high-water
mark of its resident memory, so nothing needs sampling in between). Two status requests in all:
the watcher does not compete with the topology for the cores it measures.
"""

from __future__ import annotations

import psutil


class ActorWatcher:
    def __init__(self, daemon):
        self.daemon = daemon
        self._baseline: dict[int, float] = {}
        self.cpu_s: dict[str, float] = {}
        self.peak_rss_mb: dict[str, float] = {}

    def mark(self, names: set[str] | None = None) -> None:
        """Baseline CPU of the named actors (all when None); a later mark of others adds theirs."""
        for actor in self.daemon.status().actors:
            if actor.pid and (names is None or actor.name in names):
                cpu = _cpu_s(actor.pid)
                if cpu is not None:
                    self._baseline[actor.pid] = cpu

    def read(self) -> None:
        for actor in self.daemon.status().actors:
            if not actor.pid:
                continue
            cpu, peak = _cpu_s(actor.pid), _vm_hwm_mb(actor.pid)
            if cpu is not None:
                self.cpu_s[actor.name] = cpu - self._baseline.get(actor.pid, 0.0)
            if peak is not None:
                self.peak_rss_mb[actor.name] = peak


def _cpu_s(pid: int) -> float | None:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
