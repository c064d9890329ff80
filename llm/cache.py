"""The LLM answer cache in the `llm_cache` database: same model, prompt and sampling, same answer.

Consumes the model file's sha256, the request (messages, schema, sampling parameters) and the
answer text; the key is sha256 of (model hash, canonical JSON of the request), the value the raw
answer text as the server sent it (parsed again on every read, so a bad answer stays bad).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

from storage.store import Store


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_key(model_sha256: str, request: dict) -> bytes:
    canonical = msgspec.json.encode(request, order="sorted")
    return hashlib.sha256(model_sha256.encode() + b"\0" + canonical).digest()


def get_answer(store: Store, key: bytes) -> str | None:
    with store.env.begin() as txn:
        value = txn.get(key, db=store.db("llm_cache"))
    return None if value is None else value.decode()


def put_answer(store: Store, key: bytes, answer: str) -> None:
    with store.env.begin(write=True) as txn:
        txn.put(key, answer.encode(), db=store.db("llm_cache"))
