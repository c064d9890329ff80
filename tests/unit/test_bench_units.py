"""Every number a benchmark prints has its unit, nested figures included."""

from __future__ import annotations

import pytest

from bench.__main__ import unit_of


@pytest.mark.parametrize(
    ("key", "unit"),
    [
        ("bars_per_s", "bars/s"),
        ("hedge.bars_per_s", "bars/s"),
        ("freqtrade_bars_per_s", "bars/s"),
        ("hop_p50_us.lgbm_ai", "µs"),
        ("llm_hop_p99_us.trader", "µs"),
        ("thompson.final_weights.lava_ai", "fraction"),
        ("cpu_s_per_1000_bars.trader", "CPU s/1,000 bars"),
        ("seed.max_drawdown", "fraction"),
        ("elapsed_s", "s"),
    ],
)
def test_a_figure_takes_the_unit_of_its_own_name_not_of_its_last_letters(key, unit):
    assert unit_of(key) == unit
