"""`python -m supervisor llm tiny-model PATH` and `python -m supervisor llm check [--model PATH]`.

tiny-model writes the random-weight llama GGUF of `llm.tiny_model` (no download) so anyone can
smoke-test the LLM setup. check starts the configured server (`[mistral]`), waits until it is
ready, runs three health probes (liveness and a one-token completion), prints the results with
their units, and stops it; exit status 1 with the reason when the server cannot start.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import msgspec
from rich.console import Console

from config.schema import PeperConfig
from llm.server import LlmServer, ProbeFailed
from llm.tiny_model import write_tiny_model
from messages.errors import LlmError


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    llm = commands.add_parser("llm", parents=[common], help="LLM smoke tests: write a tiny model, check the server")
    actions = llm.add_subparsers(dest="llm_command", metavar="LLM_COMMAND", required=True)
    tiny = actions.add_parser("tiny-model", help="write a tiny random-weight llama GGUF (a few hundred KiB)")
    tiny.add_argument("path", type=Path, help="where to write the .gguf file")
    check_parser = actions.add_parser(
        "check", parents=[common], help="start the configured LLM server, probe it, stop it"
    )
    check_parser.add_argument(
        "--model",
        type=Path,
        help="model file to serve instead of [mistral] model_path (exactly this file: no fallback)",
    )
    check_parser.add_argument("--json", action="store_true", help="print one JSON document")


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    if args.llm_command == "tiny-model":
        tiny_model(args.path)
    else:
        check(config, args.model, args.json)
    return 0


def tiny_model(path: Path) -> None:
    written = write_tiny_model(path)
    Console(stderr=True).print(
        f"wrote {written} ({written.stat().st_size / 1024:.0f} KiB, random weights: for smoke tests only)"
    )


def check(config: PeperConfig, model: Path | None, as_json: bool) -> None:
    settings = (
        config.mistral if model is None else msgspec.structs.replace(config.mistral, model_path=str(model), fallback="")
    )
    result = asyncio.run(_check(LlmServer(settings)))
    if as_json:
        print(msgspec.json.encode(result).decode())
        return
    console = Console()
    console.print(f"LLM server [bold]ready[/] in {result['start_to_ready_s']:.2f} s at {result['url']}")
    console.print(
        "probe latency (liveness + one-token completion): "
        + ", ".join(f"{ms:.1f} ms" for ms in result["probe_latency_ms"])
    )


async def _check(server: LlmServer) -> dict[str, object]:
    seconds = await server.start()
    try:
        latencies = [await server.probe() for _ in range(3)]
    except ProbeFailed as exc:
        raise LlmError(f"the server started but a probe failed: {exc}") from exc
    finally:
        await server.stop()
    return {
        "url": server.base_url,
        "model": server.model_path,
        "start_to_ready_s": seconds,
        "probe_latency_ms": latencies,
    }
