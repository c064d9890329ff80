"""The signal models' logic, apart from the bus: pure, incremental, unit-tested.

`indicators` holds O(1)-per-bar indicators (EMA, Wilder RSI, MACD, rolling mean/std);
`technical` is trading_ai's rules, `mean_reversion` lava_ai's, `lgbm` lgbm_ai's features,
labels, walk-forward training and stored models. Each model exposes a per-symbol state with
`update(bar) -> Vote`, using only bars up to and including the one it votes on.
Imports `messages`, `config` and `storage` only.
"""

from typing import NamedTuple


class Bar(NamedTuple):
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Vote(NamedTuple):
    action: str | None   # BUY, SELL, HOLD, or None to abstain
    confidence: float    # 0..1
    reason: str
