"""LLM answers in `llm_cache`: key = sha256 of (model file hash, request), value = the answer text.

Written by mistral_ai only; read by it (a second replay asks nothing) and by the analytics. The
value is the raw text as the server sent it, parsed again on every read, so a bad answer stays bad.
"""

from __future__ import annotations

from storage.store import Store


def get_answer(store: Store, key: bytes) -> str | None:
    if not store.has("llm_cache"):
        return None
    with store.env.begin() as txn:
        value = txn.get(key, db=store.db("llm_cache"))
    return None if value is None else value.decode()


def put_answer(store: Store, key: bytes, answer: str) -> None:
    with store.write() as txn:
        txn.put(key, answer.encode(), db=store.db("llm_cache"))
