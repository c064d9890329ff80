"""lava_ai: volatility- and volume-adaptive mean reversion voting on every decision bar.

Consumes `md.bar`, `clock`; produces `sig.lava_ai` (`VoteBatch`) and `ack.lava_ai`.
Config: `[lava_ai]` (window, entry z-score, volume-spike z-score, trend filter). Logic: `signals.mean_reversion`.
"""

from __future__ import annotations

from actors.runtime.entry import main
from actors.voting import VotingActor
from signals.mean_reversion import MeanReversion


class LavaAi(VotingActor):
    def make_model(self) -> MeanReversion:
        return MeanReversion.of(self.config)


if __name__ == "__main__":
    main(LavaAi)
