"""Training windows: filled from the end of the data, and refused when empty, overlapping or outside it."""

from __future__ import annotations

import pytest

from config.schema import TestConfig
from config.times import parse_time
from training.windows import DAY_MS, WindowError, resolve_windows

START, END = parse_time("2021-04-02"), parse_time("2021-05-14")
NONE = dict.fromkeys(("train_from", "train_to", "validate_from", "validate_to", "test_from", "test_to"))


def windows(**flags):
    return resolve_windows({**NONE, **flags}, TestConfig(test_period_days=7, validation_days=7), START, END)


def test_missing_dates_are_filled_from_the_end_of_the_data():
    train, validate, test = windows()
    assert (test.start, test.end) == (END - 7 * DAY_MS, END)
    assert (validate.start, validate.end) == (END - 14 * DAY_MS, END - 7 * DAY_MS)
    assert (train.start, train.end) == (START, END - 14 * DAY_MS)
    assert train.days == 28


def test_a_window_given_only_its_end_starts_where_the_one_before_ends():
    train, validate, test = windows(train_to="2021-04-10", validate_to="2021-04-12", test_to="2021-04-13")
    assert validate.start == train.end and test.start == validate.end == parse_time("2021-04-12")


@pytest.mark.parametrize(("flags", "message"), [
    ({"train_to": "2021-04-20", "validate_from": "2021-04-15"}, "the train window (2021-04-02 .. 2021-04-20) and the validate window"),
    ({"test_from": "2021-05-10", "test_to": "2021-05-10"}, "the test window 2021-05-10 .. 2021-05-10 is empty"),
    ({"test_to": "2021-06-01"}, "lies outside the data, which covers 2021-04-02 .. 2021-05-14"),
    ({"train_from": "2021-03-01"}, "the train window 2021-03-01"),
    ({"test_from": "yesterday"}, "not an ISO date"),
])
def test_bad_windows_are_refused_with_a_clear_error(flags, message):
    with pytest.raises(WindowError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        windows(**flags)
