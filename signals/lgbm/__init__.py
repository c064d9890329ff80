"""lgbm_ai's model: a LightGBM classifier of the multi-day direction, trained walk-forward on decision bars.

`features` (per symbol from its own past, and across symbols at the same period), `labels` (the
forward return's sign net of a round trip's costs, and when each label becomes known), `model`
(the walk-forward schedule, training, voting, the journal of samples). `signals.stored_model` is
what is stored per trained model, kept apart so that reading one does not load LightGBM.
"""

from signals.lgbm.model import LgbmModel

__all__ = ["LgbmModel"]
