"""mistral_ai's model: every so often it asks the LLM for a symbol's vote, and holds the answer in between.

Consumes decision bars (`md.bar`); produces votes (`signals.model.Votes`). Every `[mistral_ai]
every` of a symbol's bars (a period in time, counted in decision bars), once `history` of bars is
known, it builds the prompt (`llm.prompt`) and asks through
the `ask` callable the actor hands in — which answers from the cache, or the server, or abstains
with a reason (`Abstain`) — and parses the answer strictly: a malformed answer is an abstention
whose reason is counted. The vote holds until the next question. State: each symbol's recent bars,
bars seen, and the vote it holds (a snapshot, so a restart resumes exactly).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
import numpy as np

from common.times import in_bars, interval_name
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


class _SymbolPlan:
    """One symbol's rows of a chunk: which of them ask (every N bars once `window` bars are known),
    the history each question sees, and, once answered, the votes; it advances the symbol's history."""

    def __init__(
        self,
        symbol: str,
        rows: np.ndarray,
        history: SymbolHistory,
        closes: list[float],
        volumes: list[float],
        window: int,
        every: int,
    ):
        self.symbol, self.rows, self.window = symbol, rows, window
        self.kept = len(history.closes)
        self.closes, self.volumes = history.closes + closes, history.volumes + volumes
        self.seen = history.seen + 1 + np.arange(len(rows))  # bars seen after each row
        self.questions = np.flatnonzero((self.seen >= window) & ((self.seen - window) % every == 0)).tolist()
        self.answers: list[HeldVote] = [history.held]  # the vote held before the chunk, then each answer
        self.history = history
        history.closes, history.volumes = self.closes[-window:], self.volumes[-window:]
        history.seen += len(rows)

    def history_at(self, j: int) -> SymbolHistory:
        end = self.kept + j + 1
        return SymbolHistory(
            closes=self.closes[max(0, end - self.window) : end],
            volumes=self.volumes[max(0, end - self.window) : end],
            seen=int(self.seen[j]),
        )

    def fill(self, votes: Votes) -> None:
        if len(self.answers) == 1:
            self.answers[0] = self.history.held  # live: an answer may have come in (`hold`) meanwhile
        self.history.held = self.answers[-1]
        warm = self.seen < self.window
        votes.reason[self.rows[warm]] = WARM_UP
        voting = self.rows[~warm]
        if not len(voting):
            return
        held = np.searchsorted(self.questions, np.flatnonzero(~warm), side="right")
        answers = self.answers
        votes.action[voting] = np.array([a.action for a in answers], np.int8)[held]
        votes.confidence[voting] = np.array([a.confidence for a in answers])[held]
        votes.reason[voting] = np.array([a.reason for a in answers], dtype=object)[held]


class MistralModel:
    def __init__(
        self,
        config: MistralAiConfig,
        symbols: list[str],
        decision_ms: int,
        ask: Ask,
        counters: MistralCounters,
        warn: Callable[[str], None] = lambda text: None,
        model_name: str = "",
    ):
        self.config, self.symbols, self.ask, self.counters, self.warn = config, list(symbols), ask, counters, warn
        self.model_name = model_name  # said in the prompt
        self.window, self.every = max(2, in_bars(config.history, decision_ms)), in_bars(config.every, decision_ms)
        self.interval = interval_name(decision_ms)
        self.histories: dict[str, SymbolHistory] = {}

    def version(self) -> str:
        return "mistral-1"

    async def vote(self, chunk: BarChunk) -> Votes:
        """Each symbol's rows at once: the questions fall on known rows (every N bars after the warm-up),
        are asked in row order, and each answer fills the rows up to the next question."""
        votes = Votes.abstaining(chunk)
        plans = [self._plan(symbol, rows, chunk) for symbol, rows in chunk.rows_by_symbol()]
        questions = sorted((int(plan.rows[j]), i, j) for i, plan in enumerate(plans) for j in plan.questions)
        for _, i, j in questions:
            plans[i].answers.append(await self._question(plans[i].symbol, plans[i].history_at(j)))
        for plan in plans:
            plan.fill(votes)
        return votes

    def _plan(self, index: int, rows: np.ndarray, chunk: BarChunk) -> _SymbolPlan:
        symbol = self.symbols[index]
        history = self.histories.get(symbol)
        if history is None:
            history = self.histories[symbol] = SymbolHistory()
        return _SymbolPlan(
            symbol, rows, history, chunk.close[rows].tolist(), chunk.volume[rows].tolist(), self.window, self.every
        )

    def request(self, symbol: str, history: SymbolHistory) -> dict:
        config = self.config
        return {
            "messages": build_prompt(symbol, history.closes, history.volumes, self.interval, self.model_name),
            "response_format": {"type": "json_object", "schema": ANSWER_SCHEMA},
            "temperature": config.temperature,
            "seed": config.seed,
            "max_tokens": config.max_tokens,
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
