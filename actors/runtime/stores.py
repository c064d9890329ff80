"""The LMDB environments an actor writes on its own host, opened when first asked for and closed once.

Consumes `[database]` (path, map size); produces two `storage.store.Store`s: the host's store, which
holds the actor's own databases (lgbm_ai's models, mistral_ai's cache, rl_learner's weights), and the
checkpoints' environment beside it, committed without fsync (`storage.checkpoints`).
"""

from __future__ import annotations

from pathlib import Path

from config.schema import DatabaseConfig
from storage.checkpoints import checkpoint_path
from storage.store import Store


class ActorStores:
    def __init__(self, database: DatabaseConfig):
        self._database = database
        self._own: Store | None = None
        self._checkpoints: Store | None = None

    def own(self) -> Store:
        """The store of this host (`[database] path`)."""
        if self._own is None:
            self._own = Store(Path(self._database.path), map_size_mb=self._database.map_size_mb)
        return self._own

    def checkpoints(self) -> Store:
        """The checkpoints' own environment beside the store."""
        if self._checkpoints is None:
            self._checkpoints = Store(
                checkpoint_path(Path(self._database.path)), map_size_mb=self._database.map_size_mb, durable=False
            )
        return self._checkpoints

    def close(self) -> None:
        for store in filter(None, (self._own, self._checkpoints)):
            store.close()
        self._own = self._checkpoints = None
