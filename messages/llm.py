"""The LLM server's health (topic `llm.status`), published by llm_supervisor."""

from __future__ import annotations

from typing import Literal

from messages.base import Message


class LlmStatus(Message, frozen=True):
    state: Literal["starting", "ready", "degraded", "down"]
    restarts: int = 0
    last_error: str = ""
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    retrying: bool = False  # down, and it will be started again (a restart with backoff); False: refused or given up
