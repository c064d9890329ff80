"""mistral_ai: asks the local LLM for a vote every so often per symbol, and holds it in between.

Consumes `md.bar` (decision bars), `clock`, `llm.status`; produces `sig.mistral_ai` (`VoteBatch`) and
`ack.mistral_ai`; reads and writes the `llm_cache` database of its own store (`[database] path`
on its host — on another host, the agent's `--data` folder: a local store, never the recorder's
disk; it talks to the LLM server of its own host, so `llm_supervisor` goes where it goes). Config: `[mistral_ai]` (every, history, temperature, seed, max_tokens,
request timeout), `[mistral]` (server address, model file). The model: `llm.voter`.

The question goes to `/v1/chat/completions` with a JSON schema (llama.cpp constrains the output to
it); an HTTP error or a timeout becomes an abstention whose reason is counted. Answers are cached
under (model file sha256, request): a second replay asks nothing. In replay a cache miss waits for
the server, if one is in the topology and not down for good — starting, or down and being started
again (`LlmStatus.retrying`) — and a request that fails because the server went away (killed,
hung) is asked again once the supervisor says it is back, up to `REPLAY_ATTEMPTS` times: so a
replay's votes are the same whatever happened to the server (deterministic). Live, a miss never
blocks the bar: it abstains, and the answer, when it comes, is held for the following bars. While
the server is not ready it abstains and says so.
"""

from __future__ import annotations

import asyncio

import httpx

from actors.runtime.entry import main
from actors.voting import VotingActor
from common.times import INTERVAL_MS
from llm.cache import cache_key, file_sha256
from llm.models import served_model
from llm.voter import Abstain, MistralModel
from messages import topics
from messages.counters import MistralCounters
from messages.llm import LlmStatus
from storage.llm_cache import get_answer, put_answer

REPLAY_ATTEMPTS = 5  # a replay's tries of one question
TRANSIENT = frozenset({"http_error", "timeout", "http_status"})  # the server went away, hung or choked
WAITING = "unknown"  # replay, after a failed request: the state is stale until the supervisor's next word


class MistralAi(VotingActor):
    side_subscriptions = (topics.LLM_STATUS,)
    Counters = MistralCounters

    def make_model(self) -> MistralModel:
        return MistralModel(
            self.config.mistral_ai,
            self.config.test.symbols,
            INTERVAL_MS[self.config.feed.decision_interval],
            self._ask,
            self.counters,
            self.log.warning,
            self.model_name,
        )

    async def on_start(self) -> None:
        config = self.config
        served = served_model(config.mistral)
        self.model_name = served.name if served is not None else "no model"
        self.model_sha256 = await asyncio.to_thread(file_sha256, served.path) if served is not None else "missing-model"
        self.log.info("mistral_ai asks %s", self.model_name)
        self.server_in_topology = self.topology.llm is not None
        self.llm_state = "starting" if self.server_in_topology else "down"
        self.llm_retrying = False
        self.llm_changed = asyncio.Event()
        self.asking: set[str] = set()
        self.client = httpx.AsyncClient(
            base_url=f"http://{config.mistral.host}:{config.mistral.port}",
            timeout=config.mistral_ai.request_timeout_s,
            trust_env=False,
        )
        await super().on_start()

    def on_llm_status(self, topic: str, status: LlmStatus) -> None:
        """`LlmStatus(state="ready", latency_p50_ms=12.5, ...)` from llm_supervisor."""
        self.llm_state = status.state
        self.llm_retrying = status.retrying
        self.llm_changed.set()
        self.llm_changed = asyncio.Event()

    async def _ask(self, symbol: str, request: dict) -> str | Abstain:
        key = cache_key(self.model_sha256, request)
        store = self.stores.own()
        text = get_answer(store, key)
        if text is not None:
            self.counters.cache_hits += 1
            return text
        ready = self.llm_state in ("ready", "degraded")
        if not self.replay:
            if ready and symbol not in self.asking:
                self.asking.add(symbol)
                self.spawn(self._ask_in_background(symbol, request, key), f"ask-{symbol}")
            return Abstain("not_ready" if not ready else "asking", f"LLM server {self.llm_state}; no cached answer")
        for attempt in range(1, REPLAY_ATTEMPTS + 1):
            if not await self._server_ready():
                return Abstain("not_ready", f"LLM server {self.llm_state}: no answer in cache")
            text = await self._request(request)
            if isinstance(text, str):
                put_answer(store, key, text)
                return text
            if text.reason not in TRANSIENT or not self.server_in_topology or attempt == REPLAY_ATTEMPTS:
                return text
            self.counters.retried_requests += 1
            self.llm_state = WAITING
        return text

    def _waiting(self) -> bool:
        state = self.llm_state
        return self.server_in_topology and (state in ("starting", WAITING) or state == "down" and self.llm_retrying)

    async def _server_ready(self) -> bool:
        """Replay: wait while a server in the topology is starting or being restarted; never wait for
        one that is down for good (refused, or its restart budget spent)."""
        loop = asyncio.get_running_loop()
        mistral = self.config.mistral
        deadline = loop.time() + (mistral.startup_timeout_s + mistral.backoff_max_s) * (mistral.max_restarts + 1)
        while self._waiting():
            remaining = deadline - loop.time()
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
            if isinstance(text, str):
                put_answer(self.stores.own(), key, text)
                self.model.hold(symbol, text)
        finally:
            self.asking.discard(symbol)

    async def _request(self, request: dict) -> str | Abstain:
        self.counters.llm_requests += 1
        try:
            response = await self.client.post("/v1/chat/completions", json=request)
            response.raise_for_status()
            return response.json()["choices"][0]["message"]["content"]
        except httpx.TimeoutException:
            return Abstain("timeout", f"no answer within {self.config.mistral_ai.request_timeout_s:g} s")
        except httpx.HTTPStatusError as exc:
            return Abstain("http_status", f"HTTP {exc.response.status_code} from the LLM server")
        except httpx.HTTPError as exc:
            return Abstain("http_error", f"{type(exc).__name__}: {exc}")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return Abstain("bad_response", f"not an OpenAI chat completion: {exc}")

    async def on_stop(self) -> None:
        await self.client.aclose()


if __name__ == "__main__":
    main(MistralAi)
