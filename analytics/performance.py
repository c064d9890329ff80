"""How a strategy did: one set of figures and one set of statistics for train, report, bench and the monitor.

Consumes a strategy's `Part` of a window — its ticks, the equity marked to market at each tick's
close, the equity just before the window, the PnL of the round trips it closed there (those still
open at the end counted as closed at the last close), the notional it traded and its gross
exposure at each tick; produces `Figures`, the one definition of each number Peper shows:
- ROI: the last close's equity over the equity before the window, minus 1 (fraction);
- Sharpe: mean over sample standard deviation of daily returns (each UTC day's last close over the
  previous day's), times sqrt(365) — crypto trades every day; 0 for a flat curve, None with fewer
  than two days;
- max drawdown: the largest fall of the marked equity from its running peak (fraction of the peak);
- trades and win rate: round trips, a win is one whose PnL net of every fee is above 0;
- turnover: the notional traded over the mean equity (times the equity, over the window);
- exposure: the mean gross exposure (fraction of equity).
`summarize` of several parts is the walk-forward aggregate: the test windows one after another,
returns compounded. The statistics come from `arch`: the block bootstrap of a Sharpe difference
(`sharpe_difference`, paired days, circular blocks), Hansen's SPA test of the best of many
strategies against cash (`reality_check`, White's reality check made studentised), and the
deflated Sharpe ratio of Bailey & López de Prado (2014), which discounts a Sharpe ratio for the
number of configurations tried (`deflated_sharpe`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

import msgspec
import numpy as np

from common.times import DAY_MS

DAYS_PER_YEAR = 365
EULER_GAMMA = 0.5772156649015329
FIELDS = ("roi", "sharpe", "max_drawdown", "win_rate", "trades", "turnover", "exposure")


class Figures(msgspec.Struct, frozen=True):
    roi: float  # fraction
    sharpe: float | None  # annualised, from daily returns
    max_drawdown: float  # fraction of the peak
    win_rate: float | None  # fraction of round trips with PnL > 0
    trades: int  # round trips
    turnover: float = 0.0  # notional traded / mean equity (times)
    exposure: float = 0.0  # mean gross exposure (fraction of equity)


@dataclass(frozen=True)
class Part:
    times: np.ndarray  # the window's ticks
    equity: np.ndarray  # marked to market at each tick's close
    before: float  # the equity just before the window
    pnls: list[float]  # of the round trips closed in the window (and those open at its end)
    traded: np.ndarray = field(default_factory=lambda: np.empty(0))  # quote notional filled at each tick
    exposure: np.ndarray = field(default_factory=lambda: np.empty(0))  # gross exposure at each tick


def daily_returns(part: Part) -> np.ndarray:
    """Each UTC day's return of the marked equity (its last close over the previous day's)."""
    if not len(part.times):
        return np.empty(0)
    days = part.times // DAY_MS
    last = np.flatnonzero(np.concatenate([days[1:] != days[:-1], [True]]))
    closes = np.concatenate([[part.before], part.equity[last]])
    return closes[1:] / closes[:-1] - 1


def annualised_sharpe(returns: np.ndarray, axis: int = -1) -> np.ndarray:
    """mean / sample std of daily returns, times sqrt(365); 0 where the std is 0."""
    std = np.std(returns, axis=axis, ddof=1)
    mean = np.mean(returns, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        found = np.where(std > 0, mean / np.where(std > 0, std, 1.0), 0.0)
    return found * math.sqrt(DAYS_PER_YEAR)


def sharpe(returns: np.ndarray) -> float | None:
    return float(annualised_sharpe(returns)) if len(returns) >= 2 else None


def max_drawdown(curve: np.ndarray) -> float:
    if not len(curve):
        return 0.0
    peak = np.maximum.accumulate(curve)
    return float(((peak - curve) / peak).max())


def win_rate(pnls: list[float]) -> float | None:
    return sum(pnl > 0 for pnl in pnls) / len(pnls) if pnls else None


def summarize(parts: list[Part]) -> tuple[Figures, np.ndarray]:
    """The figures of parts run one after another (returns compounded), and their daily returns."""
    path = [1.0]
    equity_sum, ticks, traded, exposure_sum = 0.0, 0, 0.0, 0.0
    for part in parts:
        if len(part.equity):
            path.extend((path[-1] * part.equity / part.before).tolist())
            equity_sum += float(part.equity.sum())
            ticks += len(part.equity)
            exposure_sum += float(part.exposure.sum()) if len(part.exposure) else 0.0
        traded += float(part.traded.sum()) if len(part.traded) else 0.0
    daily = np.concatenate([daily_returns(part) for part in parts]) if parts else np.empty(0)
    pnls = [pnl for part in parts for pnl in part.pnls]
    curve = np.array(path)
    return Figures(
        roi=float(curve[-1] - 1),
        sharpe=sharpe(daily),
        max_drawdown=max_drawdown(curve),
        win_rate=win_rate(pnls),
        trades=len(pnls),
        turnover=traded / (equity_sum / ticks) if ticks and equity_sum > 0 else 0.0,
        exposure=exposure_sum / ticks if ticks else 0.0,
    ), daily


# ----- statistics ------------------------------------------------------------------------------------
def sharpe_difference(
    first: np.ndarray, second: np.ndarray, *, block_days: int, samples: int, seed: int
) -> dict[str, float | None]:
    """{difference, low, high}: the observed Sharpe(first) - Sharpe(second) over the same days and its
    95 % percentile interval from a circular block bootstrap of the paired days (None: < 2 days)."""
    if len(first) != len(second):
        raise ValueError(f"paired returns of different lengths: {len(first)} and {len(second)} days")
    if len(first) < 2:
        return {"difference": None, "low": None, "high": None}
    from arch.bootstrap import CircularBlockBootstrap  # arch loads pandas: only where statistics are asked for

    def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.array([annualised_sharpe(a) - annualised_sharpe(b)])

    bootstrap = CircularBlockBootstrap(max(1, min(block_days, len(first))), first, second, seed=seed)
    low, high = bootstrap.conf_int(difference, reps=samples, method="percentile")[:, 0]
    return {"difference": float(difference(first, second)[0]), "low": float(low), "high": float(high)}


def reality_check(returns: np.ndarray, *, block_days: int, samples: int, seed: int) -> float | None:
    """returns: [strategy, day]. Hansen's SPA p-value (consistent) that no strategy's mean daily return
    beats cash's 0: small means the best is better than cash even for having tried them all (None:
    no strategy or fewer than two days)."""
    strategies, days = returns.shape
    if strategies == 0 or days < 2:
        return None
    from arch.bootstrap import SPA

    test = SPA(np.zeros(days), -returns.T, block_size=max(1, min(block_days, days)), reps=samples, seed=seed)
    test.compute()
    return float(test.pvalues["consistent"])


def deflated_sharpe(returns: np.ndarray, trials: int, trial_sharpe_variance: float) -> float | None:
    """The probability that the true Sharpe ratio of `returns` (daily) is above the best that `trials`
    configurations with no edge would show, their daily Sharpe ratios varying by
    `trial_sharpe_variance` (Bailey & López de Prado 2014, eq. 8–9; skewness and kurtosis of the
    returns themselves). One trial is nothing to deflate for: the probabilistic Sharpe ratio against
    0. None with fewer than three days."""
    days = len(returns)
    if days < 3 or trials < 1:
        return None
    std = float(np.std(returns, ddof=1))
    if std == 0:
        return 0.0
    observed = float(np.mean(returns)) / std
    centred = returns - np.mean(returns)
    skew = float(np.mean(centred**3) / np.std(returns) ** 3)
    kurtosis = float(np.mean(centred**4) / np.std(returns) ** 4)
    normal = NormalDist()
    expected_max = (
        0.0
        if trials == 1
        else math.sqrt(max(trial_sharpe_variance, 0.0))
        * ((1 - EULER_GAMMA) * normal.inv_cdf(1 - 1 / trials) + EULER_GAMMA * normal.inv_cdf(1 - 1 / (trials * math.e)))
    )
    spread = 1 - skew * observed + (kurtosis - 1) / 4 * observed**2
    return normal.cdf((observed - expected_max) * math.sqrt(days - 1) / math.sqrt(max(spread, 1e-12)))


def daily_sharpe(returns: np.ndarray) -> float:
    """A daily (not annualised) Sharpe ratio, what the deflated Sharpe's trial variance is measured in."""
    std = float(np.std(returns, ddof=1)) if len(returns) >= 2 else 0.0
    return float(np.mean(returns)) / std if std > 0 else 0.0
