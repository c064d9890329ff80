"""Training windows: filled from the end of the data, cut into walk-forward folds, and refused when
empty, overlapping or outside the data."""

from __future__ import annotations

import pytest

from common.times import DAY_MS, parse_time
from config.schema import TestConfig
from messages.errors import WindowError
from training.windows import FLAGS, resolve_plan

START, END = parse_time("2021-04-02"), parse_time("2021-05-14")


def plan(folds: int = 1, **flags):
    return resolve_plan(
        {**dict.fromkeys(FLAGS), **flags}, TestConfig(test_period_days=7, validation_days=7), folds, START, END
    )


def test_missing_dates_are_filled_from_the_end_of_the_data():
    [fold] = plan().folds
    assert (fold.test.start, fold.test.end) == (END - 7 * DAY_MS, END)
    assert (fold.validate.start, fold.validate.end) == (END - 14 * DAY_MS, END - 7 * DAY_MS)
    assert (fold.train.start, fold.train.end) == (START, END - 14 * DAY_MS) and fold.train.days == 28


def test_a_window_given_only_its_end_starts_where_the_one_before_ends():
    [fold] = plan(train_to="2021-04-10", validate_to="2021-04-12", test_to="2021-04-13").folds
    assert fold.validate.start == fold.train.end and fold.test.start == fold.validate.end == parse_time("2021-04-12")


def test_folds_cut_the_test_span_in_time_order_each_validated_on_the_days_before_it():
    result = plan(4, test_from="2021-04-16", test_to="2021-05-14")
    assert [f.test.days for f in result.folds] == [7, 7, 7, 7]
    for earlier, later in zip(result.folds, result.folds[1:]):
        assert later.test.start == earlier.test.end
        assert later.validate == type(later.validate)("validate", later.test.start - 7 * DAY_MS, later.test.start)
    assert all(f.train.start == START and f.train.end == f.validate.start for f in result.folds)
    assert (result.span.start, result.span.end) == (START, END)


@pytest.mark.parametrize(
    ("folds", "flags", "message"),
    [
        (
            1,
            {"train_to": "2021-04-20", "validate_from": "2021-04-15"},
            "the train window (2021-04-02 .. 2021-04-20) and the validate window",
        ),
        (1, {"test_from": "2021-05-10", "test_to": "2021-05-10"}, "the test window 2021-05-10 .. 2021-05-10 is empty"),
        (1, {"test_to": "2021-06-01"}, "lies outside the data, which covers 2021-04-02 .. 2021-05-14"),
        (1, {"train_from": "2021-03-01"}, "the train window 2021-03-01"),
        (1, {"test_from": "yesterday"}, "not an ISO date"),
        (3, {"validate_to": "2021-05-01"}, "with --folds the validation windows follow the test windows"),
        (6, {"test_from": "2021-04-05"}, "the train window 2021-04-02 .. 2021-03-29 is empty"),
    ],
)
def test_bad_windows_are_refused_with_a_clear_error(folds, flags, message):
    with pytest.raises(WindowError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        plan(folds, **flags)
