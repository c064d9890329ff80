"""Where the shared real market data lives (../shared/data), and the test windows used on it."""

from __future__ import annotations

import pytest

from tests.helpers.daemon import REPO_ROOT

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
KLINES = SHARED_DATA / "klines"
WS_SAMPLES = SHARED_DATA / "ws"
SYMBOLS = ["SOLUSDT", "ADAUSDT", "BTCUSDT", "ETHUSDT", "BNBUSDT"]

requires_shared_data = pytest.mark.skipif(
    not KLINES.is_dir(), reason=f"the shared market data is not at {SHARED_DATA} (CI always has it)"
)
