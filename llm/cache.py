"""The LLM answer cache's key: same model file, prompt and sampling parameters, same key.

Consumes the model file and the request (messages, schema, sampling parameters); produces the
sha256 key under which `storage.llm_cache` keeps the answer.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_key(model_sha256: str, request: dict) -> bytes:
    canonical = msgspec.json.encode(request, order="sorted")
    return hashlib.sha256(model_sha256.encode() + b"\0" + canonical).digest()
