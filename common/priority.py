"""CPU priority of the daemon's and the actors' processes and threads: niceness and realtime scheduling.

Consumes the priorities `config.topology` resolves (`niceness`, `realtime_priority`); produces
them on the calling process or thread, or a warning naming what was refused (a negative niceness
or realtime scheduling needs root or CAP_SYS_NICE): the actor then runs at the default priority.
The daemon probes realtime once (`realtime_io_threads`); refused, it runs the whole live path
ordinary after one warning instead of one from each actor.

Realtime (SCHED_FIFO) is for the live path from a closing frame to its decision: such a process
runs as soon as a frame wakes it instead of queueing behind the recorder and the learner for a
core. Work an actor hands to a thread (training a model, hashing a file, writing a batch) is not on
that path: `ordinary_threads` gives the event loop an executor whose threads drop realtime first,
and LightGBM's OpenMP workers, started from them, inherit that. Linux keeps 5 % of each core for
ordinary tasks whatever runs realtime (`sched_rt_runtime_us`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import zmq


def take_priority(log: logging.Logger, nice: int, realtime: int) -> None:
    """This process (and every thread it starts later): `nice`, then SCHED_FIFO at `realtime` (0: ordinary)."""
    if nice:
        try:
            os.nice(nice)
        except OSError as exc:
            log.warning("cannot take niceness %d (%s); running at the default", nice, exc)
    if realtime:
        take_realtime(log, realtime)


def take_realtime(log: logging.Logger, priority: int) -> None:
    """The calling thread (and the threads it starts later) at SCHED_FIFO `priority`, else a warning."""
    refused = _fifo(priority)
    if refused is not None:
        log.warning("cannot take realtime priority %d (%s); running at the ordinary one", priority, refused)


def _fifo(priority: int) -> OSError | None:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except OSError as exc:
        return exc
    return None


def drop_realtime() -> None:
    """The calling thread back to ordinary scheduling (its niceness stays)."""
    if os.sched_getscheduler(0) in (os.SCHED_FIFO, os.SCHED_RR):
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def ordinary_threads() -> None:
    """The running loop's default executor (`asyncio.to_thread`): threads that drop realtime first."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(initializer=drop_realtime))


def realtime_permitted(priority: int) -> bool:
    """Whether this process may run a thread SCHED_FIFO at `priority`: tried on a thread of its own."""
    found: list[bool] = []
    thread = threading.Thread(target=lambda: found.append(_fifo(priority) is None), name="realtime-probe")
    thread.start()
    thread.join()
    return found[0]


def realtime_io_threads(log: logging.Logger, context: zmq.Context[Any], priority: int) -> bool:
    """The context's libzmq I/O threads, started with its first socket, at SCHED_FIFO `priority` —
    only when permitted (libzmq aborts the whole process when it cannot apply what it was told);
    False, after a warning, when not."""
    if not realtime_permitted(priority):
        log.warning(
            "realtime priority %d is not permitted here (it needs root or CAP_SYS_NICE): the live path "
            "from a frame to its decision runs at the ordinary priority",
            priority,
        )
        return False
    context.set(zmq.THREAD_SCHED_POLICY, os.SCHED_FIFO)
    context.set(zmq.THREAD_PRIORITY, priority)
    return True
