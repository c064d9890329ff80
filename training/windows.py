"""The windows of a training run, checked against the data: its span, and each fold's validation
and test windows.

Consumes the window flags (ISO times, any of them may be missing), `[test]` (`validation_days`,
`test_period_days`), the number of folds and the span of the kline source; produces a `Plan`: the
span the run replays (from the training start to the last test's end) and K `Fold`s, or
`WindowError` naming the window and what is wrong with it. With `--iterations N` (the seed's loop)
the folds are N consecutive test windows of `test_period_days` each (`resolve_iterations`).

Missing flags are filled from the end of the data backwards: the tests cover the last
`test_period_days`, the validation the `validation_days` before, and training everything earlier.
With K folds the test span is cut into K equal test windows in time order (walk-forward), and each
fold validates on the `validation_days` right before its own test window — for folds after the
first, that is the end of the previous fold's test, which is over by then. Everything before a
fold's validation window trains it: the learner and lgbm_ai learn online along the whole replay,
always only from what came before.
"""

from __future__ import annotations

import itertools

import msgspec

from common.times import DAY_MS, iso, parse_time
from config.schema import TestConfig
from messages.errors import SourceError, WindowError

FLAGS = ("train_from", "train_to", "validate_from", "validate_to", "test_from", "test_to")


class Window(msgspec.Struct, frozen=True):
    kind: str
    start: int  # ms UTC, inclusive
    end: int  # ms UTC, exclusive

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY_MS

    def describe(self) -> str:
        return f"{self.kind} {iso(self.start)} .. {iso(self.end)} ({self.days:g} days)"


class Fold(msgspec.Struct, frozen=True):
    number: int  # 1, 2, ...
    train: Window  # everything before the validation window
    validate: Window
    test: Window


class Plan(msgspec.Struct, frozen=True):
    span: Window  # what the run replays: the training start to the last test's end
    folds: list[Fold]


def resolve_plan(flags: dict[str, str | None], test: TestConfig, folds: int, data_start: int, data_end: int) -> Plan:
    """flags: `<kind>_from` / `<kind>_to` for kind in train, validate, test (ISO strings or None);
    data_start is the first bar's open time, data_end the last bar's open time + one interval."""
    try:
        given = {key: parse_time(value) for key, value in flags.items() if value}
    except SourceError as exc:
        raise WindowError(str(exc)) from exc
    validate_ms = int(test.validation_days * DAY_MS)
    test_end = given.get("test_to", data_end)
    test_start = given.get("test_from", given.get("validate_to", test_end - int(test.test_period_days * DAY_MS)))
    train_start = given.get("train_from", data_start)
    if folds > 1 and ("validate_from" in given or "validate_to" in given or "train_to" in given):
        raise WindowError(
            "with --folds the validation windows follow the test windows (the validation_days before "
            "each); give --train-from, --test-from and --test-to only"
        )
    if test_end <= test_start:
        raise WindowError(
            f"the test window {iso(test_start)} .. {iso(test_end)} is empty (it must end after it starts)"
        )
    cuts = [test_start + (test_end - test_start) * k // folds for k in range(folds + 1)]
    plan = []
    for number, (start, end) in enumerate(itertools.pairwise(cuts), start=1):
        validate_end = given.get("validate_to", start) if folds == 1 else start
        validate_start = (
            given.get("validate_from", given.get("train_to", validate_end - validate_ms))
            if folds == 1
            else validate_end - validate_ms
        )
        train_end = given.get("train_to", validate_start) if folds == 1 else validate_start
        plan.append(
            Fold(
                number,
                Window("train", train_start, train_end),
                Window("validate", validate_start, validate_end),
                Window("test", start, end),
            )
        )
    result = Plan(Window("span", train_start, test_end), plan)
    check_plan(result, data_start, data_end)
    return result


def resolve_iterations(
    flags: dict[str, str | None], test: TestConfig, iterations: int, data_start: int, data_end: int
) -> Plan:
    """The seed's loop: `iterations` consecutive test windows of `test_period_days` each, from
    --test-from, or ending at --test-to (default: the end of the data); a fold per iteration."""
    if flags.get("test_from") and flags.get("test_to"):
        raise WindowError(
            "with --iterations each test window is [test] test_period_days long: give --test-from or "
            "--test-to, not both"
        )
    try:
        given = {key: parse_time(value) for key, value in flags.items() if value}
    except SourceError as exc:
        raise WindowError(str(exc)) from exc
    span = iterations * int(test.test_period_days * DAY_MS)
    start = given.get("test_from", given.get("test_to", data_end) - span)
    return resolve_plan(
        {**flags, "test_from": iso(start), "test_to": iso(start + span)}, test, iterations, data_start, data_end
    )


def check_plan(plan: Plan, data_start: int, data_end: int) -> None:
    for fold in plan.folds:
        windows = [fold.train, fold.validate, fold.test]
        for window in windows:
            if window.end <= window.start:
                raise WindowError(
                    f"the {window.kind} window {iso(window.start)} .. {iso(window.end)} is empty "
                    "(it must end after it starts)"
                )
            if window.start < data_start or window.end > data_end:
                raise WindowError(
                    f"the {window.kind} window {iso(window.start)} .. {iso(window.end)} lies outside the data, "
                    f"which covers {iso(data_start)} .. {iso(data_end)}"
                )
        for earlier, later in itertools.pairwise(windows):
            if later.start < earlier.end:
                raise WindowError(
                    f"the {earlier.kind} window ({iso(earlier.start)} .. {iso(earlier.end)}) and the {later.kind} window "
                    f"({iso(later.start)} .. {iso(later.end)}) overlap: each window must start where the one before "
                    "ends or later"
                )
