"""LMDB storage (DESIGN.md §6): one environment per host, named databases, one writing process each.

| named database | written by | holds |
| --- | --- | --- |
| `meta` | the process that creates the environment (schema version, once); recorder (its durable batch) | `schema_version`, `recorder.batch` |
| `stream`, `names` | recorder | every bus message, key topic id, ts_event, src id, seq (`stream`); interned names (`names`) |
| `weights` | rl_learner | every weights version (`weights`); `weights rollback` writes it only when no daemon runs |
| `models` | lgbm_ai | every trained LightGBM model, by version |
| `llm_cache` | mistral_ai | LLM answers keyed by (model file hash, request) |
| `checkpoint.<actor>` (in `<store>.checkpoints`, not fsynced) | that actor | its newest checkpoint: state, the bar time it reached, its seqs; its journal |
| `sessions`, `policies` | `train` (training catalogs only) | each run's span session; the policies it produced (their weights and models are catalog versions in `weights`, `models`) |

Readers (replays, exports, analytics, the monitor, recovery) open read-only and read while the
writers write (LMDB's MVCC). `store` opens an environment and checks its schema version; `stream`,
`weights`, `models`, `llm_cache`, `checkpoints`, `sessions`, `policies` are the formats of their databases,
`recording` the recorder's own bookkeeping, `schema` how older recordings are read and migrated,
`backup` hot copies. Imports `messages` and `config` only.
"""

from messages.errors import StoreError

__all__ = ["StoreError"]
