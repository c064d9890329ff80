"""The supervisor daemon: broker, control socket and process table in one asyncio process.

`daemon` puts them together; `broker` forwards the bus (XSUB/XPUB); `process_table` keeps each
actor's process alive under the restart policy (`common.restart_policy`); `run_directory` guards the
private directory whose layout `bus.runtime` names.
"""

from supervisor.daemon.daemon import Daemon

__all__ = ["Daemon"]
