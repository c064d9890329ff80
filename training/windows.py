"""The train, validation and test windows of a training run, checked against the data.

Consumes the window flags (ISO times, any of them may be missing), `[test]` (`validation_days`,
`test_period_days`) and the span of the kline source; produces three `Window`s that follow each
other in time, or `WindowError` naming the window and what is wrong with it (empty, overlapping,
out of order, outside the data). Missing flags are filled from the end of the data backwards:
test = the last `test_period_days`, validation = the `validation_days` before it, training =
everything earlier; a window with only its end given starts where the one before ends.
"""

from __future__ import annotations

import msgspec

from config.schema import TestConfig
from config.times import DAY_MS, iso, parse_time
from messages.errors import SourceError, WindowError

KINDS = ("train", "validate", "test")


class Window(msgspec.Struct, frozen=True):
    kind: str
    start: int  # ms UTC, inclusive
    end: int    # ms UTC, exclusive

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY_MS

    def describe(self) -> str:
        return f"{self.kind} {iso(self.start)} .. {iso(self.end)} ({self.days:g} days)"


def resolve_windows(flags: dict[str, str | None], test: TestConfig, data_start: int, data_end: int) -> list[Window]:
    """flags: `<kind>_from` / `<kind>_to` for kind in train, validate, test (ISO strings or None).

    data_start is the first bar's open time, data_end the last bar's open time + one interval.
    """
    try:
        given = {key: parse_time(value) for key, value in flags.items() if value}
    except SourceError as exc:
        raise WindowError(str(exc)) from exc
    test_end = given.get("test_to", data_end)
    test_start = given.get("test_from", given.get("validate_to", test_end - test.test_period_days * DAY_MS))
    validate_end = given.get("validate_to", test_start)
    validate_start = given.get("validate_from", given.get("train_to", validate_end - int(test.validation_days * DAY_MS)))
    train_end = given.get("train_to", validate_start)
    train_start = given.get("train_from", data_start)
    windows = [Window("train", train_start, train_end), Window("validate", validate_start, validate_end),
               Window("test", test_start, test_end)]
    check_windows(windows, data_start, data_end)
    return windows


def check_windows(windows: list[Window], data_start: int, data_end: int) -> None:
    for window in windows:
        if window.end <= window.start:
            raise WindowError(f"the {window.kind} window {iso(window.start)} .. {iso(window.end)} is empty (it must end after it starts)")
        if window.start < data_start or window.end > data_end:
            raise WindowError(
                f"the {window.kind} window {iso(window.start)} .. {iso(window.end)} lies outside the data, "
                f"which covers {iso(data_start)} .. {iso(data_end)}")
    for earlier, later in zip(windows, windows[1:]):
        if later.start < earlier.end:
            raise WindowError(
                f"the {earlier.kind} window ({iso(earlier.start)} .. {iso(earlier.end)}) and the {later.kind} window "
                f"({iso(later.start)} .. {iso(later.end)}) overlap: each window must start where the one before ends or later")
