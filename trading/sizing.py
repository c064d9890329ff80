"""Position sizing from a portfolio volatility target: what share of equity each symbol gets.

Consumes each decision period's bars (their closes, `observe`) and an expert's signals on them
(-1..1 per symbol: its direction times its confidence); produces target weights (signed fractions
of equity per symbol, `weights`). The risk model is the one the literature on volatility-managed
and trend portfolios uses (Moreira & Muir 2017; Moskowitz, Ooi & Pedersen 2012): each symbol's
volatility σ is the sample standard deviation of its log returns between consecutive decision bars
over `[trader] volatility_window`, annualised; the portfolio of every symbol at full signal is
weighted by inverse volatility and scaled so that, with the symbols' mean pairwise correlation ρ
over the same window, its volatility is `volatility_target`:

    w_s = signal_s * k / σ_s,   k = volatility_target / sqrt(n + n (n - 1) ρ)

(n: the symbols with a bar now and a volatility estimate). A weaker signal holds less, never more:
an expert long one symbol of five carries a fifth of the risk budget. Gross exposure is capped at
`max_exposure` (1.0: never more than the equity, no leverage), scaling every weight down
together. A symbol without enough history (fewer than a third of the window's returns) gets no
weight. `equal_weights` is the fully invested portfolio, 1/n each (the `hold` expert).
"""

from __future__ import annotations

import math

import msgspec
import numpy as np

from common.times import DAY_MS, duration_ms
from config.schema import TraderConfig

MIN_SHARE = 3  # a volatility needs at least window / MIN_SHARE returns (and 3)


class SizerState(msgspec.Struct):
    periods: list[int] = []  # the decision periods of the window's rows, oldest first
    returns: list[list[float]] = []  # [row][symbol]: log return since the previous period's close (NaN: none)
    last_close: dict[int, tuple[int, float]] = {}  # symbol -> (its last period, its close then)


class VolatilityTarget:
    def __init__(self, config: TraderConfig, symbols: list[str], decision_ms: int):
        self.symbols = list(symbols)
        self.target = config.volatility_target
        self.max_exposure = config.max_exposure
        self.window = max(2, duration_ms(config.volatility_window) // decision_ms)
        self.per_year = 365 * DAY_MS / decision_ms
        self.state = SizerState()
        self._estimate: tuple[np.ndarray, float] | None = None

    def observe(self, period: int, symbols: np.ndarray, closes: np.ndarray) -> None:
        """One decision period's bars: `symbols` (universe indices) and their closes."""
        state = self.state
        row = [math.nan] * len(self.symbols)
        for symbol, close in zip(symbols.tolist(), closes.tolist()):
            previous = state.last_close.get(symbol)
            if previous is not None and previous[0] == period - 1:
                row[symbol] = math.log(close / previous[1])
            state.last_close[symbol] = (period, close)
        state.periods.append(period)
        state.returns.append(row)
        if len(state.periods) > self.window:
            del state.periods[0], state.returns[0]
        self._estimate = None

    def volatility(self) -> tuple[np.ndarray, float]:
        """(σ per symbol, annualised, NaN without enough history; the mean pairwise correlation)."""
        if self._estimate is None:
            self._estimate = _estimate(
                np.array(self.state.returns, np.float64).reshape(-1, len(self.symbols)),
                max(3, self.window // MIN_SHARE),
                self.per_year,
            )
        return self._estimate

    def weights(self, signal: np.ndarray, present: np.ndarray) -> np.ndarray:
        """signal: -1..1 per universe symbol; present: the symbols with a bar now. Target weights."""
        sigma, rho = self.volatility()
        usable = present & np.isfinite(sigma) & (sigma > 0)
        n = int(usable.sum())
        found = np.zeros(len(self.symbols))
        if not n:
            return found
        k = self.target / math.sqrt(n + n * (n - 1) * rho)
        found[usable] = np.clip(signal[usable], -1.0, 1.0) * k / sigma[usable]
        return capped(found, self.max_exposure)

    def snapshot(self) -> SizerState:
        return self.state

    def restore(self, state: SizerState) -> None:
        self.state = state
        self._estimate = None


def equal_weights(present: np.ndarray, max_exposure: float) -> np.ndarray:
    """1/n of the equity in each present symbol (times `max_exposure`)."""
    n = int(present.sum())
    return np.where(present, max_exposure / n, 0.0) if n else np.zeros(len(present))


def capped(weights: np.ndarray, max_exposure: float) -> np.ndarray:
    gross = float(np.abs(weights).sum())
    return weights * (max_exposure / gross) if gross > max_exposure else weights


def _estimate(returns: np.ndarray, minimum: int, per_year: float) -> tuple[np.ndarray, float]:
    seen = np.isfinite(returns)
    count = seen.sum(axis=0)
    filled = np.where(seen, returns, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / count
        deviation = np.where(seen, returns - mean, 0.0)
        sigma = np.sqrt((deviation**2).sum(axis=0) / (count - 1)) * math.sqrt(per_year)
    sigma[count < minimum] = np.nan
    correlations = []
    columns = np.flatnonzero(count >= minimum)
    for a_index, a in enumerate(columns):
        for b in columns[a_index + 1 :]:
            both = seen[:, a] & seen[:, b]
            if both.sum() >= minimum:
                x, y = returns[both, a], returns[both, b]
                sx, sy = x.std(), y.std()
                if sx > 0 and sy > 0:
                    correlations.append(float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy)))
    rho = max(0.0, math.fsum(correlations) / len(correlations)) if correlations else 0.0
    return sigma, rho
