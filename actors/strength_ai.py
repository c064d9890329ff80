"""strength_ai: cross-sectional relative strength — the strongest symbols BUY, the weakest SELL.

Consumes `md.bar`, `clock`; produces `sig.strength_ai` (`VoteBatch`) and `ack.strength_ai`.
Config: `[strength_ai]` (lookbacks, how many, the absolute filter). Logic: `signals.strength`.
"""

from __future__ import annotations

from actors.runtime.entry import main
from actors.voting import VotingActor
from signals.strength import RelativeStrength


class StrengthAi(VotingActor):
    def make_model(self) -> RelativeStrength:
        return RelativeStrength.of(self.config)


if __name__ == "__main__":
    main(StrengthAi)
