"""The shared real market data for tests (paths in `bench.data`), and the mark for tests that need it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.data import KLINES, KLINES_2021_2022, SHARED_DATA, SYMBOLS, WS_SAMPLES

REPO_ROOT = Path(__file__).resolve().parents[2]
__all__ = ["KLINES", "KLINES_2021_2022", "REPO_ROOT", "SHARED_DATA", "SYMBOLS", "WS_SAMPLES", "requires_shared_data"]

requires_shared_data = pytest.mark.skipif(
    not KLINES.is_dir(), reason=f"the shared market data is not at {SHARED_DATA} (CI always has it)"
)
