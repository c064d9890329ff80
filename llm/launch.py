"""`python -m llm.launch PARENT_PID COMMAND...`: run COMMAND so that it dies with its parent.

Sets PR_SET_PDEATHSIG(SIGKILL) and then execs COMMAND (the setting survives exec), so a llama.cpp
server never outlives its llm_supervisor, even after a kill -9 of the supervisor. The parent's pid
comes on the command line: a parent killed before the setting took effect is seen (our parent is
then no longer PARENT_PID) and nothing is started.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        sys.exit("usage: python -m llm.launch PARENT_PID COMMAND [ARGS...]")
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != int(sys.argv[1]):
        sys.exit(f"llm.launch: the parent {sys.argv[1]} exited before the server started")
    os.execvp(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
