"""mistral_ai: asks the local LLM for a vote every N bars per symbol, and holds it in between.

Consumes `md.kline`, `clock`, `llm.status`; produces `sig.mistral_ai` (`VoteBatch`) and
`ack.mistral_ai`; reads and writes the `llm_cache` database of `[database] path`.
Config: `[mistral_ai]` (every_n_bars, history_bars, temperature, seed, max_tokens, request
timeout), `[mistral]` (server address, model file).

Every `every_n_bars` bars of a symbol it asks `/v1/chat/completions` with a JSON schema (llama.cpp
constrains the output to it) for `{action, confidence, reason}` and parses the answer strictly;
a truncated or invalid answer, an HTTP error or a timeout becomes an abstention whose reason is
counted (`bad_<reason>` counters). Answers are cached under (model file sha256, request): a second
replay asks nothing. In replay a cache miss waits for the server, if one is in the topology and
not down (deterministic); live, a miss never blocks the bar: it abstains and the answer, when it
comes, is held for the following bars. While the server is not ready it abstains and says so.
"""

from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path

import httpx

from actors.base import main
from actors.voting import VotingActor
from llm.cache import cache_key, file_sha256, get_answer, put_answer
from llm.prompt import ANSWER_SCHEMA, BadAnswer, build_prompt, read_answer
from messages import topics
from messages.llm import LlmStatus
from messages.market import KlineBatch
from signals import Bar, Vote
from storage.store import Store


