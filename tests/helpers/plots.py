"""What a plot must show a reader, checked from the data `analytics.plots` returns beside each PNG."""

from __future__ import annotations

from datetime import UTC, datetime


def assert_plots_at_the_scale_of_their_window(report: dict) -> None:
    """Every time plot draws each series with at least two points, on axes that span the dates of
    what it shows: the test windows (equity) or the span (weights, each expert's book)."""
    day = 86_400
    span = [
        datetime.fromisoformat(report["span"][edge][:10]).replace(tzinfo=UTC).timestamp() for edge in ("start", "end")
    ]
    tests = [
        datetime.fromisoformat(report["folds"][i]["test"][e][:10]).replace(tzinfo=UTC).timestamp()
        for i, e in ((0, "start"), (-1, "end"))
    ]
    for name, window in (("equity", tests), ("weights", span), ("models", span)):
        plot = report["plots"][name]
        lo, hi = (datetime.fromisoformat(x).timestamp() for x in plot["x_range"])
        length = window[1] - window[0]
        assert (
            window[0] - 0.1 * length - day <= lo <= window[0] and window[1] <= hi <= window[1] + 0.1 * length + day
        ), (name, plot["x_range"], window)
        for series, values in plot["series"].items():
            assert len(values) >= 2, (name, series)
