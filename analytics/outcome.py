"""The outcome of a training run, as the catalog stores it and `report` and `bench learning` read it.

Produced by `training` (`walk_forward` for the folds, `iterations` for the seed's loop), stored as
JSON in the catalog (`train.result.<run>`), decoded back into these types; every figure is
`analytics.performance.Figures`. Schema evolution: a new field needs a default.
"""

from __future__ import annotations

import msgspec

from analytics.performance import Figures

GridValue = str | float | int | bool | list[str]


class WindowDoc(msgspec.Struct, frozen=True):
    start: str  # ISO, UTC
    end: str  # exclusive
    days: float


class Interval(msgspec.Struct, frozen=True):
    """The learned Sharpe minus a baseline's over the same days, and its 95 % bootstrap interval."""

    difference: float | None
    low: float | None
    high: float | None


class TriedDoc(msgspec.Struct, frozen=True):
    number: int
    changes: dict[str, GridValue]
    validation: list[Figures]  # per fold


class FoldDoc(msgspec.Struct, frozen=True):
    number: int
    train: WindowDoc
    validate: WindowDoc
    test: WindowDoc
    chosen: int  # the configuration's number
    chosen_changes: dict[str, GridValue]
    validation: Figures  # the chosen configuration's, on this fold's validation window
    strategies: dict[str, Figures]  # on this fold's test window: learned and every baseline
    reality_check: float | None = None  # SPA p-value of the best configuration against cash, on validation


class DailyDoc(msgspec.Struct, frozen=True):
    day: list[str]  # the test windows' UTC dates, one after another
    returns: dict[str, list[float]]  # strategy -> its daily return on each


class WeightsDay(msgspec.Struct, frozen=True):
    day: str
    weights: dict[str, float]


class IterationDoc(msgspec.Struct, frozen=True):
    """One window of the seed's loop: the seed's criteria on it and whether it improved on the one before."""

    number: int
    window: WindowDoc
    figures: Figures
    trades_vs_first: float | None  # trades / the first iteration's
    improved: bool | None  # on ROI and win rate, over the iteration before (None for the first)
    met: bool  # win rate >= target and ROI > 0


class Outcome(msgspec.Struct, frozen=True):
    metric: str
    span: WindowDoc
    tried: list[TriedDoc]
    folds: list[FoldDoc]
    aggregate: dict[str, Figures]  # over the folds' test windows one after another
    intervals: dict[str, Interval]  # per baseline
    daily: DailyDoc
    policy_weights: list[WeightsDay]  # the last fold's choice, the weights at the end of each day with a change
    trials: int = 0  # configurations tried in this catalog so far, this run's included
    deflated_sharpe: float | None = None  # the probability the learned Sharpe is real for that many trials
    iterations: list[IterationDoc] = []  # `train --iterations`: the seed's loop, window by window
    stopped_early: bool = False  # the loop met the seed's criterion before its last iteration
    policy: int = 0  # the policy made from it
