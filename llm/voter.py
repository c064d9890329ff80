"""mistral_ai's model: every N bars of a symbol it asks the LLM for a vote, and holds the answer in between.

Consumes chunks of bars; produces votes (`signals.model.Votes`). Every `every_n_bars` bars of a
symbol, once `history_bars` bars are known, it builds the prompt (`llm.prompt`) and asks through
the `ask` callable the actor hands in — which answers from the cache, or the server, or abstains
with a reason (`Abstain`) — and parses the answer strictly: a malformed answer is an abstention
whose reason is counted. The vote holds until the next question. State: each symbol's recent bars,
bars seen, and the vote it holds (a snapshot, so a restart resumes exactly).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
import numpy as np

from config.llm import MistralAiConfig
from llm.prompt import ANSWER_SCHEMA, build_prompt, read_answer
from marketdata.chunk import BarChunk
from messages.counters import MistralCounters, bump
from messages.errors import BadAnswer
from signals.model import ABSTAIN, ACTION_CODES, WARM_UP, Votes

NO_ANSWER_YET = "no answer yet"


class Abstain(msgspec.Struct, frozen=True):
    """No answer for this question: `reason` is counted, `detail` shown."""
    reason: str
    detail: str


class HeldVote(msgspec.Struct, frozen=True):
    action: int = ABSTAIN
    confidence: float = 0.0
    reason: str = NO_ANSWER_YET


class SymbolHistory(msgspec.Struct):
    closes: list[float] = []
    volumes: list[float] = []
    seen: int = 0
    held: HeldVote = HeldVote()


Ask = Callable[[str, dict], Awaitable["str | Abstain"]]


class MistralModel:
    def __init__(self, config: MistralAiConfig, symbols: list[str], ask: Ask, counters: MistralCounters,
                 warn: Callable[[str], None] = lambda text: None):
        self.config, self.symbols, self.ask, self.counters, self.warn = config, list(symbols), ask, counters, warn
        self.histories: dict[str, SymbolHistory] = {}

    def version(self) -> str:
        return "mistral-1"

    async def vote(self, chunk: BarChunk) -> Votes:
        votes = Votes.abstaining(chunk)
        config = self.config
        window = config.history_bars
        usable = np.flatnonzero(chunk.problem == 0)
        closes, volumes, symbols = chunk.close[usable].tolist(), chunk.volume[usable].tolist(), chunk.symbol[usable].tolist()
        for row, close, volume, index in zip(usable.tolist(), closes, volumes, symbols):
            symbol = self.symbols[index]
            history = self.histories.get(symbol)
            if history is None:
                history = self.histories[symbol] = SymbolHistory()
            history.closes = [*history.closes[-(window - 1):], close] if window > 1 else [close]
            history.volumes = [*history.volumes[-(window - 1):], volume] if window > 1 else [volume]
            history.seen += 1
            if history.seen < window:
                votes.reason[row] = WARM_UP
                continue
            if (history.seen - window) % config.every_n_bars == 0:
                history.held = await self._question(symbol, history)
            held = history.held
            votes.action[row], votes.confidence[row], votes.reason[row] = held.action, held.confidence, held.reason
        return votes

    def request(self, symbol: str, history: SymbolHistory) -> dict:
        config = self.config
        return {
            "messages": build_prompt(symbol, history.closes, history.volumes),
            "response_format": {"type": "json_object", "schema": ANSWER_SCHEMA},
            "temperature": config.temperature, "seed": config.seed, "max_tokens": config.max_tokens,
        }

    async def _question(self, symbol: str, history: SymbolHistory) -> HeldVote:
        text = await self.ask(symbol, self.request(symbol, history))
        if isinstance(text, Abstain):
            return self._abstain(text.reason, text.detail)
        try:
            answer = read_answer(text)
        except BadAnswer as exc:
            return self._abstain(exc.reason, f"{exc} in {text[:60]!r}")
        self.counters.answers += 1
        return HeldVote(ACTION_CODES[answer.action], answer.confidence, answer.reason[:80])

    def _abstain(self, reason: str, detail: str) -> HeldVote:
        count = bump(self.counters.no_vote, reason)
        if count <= 5 or count % 100 == 0:
            self.warn(f"no vote ({reason}, #{count}): {detail}")
        return HeldVote(ABSTAIN, 0.0, f"{reason}: {detail}"[:160])

    def hold(self, symbol: str, text: str) -> None:
        """Live: an answer that came after its bar was voted is held for the bars that follow."""
        history = self.histories.get(symbol)
        if history is not None:
            try:
                answer = read_answer(text)
            except BadAnswer as exc:
                history.held = self._abstain(exc.reason, f"{exc} in {text[:60]!r}")
                return
            self.counters.answers += 1
            history.held = HeldVote(ACTION_CODES[answer.action], answer.confidence, answer.reason[:80])

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.histories)

    def take_journal(self) -> bytes | None:
        return None

    def horizon(self) -> int | None:
        return None

    def restore(self, raw: bytes, journal: list[bytes] | None = None) -> None:
        self.histories = msgspec.msgpack.decode(raw, type=dict[str, SymbolHistory])
