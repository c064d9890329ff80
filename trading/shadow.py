"""Shadow books: what each expert would have made following its own votes alone, bar by bar.

Consumes ready chunks (`trading.assembly.Ready`: bars and every model's votes); produces, per
chunk, each expert's net return over every tick and its equity after the chunk — the credit the
learner weighs — and how many trades the books closed over each tick (a learner may update only
every K of them). Experts: every model (a book trading its votes alone — its direction times its
confidence as the score — with the trader's sizing, thresholds, fees, slippage and risk rules,
through the same `PaperBroker`), `cash` (always flat: return 0) and `hold` (always long in every
symbol with `position_fraction` of the equity each, never exiting, whatever the trend). Each book
is marked to market at every tick's close, so an expert earns or loses on every bar whether or not
the ensemble traded.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import msgspec
import numpy as np

from config.schema import TraderConfig
from signals.model import ABSTAIN
from trading.assembly import Ready
from trading.broker import BookRules, BookState, PaperBroker

CASH, HOLD = "cash", "hold"
REFERENCE_EXPERTS = (CASH, HOLD)


def shadow_rules(config: TraderConfig) -> BookRules:
    """The trader's rules for a model's own book: the same, except that a book follows its model's
    votes even when the trader stands aside (its credit is what the model would have made)."""
    return dataclasses.replace(BookRules.of(config), entries=True)


class ShadowRun(NamedTuple):
    returns: np.ndarray   # [expert, tick] net return over each tick
    equity: np.ndarray    # [expert] equity after the chunk
    closed: np.ndarray    # [tick] trades closed over each tick, every book together


class ShadowBooks:
    def __init__(self, models: list[str], config: TraderConfig, symbols: list[str], rules: BookRules | None = None):
        self.models = list(models)
        self.experts = [*self.models, *REFERENCE_EXPERTS]
        rules = rules or shadow_rules(config)
        self.books = {model: PaperBroker(rules, config.initial_equity, symbols) for model in self.models}
        self.books[HOLD] = PaperBroker(dataclasses.replace(rules, exits=False, enter_threshold=0.0, trend_bars=0), config.initial_equity,
                                       symbols)
        self.cash = config.initial_equity
        self.marked = {expert: config.initial_equity for expert in self.experts}  # equity at the last close
        self.trades = {expert: 0 for expert in self.experts}

    def run(self, ready: Ready) -> ShadowRun:
        returns = np.zeros((len(self.experts), len(ready.ticks)))
        equity = np.empty(len(self.experts))
        closed = np.zeros(len(ready.ticks), np.int64)
        for index, expert in enumerate(self.experts):
            if expert == CASH:
                equity[index] = self.cash
                continue
            book = self.books[expert]
            if expert == HOLD:
                score = np.ones(len(ready.chunk))
            else:
                model = self.models.index(expert)
                action = ready.action[model]
                score = np.where(action == ABSTAIN, 0.0, action) * ready.confidence[model]
            result = book.run(ready.chunk, ready.ticks, score)
            self.trades[expert] += len(result.closed)
            np.add.at(closed, np.searchsorted(ready.ticks, [trade.exit_time for trade in result.closed]), 1)  # a tick's open
            path = np.concatenate([[self.marked[expert]], result.equity])
            returns[index] = path[1:] / path[:-1] - 1.0
            equity[index] = self.marked[expert] = float(path[-1])
        return ShadowRun(returns, equity, closed)

    # ----- checkpoints ----------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(_Saved({name: book.state for name, book in self.books.items()}, self.marked,
                                             self.trades))

    def restore(self, raw: bytes) -> None:
        saved = msgspec.msgpack.decode(raw, type=_Saved)
        for name, state in saved.books.items():
            if name in self.books:
                self.books[name].state = state
        self.marked.update(saved.marked)
        self.trades.update(saved.trades)


class _Saved(msgspec.Struct):
    books: dict[str, BookState]
    marked: dict[str, float]
    trades: dict[str, int]
