"""oracle_model: a test-only model that votes with knowledge of the next decision bar (or against it).

Consumes `md.bar`, `clock` like any model; produces `sig.<name>`. It loads the same replay source
the feed uses, aggregates its decision bars as the feed does, and votes, for decision bar t, BUY
when bar t+1 closes above its open (the price the trade fills at, held until the next decision)
and SELL otherwise, with confidence 1; `--invert` makes it always wrong. Run it with `role =
"model"` (`module = "tests.helpers.oracle_model"`).
"""

from __future__ import annotations

import argparse

import numpy as np

from actors.runtime.entry import main
from actors.voting import VotingActor
from common.times import INTERVAL_MS, parse_time
from marketdata.chunk import BarChunk
from marketdata.chunks import TickChunker
from marketdata.sources import load_source
from signals.model import BUY, SELL, Votes


class Foresight:
    """Votes each row by the next bar of its symbol; knows nothing of its own to snapshot."""

    def __init__(self, rises: dict[tuple[int, int], bool], invert: bool):
        self.rises, self.invert = rises, invert

    def version(self) -> str:
        return "oracle"

    def vote(self, chunk: BarChunk) -> Votes:
        votes = Votes.abstaining(chunk)
        for row, (symbol, time) in enumerate(zip(chunk.symbol.tolist(), chunk.open_time.tolist())):
            rises = self.rises.get((symbol, time))
            if rises is None or chunk.problem[row]:
                votes.reason[row] = "no next bar" if rises is None else votes.reason[row]
                continue
            votes.action[row] = BUY if rises != self.invert else SELL
            votes.confidence[row] = 1.0
            votes.reason[row] = "knows the next bar"
        return votes

    def snapshot(self) -> bytes:
        return b""

    def take_journal(self) -> bytes | None:
        return None

    def horizon(self) -> int | None:
        return None

    def restore(self, raw: bytes, journal: list[bytes]) -> None:
        pass


class OracleModel(VotingActor):
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--invert", action="store_true", help="always vote the wrong way")

    def make_model(self) -> Foresight:
        feed, symbols = self.config.feed, self.config.test.symbols
        table = load_source(
            feed.source,
            interval=feed.interval,
            symbols=symbols,
            start_ms=parse_time(feed.start) if feed.start else None,
            end_ms=parse_time(feed.end) if feed.end else None,
        )
        bars = TickChunker(table, INTERVAL_MS[feed.decision_interval]).decision
        rises: dict[tuple[int, int], bool] = {}
        for index, name in enumerate(table.symbols):
            rows = np.flatnonzero(bars.symbol_index == index)
            times, opens, closes = bars.open_time[rows], bars.values["open"][rows], bars.values["close"][rows]
            universe_index = symbols.index(name)
            for i in range(len(rows) - 1):
                rises[(universe_index, int(times[i]))] = bool(closes[i + 1] > opens[i + 1])
        return Foresight(rises, self.args.invert)


if __name__ == "__main__":
    main(OracleModel)
