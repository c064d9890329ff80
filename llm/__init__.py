"""The local LLM: a tiny test model, the server process and its health, prompts and answers.

`tiny_model` writes a small random-weight llama GGUF (no download); `server` starts, probes and
stops an OpenAI-compatible llama.cpp server; `prompt` builds mistral_ai's compact market summary
and parses the answer strictly; `cache` keys answers by model hash, prompt and sampling.
Imports `messages`, `config` and `storage` only.
"""
