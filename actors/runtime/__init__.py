"""The actor runtime in small parts; `actors.base.Actor` puts them together.

`lifecycle` (the state machine), `sequence` (duplicates, gaps, lineages and resync gates: pure),
`outbox` (data frames kept until every acknowledger has them: pure), `sockets` (the bus's
sockets, the own-hello probe and the receive loop), `heartbeat` (the control socket's beat),
`entry` (the process entry point `python -m actors.<name> --run-dir DIR`).
"""
