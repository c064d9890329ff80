"""Config sections of the LLM: `[mistral]` (the server and its health) and `[mistral_ai]` (the model)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from common.times import Duration
from config.section import NonNegativeInt, Port, PositiveInt, Seconds, Section


class MistralConfig(Section, frozen=True):
    model_path: str = "models/mistral-7b-instruct-v0.1.Q4_K_M.gguf"
    fallback: Literal["smollm2", ""] = "smollm2"
    host: str = "127.0.0.1"
    port: Port = 8080
    startup_timeout_s: Seconds = 120.0
    health_check_interval_s: Seconds = 30.0
    server_command: list[str] = msgspec.field(default_factory=list)
    health_path: str = "/v1/models"
    n_ctx: PositiveInt = 2048
    probe_timeout_s: Seconds = 10.0
    probe_failures_to_restart: PositiveInt = 2
    stop_grace_s: Seconds = 5.0
    max_restarts: NonNegativeInt = 5
    restart_period_s: Seconds = 600.0
    backoff_initial_s: Seconds = 0.5
    backoff_max_s: Seconds = 30.0


class MistralAiConfig(Section, frozen=True):
    every: Duration = "7d"
    history: Duration = "30d"
    temperature: Annotated[float, Meta(ge=0.0, le=2.0)] = 0.0
    seed: NonNegativeInt = 7
    max_tokens: PositiveInt = 96
    request_timeout_s: Seconds = 60.0
