"""One llama.cpp server process: checks before start, start, readiness, probes, stop.

Consumes `[mistral]` (the model it serves: `llm.models.served_model`, a fallback's sha256 checked
once); produces a running OpenAI-compatible server on 127.0.0.1 (by default
`python -m llama_cpp.server --model M --host H --port P`, or `server_command` with `{model}`,
`{host}`, `{port}` filled in), started through `llm.launch` so it dies with its parent, in its own
process group. `ServerRefused` says why it cannot start (model file missing, port taken by another
process); `probe()` returns the latency of a liveness request and a real one-token completion, or
raises `ProbeFailed` (`hung=True` when nothing answered within the timeout).
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sys
import time
from pathlib import Path

import httpx
import psutil

from common.process import ChildProcess
from config.llm import MistralConfig
from llm.models import missing_model_reason, served_model, verify
from messages.errors import LlmError


class ServerRefused(LlmError):
    """The server cannot be started; the message says why."""


class StartFailed(LlmError):
    """The server was started but did not come up (it exited, or was not ready in time): a failed
    start, which counts against the restart budget like a crash."""


class ProbeFailed(LlmError):
    def __init__(self, message: str, hung: bool):
        super().__init__(message)
        self.hung = hung


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


class LlmServer:
    def __init__(self, config: MistralConfig):
        self.config = config
        self.child = ChildProcess(tail_lines=20)
        self.base_url = f"http://{config.host}:{config.port}"
        self.model = served_model(config)
        self._verified: Path | None = None  # the model whose bytes were checked

    def command(self) -> list[str]:
        config = self.config
        if config.server_command:
            fill = {"model": self.model_path, "host": config.host, "port": str(config.port)}
            server = [part.format(**fill) for part in config.server_command]
        else:
            server = [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                self.model_path,
                "--host",
                config.host,
                "--port",
                str(config.port),
                "--n_ctx",
                str(config.n_ctx),
                "--verbose",
                "False",
            ]
        return [sys.executable, "-m", "llm.launch", str(os.getpid()), *server]

    @property
    def model_path(self) -> str:
        return str(self.model.path) if self.model is not None else self.config.model_path

    async def check_can_start(self, port_wait_s: float = 5.0) -> None:
        self.model = served_model(self.config)
        if self.model is None:
            raise ServerRefused(missing_model_reason(self.config))
        if self._verified != self.model.path:
            refused = await asyncio.to_thread(verify, self.model)
            if refused is not None:
                raise ServerRefused(refused)
            self._verified = self.model.path
        deadline = time.monotonic() + port_wait_s  # a server we just killed may still hold the port
        while not port_is_free(self.config.host, self.config.port):
            if time.monotonic() > deadline:
                raise ServerRefused(
                    f"port {self.config.port} on {self.config.host} is taken by another process ([mistral] port)"
                )
            await asyncio.sleep(0.1)

    async def start(self) -> float:
        """Start and wait until ready; return seconds to ready. ServerRefused when it cannot be
        tried (no model file, the port taken), StartFailed when it was tried and did not come up."""
        await self.check_can_start()
        started = time.monotonic()
        await self.child.start(self.command())
        deadline = started + self.config.startup_timeout_s
        async with httpx.AsyncClient(base_url=self.base_url, timeout=1.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if not self.child.running():
                    returncode = await self.child.wait()
                    raise StartFailed(
                        f"the server exited during start-up (status {returncode}): {self.child.last_line()}"
                    )
                try:
                    if (await client.get(self.config.health_path)).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        await self.stop()
        raise StartFailed(
            f"the server was not ready within {self.config.startup_timeout_s:g} s: {self.child.last_line()}"
        )

    def running(self) -> bool:
        return self.child.running()

    def cpu_seconds(self) -> float:
        """CPU time (user + system, s) the server's process and its children have used so far."""
        pid = self.child.pid
        if pid is None:
            return 0.0
        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for process in processes:
            try:
                used = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += used.user + used.system
        return total

    async def probe(self) -> float:
        """Liveness, then a real one-token completion; return the total latency in ms."""
        timeout = self.config.probe_timeout_s
        started = time.monotonic()
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=timeout, trust_env=False) as client:
                alive = await client.get(self.config.health_path)
                alive.raise_for_status()
                answer = await client.post(
                    "/v1/completions", json={"prompt": "ping", "max_tokens": 1, "temperature": 0}
                )
                answer.raise_for_status()
                if not answer.json().get("choices"):
                    raise ProbeFailed("the completion had no choices", hung=False)
        except httpx.TimeoutException as exc:
            raise ProbeFailed(f"no answer within {timeout:g} s ({type(exc).__name__})", hung=True) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise ProbeFailed(f"probe failed: {type(exc).__name__}: {exc}", hung=False) from exc
        return (time.monotonic() - started) * 1000

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL of the server's process group after the grace period."""
        await self.child.stop(self.config.stop_grace_s)
