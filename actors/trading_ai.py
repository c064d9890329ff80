"""trading_ai: technical rules (time-series momentum, moving averages, channel breakouts) on every decision bar.

Consumes `md.bar`, `clock`; produces `sig.trading_ai` (`VoteBatch`) and `ack.trading_ai`.
Config: `[trading_ai]` (lookbacks, forms, score threshold). Logic: `signals.technical`.
"""

from __future__ import annotations

from actors.runtime.entry import main
from actors.voting import VotingActor
from signals.technical import TechnicalRules


class TradingAi(VotingActor):
    def make_model(self) -> TechnicalRules:
        return TechnicalRules.of(self.config)


if __name__ == "__main__":
    main(TradingAi)
