"""trading_ai: technical rules (EMA crossover, MACD, RSI) voting on every bar.

Consumes `md.kline`, `clock`; produces `sig.trading_ai` (`VoteBatch`) and `ack.trading_ai`.
Config: `[trading_ai]` (periods, RSI bounds, score threshold). Logic: `models.technical`.
"""

from __future__ import annotations

from actors.base import main
from actors.voting import VotingActor
from signals.technical import TechnicalRules


class TradingAi(VotingActor):
    version = "rules-1"

    def new_state(self, symbol: str) -> TechnicalRules:
        return TechnicalRules(self.config.trading_ai)


if __name__ == "__main__":
    main(TradingAi)
