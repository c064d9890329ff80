"""Per-bar reference implementations (the code before the redesign), kept as test oracles: each
vectorised kernel, model and the chunk broker must equal them bar for bar."""

from typing import NamedTuple


class Bar(NamedTuple):
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Vote(NamedTuple):
    action: str | None
    confidence: float
    reason: str
