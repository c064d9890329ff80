"""Shadow books: what each expert would have made holding its own portfolio alone, tick by tick.

Consumes voted chunks (`trading.assembly.VotedChunk`: bars, decision bars and every model's votes);
produces, per chunk, each expert's net return over every tick and its equity after the chunk — the
credit the learner weighs — and how many round trips the books closed over each tick. Experts:
every model, `cash`, `hold` and `hold_vt` (`trading.experts`), each in its own `PortfolioBook`
with the trader's rules (sizing, band, fees, slippage, the drawdown breaker) — so an expert earns or
loses on every bar whether or not the ensemble followed it, and is judged net of its own costs.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec
import numpy as np

from config.schema import TraderConfig
from trading.assembly import VotedChunk
from trading.experts import CASH, REFERENCE_EXPERTS, Experts
from trading.portfolio import BookRules, BookState, Decision, PortfolioBook
from trading.sizing import SizerState


class ShadowRun(NamedTuple):
    returns: np.ndarray  # [expert, tick] net return over each tick
    equity: np.ndarray  # [expert] equity after the chunk
    closed: np.ndarray  # [tick] trades closed over each tick, every book together


class ShadowBooks:
    def __init__(self, models: list[str], config: TraderConfig, symbols: list[str], decision_ms: int):
        self.models = list(models)
        self.experts = [*self.models, *REFERENCE_EXPERTS]
        self.portfolios = Experts(self.models, self.experts, config, symbols, decision_ms)
        rules = BookRules.of(config)
        self.books = {expert: PortfolioBook(rules, symbols) for expert in self.experts if expert != CASH}
        self.marked = {expert: config.initial_equity for expert in self.experts}  # equity at the last close
        self.trades = {expert: 0 for expert in self.experts}

    def run(self, voted: VotedChunk) -> ShadowRun:
        found = self.portfolios.at_each_decision(voted)
        returns = np.zeros((len(self.experts), len(voted.ticks)))
        equity = np.empty(len(self.experts))
        closed = np.zeros(len(voted.ticks), np.int64)
        for index, expert in enumerate(self.experts):
            if expert == CASH:
                equity[index] = self.marked[expert]
                continue
            decisions = [
                Decision(p.tick, {int(s): float(p.weights[index, s]) for s in np.flatnonzero(p.present)}) for p in found
            ]
            result = self.books[expert].run(voted.prices, 0, len(voted.ticks), decisions)
            self.trades[expert] += len(result.closed)
            np.add.at(closed, np.searchsorted(voted.ticks, [trade.exit_time for trade in result.closed]), 1)
            path = np.concatenate([[self.marked[expert]], result.equity])
            returns[index] = path[1:] / path[:-1] - 1.0
            equity[index] = self.marked[expert] = float(path[-1])
        return ShadowRun(returns, equity, closed)

    # ----- checkpoints ----------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(
            _Saved(
                {name: book.state for name, book in self.books.items()},
                self.marked,
                self.trades,
                self.portfolios.snapshot(),
            )
        )

    def restore(self, raw: bytes) -> None:
        saved = msgspec.msgpack.decode(raw, type=_Saved)
        for name, state in saved.books.items():
            if name in self.books:
                self.books[name].state = state
        self.marked.update(saved.marked)
        self.trades.update(saved.trades)
        self.portfolios.restore(saved.sizer)


class _Saved(msgspec.Struct):
    books: dict[str, BookState]
    marked: dict[str, float]
    trades: dict[str, int]
    sizer: SizerState
