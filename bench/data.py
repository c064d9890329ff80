"""Where the shared real market data lives, for benchmarks and tests.

`../shared/data` beside the working directory (the repository root, where benchmarks and tests
run), else beside the source tree, else `$PEPER_SHARED_DATA`; see that folder's README.
"""

from __future__ import annotations

import os
from pathlib import Path


def shared_data() -> Path:
    candidates = [Path(os.environ["PEPER_SHARED_DATA"])] if os.environ.get("PEPER_SHARED_DATA") else []
    candidates += [Path.cwd().parent / "shared" / "data", Path(__file__).resolve().parents[2] / "shared" / "data"]
    return next((path for path in candidates if path.is_dir()), candidates[0])


SHARED_DATA = shared_data()
KLINES = SHARED_DATA / "klines"
KLINES_2021_2022 = SHARED_DATA / "klines-2021-2022"
WS_SAMPLES = SHARED_DATA / "ws"
SYMBOLS = ["SOLUSDT", "ADAUSDT", "BTCUSDT", "ETHUSDT", "BNBUSDT"]
REPO_ROOT_CONFIG = Path(__file__).resolve().parents[1] / "peper.toml"  # the shipped configuration
