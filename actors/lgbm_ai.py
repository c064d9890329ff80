"""lgbm_ai: a LightGBM classifier of the multi-day direction net of costs, trained walk-forward.

Consumes `md.bar` (decision bars), `clock`; produces `sig.lgbm_ai` (`VoteBatch`, version `lgbm-<V>`) and
`ack.lgbm_ai`; writes every model it trains to the `models` database of its own store
(`[database] path` on its host — on another host, the agent's `--data` folder: a local store; it
learns from the bars on the bus, so it never needs another actor's disk). Config: `[lgbm_ai]`
(horizon, windows, LightGBM parameters, `pinned_version`), `[trader]` (the fees and slippage a
label must beat). Logic and the walk-forward rules: `signals.lgbm`. Its checkpoint holds the feature state and the current model's
version; the training window's samples are its journal.
"""

from __future__ import annotations

import msgspec

import actors.runtime.without_pandas  # noqa: F401  (before lightgbm)
from actors.runtime.entry import main
from actors.voting import VotingActor
from common.times import INTERVAL_MS
from messages.counters import LgbmCounters
from messages.errors import ConfigError
from messages.market import KlineBatch
from signals.lgbm import LgbmModel
from signals.stored_model import StoredModel
from storage.models import get_model, put_model


class LgbmAi(VotingActor):
    Counters = LgbmCounters

    def make_model(self) -> LgbmModel:
        store = self.stores.own()
        try:
            trader = self.config.trader
            return LgbmModel(
                self.config.lgbm_ai,
                self.config.test.symbols,
                INTERVAL_MS[self.config.feed.decision_interval],
                2 * (trader.fee_rate + trader.slippage),
                save=lambda model: put_model(store, model.version, msgspec.msgpack.encode(model)),
                load=lambda version: _decoded(get_model(store, version)),
                log=self.log.info,
            )
        except LookupError as exc:
            raise ConfigError(f"{exc} in {store.path}") from exc  # a restart would meet it again

    async def on_kline_batch(self, topic: str, batch: KlineBatch) -> None:
        await super().on_kline_batch(topic, batch)
        counters, model = self.counters, self.model
        counters.trainings, counters.training_s = model.trainings, round(model.training_s, 3)
        counters.model_version = model.model.version if model.model else 0


def _decoded(record: bytes | None) -> StoredModel | None:
    return None if record is None else msgspec.msgpack.decode(record, type=StoredModel)


if __name__ == "__main__":
    main(LgbmAi)
