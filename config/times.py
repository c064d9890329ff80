"""Times as users write them and as Peper stores them: ISO dates or datetimes (UTC) <-> ms since the epoch.

Consumes strings like `2021-04-02` or `2021-04-02T12:00` (UTC unless they say otherwise);
produces integer milliseconds, or `SourceError` naming the text and an example of what is meant.
"""

from __future__ import annotations

from datetime import UTC, datetime

from messages.errors import SourceError

DAY_MS = 86_400_000


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
