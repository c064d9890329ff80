"""Who agreed with a trade, who opposed it, who abstained — and what each model's vote earned.

A LONG trade is agreed with by BUY and opposed by SELL (SHORT: the reverse); HOLD and no vote
count as abstaining. A model's counterfactual return on a trade is its stance (+1, -1, 0) times
the trade's net return: what following its vote alone would have made.
"""

from __future__ import annotations

from messages.trading import ModelVote, TradeClosed


def stance(vote: ModelVote, side: str) -> int:
    if vote.action is None or vote.action == "HOLD":
        return 0
    agrees = (vote.action == "BUY") == (side == "LONG")
    return 1 if agrees else -1


def counterfactual_returns(trade: TradeClosed) -> dict[str, float]:
    return {vote.model: stance(vote, trade.side) * trade.ret for vote in trade.votes}
