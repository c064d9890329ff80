"""LMDB storage shared by the recorder, replays, exports and analytics (DESIGN.md §6).

`store.Store` opens one environment with its named databases and checks the schema version;
`stream` writes and range-scans recorded bus messages; `backup` makes rotated hot copies.
Imports `messages` only.
"""


class StoreError(Exception):
    """An LMDB environment cannot be used; the message names the path and the reason."""
