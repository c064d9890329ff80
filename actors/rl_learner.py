"""rl_learner: the seed's ReinforcementLearningEngine — closed trades in, versioned weights out.

Consumes `trade.closed` and `rl.command` (rollbacks); produces
`rl.weights` (`Weights`: version, effective_from = the trades' exit bar, weights, cause = the
trade ids or `rollback:<V>`) and stores every version in the `weights` database. Config:
`[learning]` (the rule: seed, hedge or thompson; rates, bounds, initial weights, seed).

Version 0 is the projected initial weights. Each trade is applied once: trade ids
already in a stored version's cause are skipped (the trader re-sends unanswered trades, and a
restarted learner reloads its history), but answered again so the trader can go on. A rollback
to V appends a new version equal to V; history is never rewritten.
"""

from __future__ import annotations

import os
from pathlib import Path

from actors.base import RESTARTS_ENV, Actor, main
from config.schema import MODEL_NAMES
from learning.engine import Thompson, make_rule, project
from messages import topics
from messages.codec import Codec
from messages.learning import Weights, WeightsCommand
from messages.trading import TradeClosed
from storage.store import Store
from storage.stream import StreamReader
from storage.weights import all_weights, get_weights, put_weights


class RlLearner(Actor):
    subscriptions = (topics.TRADE_CLOSED, topics.WEIGHTS_COMMAND)

    async def on_start(self) -> None:
        config = self.config
        self.store = Store(Path(config.database.path), map_size_mb=config.database.map_size_mb)
        self.rule = make_rule(config.learning)
        history = all_weights(self.store)
        self.applied: set[str] = {cause for version in history for cause in version.cause}
        if history and self._restarted():
            self.current = history[-1]
            self._restore_rule_state(history)
            self.log.info("restarted from stored version %d (%d trades applied so far)", self.current.version, len(self.applied))
        else:
            initial = project({m: getattr(config.learning.initial_weights, m) for m in MODEL_NAMES}, config.learning)
            self.current = Weights(version=len(history), effective_from=0, weights=initial, cause=["initial"])
            self.applied = set()
            put_weights(self.store, self.current)
        self.counters.update(version=self.current.version, trades_applied=len(self.applied), duplicates_skipped=0)

    def _restarted(self) -> bool:
        return int(os.environ.get(RESTARTS_ENV, "0")) > 0

    def _restore_rule_state(self, history: list[Weights]) -> None:
        if isinstance(self.rule, Thompson):
            codec = Codec()
            trades = [codec.decode_payload(p) for *_, p in StreamReader(self.store).records(topics.TRADE_CLOSED)]
            applied = [t for t in trades if isinstance(t, TradeClosed) and t.trade_id in self.applied]
            self.rule.replay(applied, draws=sum(1 for w in history if w.cause and not w.cause[0].startswith(("initial", "rollback"))))

    def on_trade_closed(self, topic: str, trade: TradeClosed) -> None:
        """`TradeClosed(trade_id="BTCUSDT-1618...", pnl=-3.2, votes=[...])`: one update, one version.

        One version per trade, in the trader's publishing order, so the history never depends on
        how messages happened to be batched in transit.
        """
        if trade.trade_id in self.applied:  # re-sent by a trader still waiting: answer again
            self.counters["duplicates_skipped"] += 1
            self.publish(topics.WEIGHTS, Weights(version=self.current.version, effective_from=self.current.effective_from,
                                                 weights=self.current.weights, cause=[trade.trade_id], ts_event=trade.exit_time))
            return
        weights = self.rule.update(dict(self.current.weights), [trade])
        self._publish_version(weights, [trade.trade_id], trade.exit_time)
        self.applied.add(trade.trade_id)
        self.counters["trades_applied"] = len(self.applied)

    def on_weights_command(self, topic: str, command: WeightsCommand) -> None:
        """`WeightsCommand(rollback_to=3, request_id="...")`: a new version equal to version 3."""
        target = get_weights(self.store, command.rollback_to)
        if target is None:
            self.log.error("rollback to version %d refused: no such version", command.rollback_to)
            return
        self._publish_version(dict(target.weights), [f"rollback:{command.rollback_to}", command.request_id],
                              self.current.effective_from)

    def _publish_version(self, weights: dict[str, float], cause: list[str], effective_from: int) -> None:
        self.current = Weights(version=self.current.version + 1, effective_from=effective_from, weights=weights,
                               cause=cause, ts_event=effective_from)
        put_weights(self.store, self.current)
        self.publish(topics.WEIGHTS, self.current)
        self.counters["version"] = self.current.version

    async def on_stop(self) -> None:
        self.store.close()


if __name__ == "__main__":
    main(RlLearner)
