"""Times and durations as users write them and as Peper stores them.

Consumes ISO dates or datetimes (`2021-04-02`, `2021-04-02T12:00`, UTC unless they say otherwise)
and durations (`"5m"`, `"4h"`, `"30d"`, `"2w"`: a positive count of minutes, hours, days or weeks);
produces integer milliseconds since the epoch, or `SourceError` naming the text and an example of
what is meant. `Duration` is the config's type for every period written in time, so a setting means
the same at any bar interval; `INTERVAL_MS` names the Binance kline intervals Peper reads and trades.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from msgspec import Meta

from messages.errors import SourceError

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
UNIT_MS = {"m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS, "w": 7 * DAY_MS}
DURATION_PATTERN = r"^[1-9][0-9]*(m|h|d|w)$"
Duration = Annotated[str, Meta(pattern=DURATION_PATTERN, description='a period in time: "5m", "4h", "30d", "2w"')]
INTERVAL_MS = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
}
_DURATION = re.compile(DURATION_PATTERN)


def duration_ms(text: str) -> int:
    """A duration (`"4h"`, `"30d"`) in ms."""
    if not _DURATION.match(text):
        raise SourceError(f'duration {text!r}: expected a count and a unit m, h, d or w (e.g. "4h" or "30d")')
    return int(text[:-1]) * UNIT_MS[text[-1]]


def interval_name(interval_ms: int) -> str:
    """The Binance name of an interval ("4h"), or its length in minutes."""
    return next((name for name, ms in INTERVAL_MS.items() if ms == interval_ms), f"{interval_ms // MINUTE_MS}m")


def in_bars(text: str, interval_ms: int) -> int:
    """How many bars of `interval_ms` a duration spans (at least 1)."""
    return max(1, round(duration_ms(text) / interval_ms))


def parse_time(text: str) -> int:
    """An ISO date or datetime (UTC unless it says otherwise) as ms since the epoch."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SourceError(f"time {text!r}: not an ISO date or datetime (e.g. 2021-04-02 or 2021-04-02T12:00)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def iso(ms: int) -> str:
    """ms since the epoch as a short ISO date (midnight) or date and minute, UTC."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%d" if moment.hour == moment.minute == 0 else "%Y-%m-%dT%H:%M")
