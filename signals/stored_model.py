"""What lgbm_ai stores per trained model: its LightGBM booster as text and its history.

Consumed and produced by `signals.lgbm.model` (trains and loads them) and `training.policies` (copies one
into a catalog under a new version); stored as msgpack by `storage.models`. Kept apart from
`signals.lgbm` so that reading or copying a model does not load LightGBM.
"""

from __future__ import annotations

import msgspec


class StoredModel(msgspec.Struct, frozen=True):
    version: int
    train_start: int  # first sample's open time, ms UTC
    label_end: int  # the last fitted or calibrating sample's label window ends here, ms UTC
    trained_at: int  # bar time T of training: the model is used for bars after it
    horizon_bars: int
    features: list[str]
    samples: int
    metrics: dict[str, float]  # win share, in-sample accuracy
    booster: str  # LightGBM's model_to_string()
    calibration: list[float] = []  # schema 3 models only (Platt scaling); read, never used
