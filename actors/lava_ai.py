"""lava_ai: volatility- and volume-adaptive mean reversion voting on every bar.

Consumes `md.kline`, `clock`; produces `sig.lava_ai` (`VoteBatch`) and `ack.lava_ai`.
Config: `[lava_ai]` (window, entry z-score, volume-spike z-score). Logic: `models.mean_reversion`.
"""

from __future__ import annotations

from actors.base import main
from actors.voting import VotingActor
from signals.mean_reversion import MeanReversion


class LavaAi(VotingActor):
    version = "meanrev-1"

    def new_state(self, symbol: str) -> MeanReversion:
        return MeanReversion(self.config.lava_ai)


if __name__ == "__main__":
    main(LavaAi)
