"""Watch a running topology's actors: peak RSS (VmHWM) and CPU seconds, sampled every 50 ms."""

from __future__ import annotations

import threading

import psutil


class ActorWatcher:
    def __init__(self, daemon):
        self.daemon = daemon
        self.peak_rss_mb: dict[str, float] = {}
        self.cpu_s: dict[str, float] = {}
        self._cpu_by_pid: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ActorWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        for name, cpu in self._cpu_by_pid.values():
            self.cpu_s[name] = self.cpu_s.get(name, 0.0) + cpu

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            try:
                actors = self.daemon.status().actors
            except Exception:  # the daemon may be stopping; sampling is best effort
                continue
            for actor in actors:
                if not actor.pid:
                    continue
                try:
                    process = psutil.Process(actor.pid)
                    times = process.cpu_times()
                    peak = _vm_hwm_mb(actor.pid)
                except (psutil.Error, OSError):
                    continue
                self._cpu_by_pid[actor.pid] = (actor.name, times.user + times.system)
                if peak is not None:
                    self.peak_rss_mb[actor.name] = max(self.peak_rss_mb.get(actor.name, 0.0), peak)


def _vm_hwm_mb(pid: int) -> float | None:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None
