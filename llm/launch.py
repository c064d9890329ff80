"""`python -m llm.launch COMMAND...`: run COMMAND so that it dies with the process that started it.

Sets PR_SET_PDEATHSIG(SIGKILL) and then execs COMMAND (the setting survives exec), so a llama.cpp
server never outlives its llm_supervisor, even after a kill -9 of the supervisor.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m llm.launch COMMAND [ARGS...]")
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        sys.exit("llm.launch: the parent exited before the server started")
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
