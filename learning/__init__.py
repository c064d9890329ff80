"""Model weights and how trades move them: the seed's ReinforcementLearningEngine and its peers.

`projection` keeps weights on the capped simplex; `engine` holds the update rules behind one
interface (`seed`: apply_reward / apply_punishment / weight decay; `hedge`: exponential weights
over counterfactual PnL; `thompson`: Beta posteriors sampled with a seeded generator);
`attribution` says, per trade, who agreed, who opposed and who abstained.
Imports `messages` and `config` only.
"""
