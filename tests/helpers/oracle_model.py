"""oracle_model: a test-only model that votes with knowledge of the next bar (or against it).

Consumes `md.kline`, `clock` like any model; produces `sig.<name>`. It loads the same replay
source the feed uses and votes, for bar t, BUY when bar t+1 closes above its open (the price the
trade would fill at) and SELL otherwise, with confidence 1; `--invert` makes it always wrong.
Run it under a real model's name (e.g. trading_ai) so the learner has a weight for it.
"""

from __future__ import annotations

import argparse

from actors.base import main
from actors.voting import VotingActor
from marketdata.sources import load_source, parse_time
from signals import Bar, Vote


class Foresight:
    def __init__(self, next_move: dict[int, bool], invert: bool):
        self.next_move, self.invert = next_move, invert

    def update(self, bar: Bar) -> Vote:
        rises = self.next_move.get(bar.open_time)
        if rises is None:
            return Vote(None, 0.0, "no next bar")
        return Vote("BUY" if rises != self.invert else "SELL", 1.0, "knows the next bar")


class OracleModel(VotingActor):
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--invert", action="store_true", help="always vote the wrong way")

    async def on_start(self) -> None:
        feed = self.config.feed
        table = load_source(feed.source, interval=feed.interval, symbols=self.config.test.symbols,
                            start_ms=parse_time(feed.start) if feed.start else None,
                            end_ms=parse_time(feed.end) if feed.end else None)
        self.moves: dict[str, dict[int, bool]] = {}
        rows: dict[str, list[tuple[int, float, float]]] = {}
        for index, time, open_, close in zip(table.symbol_index.tolist(), table.open_time.tolist(),
                                             table.values["open"].tolist(), table.values["close"].tolist()):
            rows.setdefault(table.symbols[index], []).append((time, open_, close))
        for symbol, bars in rows.items():
            self.moves[symbol] = {bars[i][0]: bars[i + 1][2] > bars[i + 1][1] for i in range(len(bars) - 1)}
        await super().on_start()

    def new_state(self, symbol: str) -> Foresight:
        return Foresight(self.moves.get(symbol, {}), self.args.invert)


if __name__ == "__main__":
    main(OracleModel)