class MistralAi(VotingActor):
    subscriptions = (topics.KLINE, topics.CLOCK, topics.RESYNC)
    side_subscriptions = (topics.LLM_STATUS,)
    version = "mistral-1"

    async def on_start(self) -> None:
        config = self.config
        self.store = Store(Path(config.database.path), map_size_mb=config.database.map_size_mb)
        model = Path(config.mistral.model_path)
        self.model_sha256 = await asyncio.to_thread(file_sha256, model) if model.is_file() else "missing-model"
        self.replay = config.feed.mode == "replay"
        supervisor = config.actors.get("llm_supervisor")
        self.server_in_topology = supervisor is not None and supervisor.enabled
        self.llm_state = "starting" if self.server_in_topology else "down"
        self.llm_changed = asyncio.Event()
        self.history: dict[str, deque[tuple[float, float]]] = {}
        self.bars_seen: dict[str, int] = {}
        self.held: dict[str, Vote] = {}
        self.asking: set[str] = set()
        self.client = httpx.AsyncClient(base_url=f"http://{config.mistral.host}:{config.mistral.port}",
                                        timeout=config.mistral_ai.request_timeout_s, trust_env=False)
        self.counters.update(llm_requests=0, cache_hits=0, answers=0)
        await super().on_start()

    def recording(self) -> Store:
        return self.store  # one open LMDB environment per process

    def on_llm_status(self, topic: str, status: LlmStatus) -> None:
        """`LlmStatus(state="ready", latency_p50_ms=12.5, ...)` from llm_supervisor."""
        self.llm_state = status.state
        self.llm_changed.set()
        self.llm_changed = asyncio.Event()

    async def on_kline_batch(self, topic: str, batch: KlineBatch) -> None:
        """Vote each new bar; asking the LLM where a symbol's N-bar turn has come."""
        rows = self.fresh_rows(batch)
        votes = [await self._vote(batch, i) for i in rows]
        self.publish_votes(batch, rows, votes, self.version)

    def vote_rows(self, batch: KlineBatch, rows: list[int]) -> list[Vote]:
        """Rebuilding after a restart: only the bar history is restored."""
        for i in rows:
            self._remember(batch, i)
        return [Vote(None, 0.0, "rebuilding") for _ in rows]

    def _remember(self, batch: KlineBatch, i: int) -> str | None:
        symbol = batch.symbol[i]
        bar = Bar(batch.open_time[i], batch.open[i], batch.high[i], batch.low[i], batch.close[i], batch.volume[i])
        problem = self.unusable(symbol, bar)
        if problem:
            return problem
        window = self.config.mistral_ai.history_bars
        self.history.setdefault(symbol, deque(maxlen=window)).append((bar.close, bar.volume))
        self.bars_seen[symbol] = self.bars_seen.get(symbol, 0) + 1
        return None

    async def _vote(self, batch: KlineBatch, i: int) -> Vote:
        problem = self._remember(batch, i)
        if problem:
            return Vote(None, 0.0, problem)
        symbol = batch.symbol[i]
        settings = self.config.mistral_ai
        seen = self.bars_seen[symbol]
        if seen < settings.history_bars:
            return Vote(None, 0.0, f"warm-up {seen}/{settings.history_bars} bars")
        if (seen - settings.history_bars) % settings.every_n_bars == 0:
            self.held[symbol] = await self._ask(symbol)
        held = self.held.get(symbol, Vote(None, 0.0, "no answer yet"))
        return held

    async def _ask(self, symbol: str) -> Vote:
        settings = self.config.mistral_ai
        closes, volumes = zip(*self.history[symbol])
        request = {
            "messages": build_prompt(symbol, list(closes), list(volumes)),
            "response_format": {"type": "json_object", "schema": ANSWER_SCHEMA},
            "temperature": settings.temperature, "seed": settings.seed, "max_tokens": settings.max_tokens,
        }
        key = cache_key(self.model_sha256, request)
        text = get_answer(self.store, key)
        if text is not None:
            self.counters["cache_hits"] += 1
            return self._read(text)
        if not self.replay:
            if self.llm_state in ("ready", "degraded") and symbol not in self.asking:
                self.asking.add(symbol)
                self.spawn(self._ask_in_background(symbol, request, key), f"ask-{symbol}")
            return self._abstain("not_ready" if self.llm_state not in ("ready", "degraded") else "asking",
                                 f"LLM server {self.llm_state}; no cached answer")
        if not await self._server_ready():
            return self._abstain("not_ready", f"LLM server {self.llm_state}: no answer in cache")
        text = await self._request(request)
        if isinstance(text, Vote):
            return text
        put_answer(self.store, key, text)
        return self._read(text)

    async def _server_ready(self) -> bool:
        """Replay: wait while a server in the topology is starting; never wait for one that is down."""
        deadline = asyncio.get_running_loop().time() + self.config.mistral.startup_timeout
        while self.llm_state == "starting" and self.server_in_topology:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self.llm_changed.wait(), remaining)
            except TimeoutError:
                return False
        return self.llm_state in ("ready", "degraded")

    async def _ask_in_background(self, symbol: str, request: dict, key: bytes) -> None:
        try:
            text = await self._request(request)
            if not isinstance(text, Vote):
                put_answer(self.store, key, text)
                self.held[symbol] = self._read(text)
        finally:
            self.asking.discard(symbol)

    async def _request(self, request: dict) -> str | Vote:
        self.counters["llm_requests"] += 1
        try:
            response = await self.client.post("/v1/chat/completions", json=request)
            response.raise_for_status()
            return response.json()["choices"][0]["message"]["content"]
        except httpx.TimeoutException:
            return self._abstain("timeout", f"no answer within {self.config.mistral_ai.request_timeout_s:g} s")
        except httpx.HTTPStatusError as exc:
            return self._abstain("http_status", f"HTTP {exc.response.status_code} from the LLM server")
        except httpx.HTTPError as exc:
            return self._abstain("http_error", f"{type(exc).__name__}: {exc}")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return self._abstain("bad_response", f"not an OpenAI chat completion: {exc}")

    def _read(self, text: str) -> Vote:
        try:
            answer = read_answer(text)
        except BadAnswer as exc:
            return self._abstain(exc.reason, f"{exc} in {text[:60]!r}")
        self.counters["answers"] += 1
        return Vote(answer.action, answer.confidence, answer.reason[:80])

    def _abstain(self, reason: str, detail: str) -> Vote:
        key = f"bad_{reason}"
        count = self.counters[key] = self.counters.get(key, 0) + 1
        if count <= 5 or count % 100 == 0:
            self.log.warning("no vote (%s, #%d): %s", reason, count, detail)
        return Vote(None, 0.0, f"{reason}: {detail}"[:160])

    async def on_stop(self) -> None:
        await self.client.aclose()
        self.store.close()


if __name__ == "__main__":
    main(MistralAi)
