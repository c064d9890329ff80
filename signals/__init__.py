"""The signal models' logic, apart from the bus: pure functions of columnar chunks with explicit state.

One protocol (`signals.model.ChunkModel`): a model observes and votes a `BarChunk` (numpy columns
in) and returns `Votes` (columns out: an action code, a confidence 0..1 and a reason per row),
using only bars up to and including the one it votes on; its state is a msgspec Struct it can
`snapshot()` to bytes and `restore()` from them. `kernels` holds the array kernels (EMA, Wilder
RSI, rolling mean and std) with their state passed in and out; `technical` is trading_ai,
`mean_reversion` lava_ai, `lgbm` lgbm_ai (features, labels, walk-forward training, stored models);
mistral_ai's model lives with the rest of the LLM code in `llm.voter`.
Imports `messages`, `config` and `marketdata` only.
"""
