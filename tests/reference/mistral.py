"""The held-vote rule of mistral_ai, one bar at a time: a reference for `llm.voter.MistralModel`.

Each decision bar extends the symbol's window of closes and volumes (the last `window` bars); once
the window is full, every `every`-th bar asks (`ask(symbol, closes, volumes) -> (action, confidence,
reason)`) and the answer holds until the next question; before it, the bar abstains as warm-up.
"""

from __future__ import annotations

from collections.abc import Callable

Answer = tuple[str | None, float, str]


class HeldVotes:
    def __init__(self, window: int, every: int, ask: Callable[[str, list, list], Answer]):
        self.window, self.every, self.ask = window, every, ask
        self.closes: dict[str, list[float]] = {}
        self.volumes: dict[str, list[float]] = {}
        self.seen: dict[str, int] = {}
        self.held: dict[str, Answer] = {}

    def update(self, symbol: str, close: float, volume: float) -> Answer:
        closes = self.closes[symbol] = (self.closes.get(symbol, []) + [close])[-self.window :]
        volumes = self.volumes[symbol] = (self.volumes.get(symbol, []) + [volume])[-self.window :]
        seen = self.seen[symbol] = self.seen.get(symbol, 0) + 1
        if seen < self.window:
            return None, 0.0, "warm-up"
        if (seen - self.window) % self.every == 0:
            self.held[symbol] = self.ask(symbol, closes, volumes)
        return self.held[symbol]
