"""Every expert's portfolio at a decision: the models' votes sized, and the reference experts.

Consumes a voted chunk's decision bars and votes (`trading.assembly.VotedChunk`) at one decision
tick; produces, per expert, target weights per symbol (signed fractions of equity) and its signal
(-1..1). A model's signal on a symbol is its vote's direction times its confidence (BUY +c, SELL -c,
HOLD and an abstention 0; long-only a SELL means flat), sized by the volatility target
(`trading.sizing`). The reference experts: `cash` holds nothing; `hold` every symbol with a bar, in
equal parts of the equity; `hold_vt` every symbol at full signal, volatility-targeted. Only the
symbols with a decision bar at that tick are decided; the others keep what they hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from config.schema import TraderConfig
from signals.model import ABSTAIN
from trading.assembly import VotedChunk
from trading.sizing import SizerState, VolatilityTarget, equal_weights

CASH, HOLD, HOLD_VT = "cash", "hold", "hold_vt"
REFERENCE_EXPERTS = (CASH, HOLD, HOLD_VT)


@dataclass(frozen=True)
class Portfolios:
    tick: int  # index into the chunk's ticks
    present: np.ndarray  # [symbol] bool: a decision bar here
    signal: np.ndarray  # [expert, symbol] -1..1
    weights: np.ndarray  # [expert, symbol] target weights (0 outside `present`)
    rows: np.ndarray  # the decision bars' rows decided here


def model_signals(action: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """[model, row] action codes and confidences -> signals -1..1 (abstentions 0)."""
    signals: np.ndarray = np.where(action == ABSTAIN, 0.0, action.astype(np.float64)) * confidence
    return signals


class Experts:
    """`models` vote; `experts` are those models (in that order) and any reference experts."""

    def __init__(
        self, models: list[str], experts: list[str], config: TraderConfig, symbols: list[str], decision_ms: int
    ):
        self.models, self.experts = list(models), list(experts)
        self.long_only = not config.allow_short
        self.max_exposure = config.max_exposure
        self.sizer = VolatilityTarget(config, symbols, decision_ms)
        self.symbols = len(symbols)

    def at_each_decision(self, voted: VotedChunk, first_tick: int = 0, end_tick: int | None = None) -> list[Portfolios]:
        """Every expert's portfolio at each decision tick in [first_tick, end_tick), in order."""
        end_tick = len(voted.ticks) if end_tick is None else end_tick
        found = []
        bars = voted.bars
        for tick, rows in voted.decisions():
            if not first_tick <= tick < end_tick:
                continue
            periods = bars.open_time[rows] // bars.interval_ms
            for period in np.unique(periods):
                mine = rows[periods == period]
                self.sizer.observe(int(period), bars.symbol[mine], bars.close[mine])
            last = rows[periods == periods.max()]
            present = np.zeros(self.symbols, bool)
            present[bars.symbol[last]] = True
            signals = np.zeros((len(self.models), self.symbols))
            signals[:, bars.symbol[last]] = model_signals(voted.action[:, last], voted.confidence[:, last])
            found.append(self._portfolios(tick, present, signals, last))
        return found

    def _portfolios(self, tick: int, present: np.ndarray, model_signal: np.ndarray, rows: np.ndarray) -> Portfolios:
        signal = np.zeros((len(self.experts), self.symbols))
        weights = np.zeros((len(self.experts), self.symbols))
        full = np.where(present, 1.0, 0.0)
        for e, expert in enumerate(self.experts):
            if expert in self.models:
                signal[e] = model_signal[self.models.index(expert)]
                if self.long_only:
                    signal[e] = np.maximum(signal[e], 0.0)
                weights[e] = self.sizer.weights(signal[e], present)
            elif expert == HOLD:
                signal[e], weights[e] = full, equal_weights(present, self.max_exposure)
            elif expert == HOLD_VT:
                signal[e], weights[e] = full, self.sizer.weights(full, present)
        return Portfolios(tick, present, signal, weights, rows)

    def snapshot(self) -> SizerState:
        return self.sizer.snapshot()

    def restore(self, state: SizerState) -> None:
        self.sizer.restore(state)
