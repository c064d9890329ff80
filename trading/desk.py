"""The trading desk: the ensemble over every expert's portfolio, with the weights by version, and its book.

Consumes voted chunks (`trading.assembly.VotedChunk`) and weights versions (`Weights`, applied from
their `effective_from`); produces, per decided part of a chunk, each decision bar's ensemble score
(the weights' mixture of the experts' signals), target weight (the mixture of their sized
portfolios, `trading.experts`), the version it was decided with and the order it gave, and the
book's fills, trades and equity marked to market (`trading.portfolio`); `decision_batch` turns a
decided chunk into the `DecisionBatch` the trader publishes. The trader actor runs it on the bus;
the offline runs (`learning.offline`: baselines, the configurations `train` tries) run the very
same object on recorded chunks, so what is chosen offline is what the topology trades.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import msgspec
import numpy as np

from config.schema import TraderConfig
from messages.learning import Weights
from messages.signals import ACTION_NAMES, Action
from messages.trading import DecisionBatch, ModelVote
from trading.assembly import VotedChunk
from trading.experts import CASH, Experts, Portfolios
from trading.portfolio import BookResult, BookRules, BookState, Decision, PortfolioBook
from trading.sizing import SizerState

ORDER_ACTIONS: dict[int, Action] = {1: "BUY", -1: "SELL", 0: "HOLD"}


def join(parts: list[np.ndarray], dtype: type[np.generic]) -> np.ndarray:
    """The parts one after another (an empty array of `dtype` for none)."""
    return np.concatenate(parts) if parts else np.empty(0, dtype)


@dataclass
class Decided:
    first_tick: int
    end_tick: int
    rows: np.ndarray  # the decision bars decided
    score: np.ndarray  # per row
    target: np.ndarray  # per row: the ensemble's target weight
    versions: np.ndarray  # per row: the weights version
    orders: np.ndarray  # per row: +1 bought, -1 sold, 0 no order
    result: BookResult


class DeskState(msgspec.Struct):
    """What a desk needs to go on exactly where it was: its book, its sizer and the versions that can still apply."""

    book: BookState
    sizer: SizerState
    versions: list[Weights]


class Desk:
    """`models` vote in the chunks; `experts` are the models plus the reference experts the ensemble weighs."""

    def __init__(
        self,
        models: list[str],
        config: TraderConfig,
        symbols: list[str],
        initial: Weights,
        decision_ms: int,
        experts: list[str] | None = None,
    ):
        self.models = list(models)
        self.experts = list(experts or models)
        self.config = config
        self.portfolios = Experts(self.models, self.experts, config, symbols, decision_ms)
        self.book = PortfolioBook(BookRules.of(config), symbols)
        self.versions: list[tuple[int, int, Weights]] = [(initial.effective_from, initial.version, initial)]

    def add_version(self, weights: Weights) -> None:
        if all(version != weights.version for _, version, _ in self.versions):
            bisect.insort(
                self.versions, (weights.effective_from, weights.version, weights), key=lambda item: (item[0], item[1])
            )

    def has_version_from(self, tick: int) -> bool:
        return any(effective == tick for effective, _, _ in self.versions)

    def decide(self, voted: VotedChunk, first_tick: int, end_tick: int) -> Decided:
        """Decide ticks [first_tick, end_tick) of a chunk, each decision with its newest effective version."""
        found = self.portfolios.at_each_decision(voted, first_tick, end_tick)
        rows, score, target, versions, decisions = [], [], [], [], []
        for portfolios in found:
            version = self._version_at(int(voted.ticks[portfolios.tick]))
            mix = np.array([version.weights.get(expert, 0.0) for expert in self.experts])
            mixed_signal, mixed_target = mix @ portfolios.signal, mix @ portfolios.weights
            symbols = voted.bars.symbol[portfolios.rows]
            rows.append(portfolios.rows)
            score.append(mixed_signal[symbols])
            target.append(mixed_target[symbols])
            versions.append(np.full(len(symbols), version.version, np.int64))
            decisions.append(
                Decision(
                    portfolios.tick,
                    dict(zip(symbols.tolist(), mixed_target[symbols].tolist())),
                    self._votes(voted, portfolios),
                )
            )
        result = self.book.run(voted.prices, first_tick, end_tick, decisions)
        orders = [
            np.array([decision.orders.get(int(s), 0) for s in voted.bars.symbol[r]], np.int8)
            for decision, r in zip(decisions, rows)
        ]
        return Decided(
            first_tick,
            end_tick,
            join(rows, np.int64),
            join(score, np.float64),
            join(target, np.float64),
            join(versions, np.int64),
            join(orders, np.int8),
            result,
        )

    def _votes(self, voted: VotedChunk, portfolios: Portfolios) -> dict[int, list[ModelVote]]:
        """Per symbol decided: every expert's vote, kept with a trade it opens."""
        found = {}
        for row in portfolios.rows.tolist():
            symbol = int(voted.bars.symbol[row])
            votes = [
                ModelVote(model, ACTION_NAMES[int(voted.action[m, row]) + 1], float(voted.confidence[m, row]))
                for m, model in enumerate(self.models)
            ]
            votes += [
                ModelVote(expert, "HOLD" if expert == CASH else "BUY", 1.0)
                for expert in self.experts[len(self.models) :]
            ]
            found[symbol] = votes
        return found

    def _version_at(self, tick_time: int) -> Weights:
        effective = [entry for entry in self.versions if entry[0] <= tick_time]
        return max(effective, key=lambda entry: entry[1])[2] if effective else self.versions[0][2]

    def forget_versions(self, last_tick: int) -> None:
        """Keep only the versions that can still apply: the newest effective one and those after it."""
        current = max(version for effective, version, _ in self.versions if effective <= last_tick)
        self.versions = [entry for entry in self.versions if entry[1] >= current or entry[0] > last_tick]

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(
            DeskState(self.book.state, self.portfolios.snapshot(), [weights for _, _, weights in self.versions])
        )

    def restore(self, raw: bytes) -> None:
        state = msgspec.msgpack.decode(raw, type=DeskState)
        self.book.state = state.book
        self.portfolios.restore(state.sizer)
        self.versions = sorted(((w.effective_from, w.version, w) for w in state.versions), key=lambda item: item[:2])

    def decision_batch(self, voted: VotedChunk, parts: list[Decided]) -> DecisionBatch:
        bars = voted.bars
        rows = join([part.rows for part in parts], np.int64)

        def pick(name: str, dtype: type[np.generic]) -> np.ndarray:
            return join([getattr(part, name) for part in parts], dtype)

        action = voted.action[:, rows]
        symbols = [voted.names[i] for i in bars.symbol[rows].tolist()]
        return DecisionBatch(
            symbol=symbols,
            bar_time=bars.open_time[rows].tolist(),
            weights_version=pick("versions", np.int64).tolist(),
            score=pick("score", np.float64).tolist(),
            target=pick("target", np.float64).tolist(),
            action=[ORDER_ACTIONS[int(o)] for o in pick("orders", np.int8).tolist()],
            models=self.models,
            vote_action=[[ACTION_NAMES[code + 1] for code in row.astype(np.int64).tolist()] for row in action],
            vote_confidence=voted.confidence[:, rows].tolist(),
            ts_event=voted.batch.ts_event,
        )
