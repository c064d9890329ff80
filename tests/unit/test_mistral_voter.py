"""mistral_ai's votes, a chunk at a time, equal the held-vote rule applied bar by bar
(`tests.reference.mistral`) on real bars of three symbols, however the bars are cut into chunks
(1, 7 or 256 ticks) and with unusable rows among them: the same questions in the same order, the
same actions, confidences and reasons, and a restored model goes on as one that never stopped."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from common.times import DAY_MS
from config.llm import MistralAiConfig
from llm.prompt import build_prompt
from llm.voter import Abstain, MistralModel
from marketdata.chunk import BarChunk, Universe
from marketdata.files import read_kline_files
from messages.counters import MistralCounters
from messages.market import KlineBatch
from tests.helpers.data import KLINES, requires_shared_data
from tests.reference.mistral import HeldVotes

SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT"]
TICKS = 1_500
COLUMNS = ("open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base")
CONFIG = MistralAiConfig(history="12d", every="5d")  # the 1m bars taken as daily decision bars
HISTORY, EVERY = 12, 5


@pytest.fixture(scope="module")
def rows():
    """Every symbol's first bars, tick-major as the feed sends them; every 97th row has no close."""
    per_symbol = {}
    for symbol in SYMBOLS:
        times, columns = read_kline_files(KLINES / f"{symbol}-1m.csv.gz", "1m")[symbol]
        per_symbol[symbol] = (times[:TICKS], {c: columns[c][:TICKS].copy() for c in COLUMNS})
    table = [
        (int(per_symbol[s][0][t]), s, {c: float(per_symbol[s][1][c][t]) for c in COLUMNS})
        for t in range(TICKS)
        for s in SYMBOLS
    ]
    for row in table[::97]:
        row[2]["close"] = float("nan")
    return table


def answer(symbol: str, closes: list[float], volumes: list[float]) -> tuple[str | None, float, str] | Abstain:
    digest = hashlib.sha256(json.dumps(build_prompt(symbol, closes, volumes)).encode()).digest()
    if digest[0] % 6 == 0:
        return Abstain(reason="timeout", detail=f"question {digest[1]}")
    return ("BUY", "SELL", "HOLD")[digest[2] % 3], digest[3] % 11 / 10, f"because {digest[4]}"


class Asker:
    def __init__(self):
        self.asked: list[str] = []

    async def __call__(self, symbol: str, request: dict) -> str | Abstain:
        messages = request["messages"]
        self.asked.append(f"{symbol} {messages[-1]['content']}")
        closes, volumes = self.prompted[len(self.asked) - 1]
        found = answer(symbol, closes, volumes)
        if isinstance(found, Abstain):
            return found
        return json.dumps({"action": found[0], "confidence": found[1], "reason": found[2]})


def chunks(rows, size: int):
    universe = Universe(SYMBOLS)
    step = size * len(SYMBOLS)
    for lo in range(0, len(rows), step):
        part = rows[lo : lo + step]
        batch = KlineBatch.of(
            interval_ms=60_000,
            symbol=[r[1] for r in part],
            open_time=[r[0] for r in part],
            **{c: [r[2][c] for r in part] for c in COLUMNS},
        )
        yield BarChunk.from_batch(batch, universe)


def reference(rows):
    asked: list[tuple[str, list, list]] = []

    def ask(symbol, closes, volumes):
        asked.append((symbol, list(closes), list(volumes)))
        found = answer(symbol, closes, volumes)
        if isinstance(found, Abstain):
            return None, 0.0, f"{found.reason}: {found.detail}"
        return found

    oracle = HeldVotes(HISTORY, EVERY, ask)
    votes = [
        oracle.update(s, c["close"], c["volume"]) if c["close"] == c["close"] else (None, 0.0, "unusable")
        for _, s, c in rows
    ]
    return votes, asked


def voted(model: MistralModel, asker: Asker, parts) -> list[tuple[str | None, float, str]]:
    out = []
    for chunk in parts:
        votes = asyncio.run(model.vote(chunk))
        usable = chunk.problem == 0
        rows = zip(votes.names(), votes.confidence.tolist(), votes.reason.tolist(), usable)
        for name, confidence, reason, ok in rows:
            out.append((name, confidence, reason) if ok else (None, 0.0, "unusable"))
    return out


@requires_shared_data
@pytest.mark.parametrize("size", (1, 7, 256))
def test_votes_equal_the_per_bar_rule_across_chunks(rows, size):
    expected, questions = reference(rows)
    asker = Asker()
    asker.prompted = [(closes, volumes) for _, closes, volumes in questions]
    model = MistralModel(CONFIG, SYMBOLS, DAY_MS, asker, MistralCounters())
    got = voted(model, asker, chunks(rows, size))
    assert [f"{s} {build_prompt(s, c, v, '1d')[-1]['content']}" for s, c, v in questions] == asker.asked
    assert len(questions) > 100 and {a for a, _, _ in got} == {"BUY", "SELL", "HOLD", None}
    assert got == expected


@requires_shared_data
def test_a_restored_model_votes_as_one_that_never_stopped(rows):
    expected, questions = reference(rows)
    prompted = [(closes, volumes) for _, closes, volumes in questions]
    cut = 700 * len(SYMBOLS)
    first = Asker()
    first.prompted = prompted
    head_model = MistralModel(CONFIG, SYMBOLS, DAY_MS, first, MistralCounters())
    head = voted(head_model, first, chunks(rows[:cut], 7))
    second = Asker()
    second.prompted = prompted[len(first.asked) :]
    tail_model = MistralModel(CONFIG, SYMBOLS, DAY_MS, second, MistralCounters())
    tail_model.restore(head_model.snapshot())
    assert head + voted(tail_model, second, chunks(rows[cut:], 7)) == expected
