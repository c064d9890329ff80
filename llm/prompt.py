"""mistral_ai's question and the strict reading of the answer.

Consumes a symbol's recent bars; produces a compact chat prompt (the last closes as % changes,
range, volume ratio, RSI-like up-share), the JSON schema of the only acceptable answer
`{"action": "BUY"|"SELL"|"HOLD", "confidence": 0..1, "reason": str}`, and `read_answer`, which
returns a `LlmAnswer` or raises `BadAnswer` with a counted reason (`not_json`, `wrong_shape`).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

import msgspec

from messages.errors import BadAnswer

SYSTEM = (
    "You are a cautious crypto trading assistant{model}. Reply with JSON only: "
    '{{"action": "BUY" | "SELL" | "HOLD", "confidence": number from 0 to 1, "reason": short text}}.'
)
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["BUY", "SELL", "HOLD"]},
        # llama.cpp's grammar cannot bound a number, but it can hold it to a list of values
        "confidence": {"enum": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]},
        "reason": {"type": "string", "pattern": "^[A-Za-z0-9 ,.%+-]{0,60}$"},  # short plain text
    },
    "required": ["action", "confidence", "reason"],
}


class LlmAnswer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    action: Literal["BUY", "SELL", "HOLD"]
    confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
    reason: str


_ANSWER = msgspec.json.Decoder(LlmAnswer)


def build_prompt(
    symbol: str, closes: list[float], volumes: list[float], interval: str = "bar", model: str = ""
) -> list[dict[str, str]]:
    """`model`: the name of the model answering, said in the system prompt (its answers are its own)."""
    changes = [f"{(b / a - 1) * 100:+.2f}" for a, b in itertools.pairwise(closes)]
    ups = sum(1 for a, b in itertools.pairwise(closes) if b > a)
    mean_volume = sum(volumes[:-1]) / max(1, len(volumes) - 1)
    summary = (
        f"{symbol}, last {len(closes)} {interval} bars. Close {closes[-1]:.6g}. "
        f"Change over the window {(closes[-1] / closes[0] - 1) * 100:+.2f}%. "
        f"High-low range {(max(closes) / min(closes) - 1) * 100:.2f}%. Up bars {ups}/{len(changes)}. "
        f"Last volume / mean {volumes[-1] / mean_volume if mean_volume else 0:.2f}. "
        f"Bar changes %: {' '.join(changes[-12:])}. What now?"
    )
    system = SYSTEM.format(model=f" ({model} answering)" if model else "")
    return [{"role": "system", "content": system}, {"role": "user", "content": summary}]


def read_answer(text: str) -> LlmAnswer:
    try:
        return _ANSWER.decode(text)
    except msgspec.ValidationError as exc:
        raise BadAnswer("wrong_shape", str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise BadAnswer("not_json", str(exc)) from exc
