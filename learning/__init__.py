"""Model weights and how the experts' credit moves them: the seed's ReinforcementLearningEngine and its peers.

`projection` keeps weights on the capped simplex; `engine` holds the update rules behind one
interface (`seed`: apply_reward / apply_punishment / weight decay; `hedge`: exponential weights;
`thompson`: Beta posteriors sampled with a seeded generator), each fed every expert's shadow-book
return over a period; `learner` runs a rule on its schedule and numbers the versions.
Imports `messages` and `config` only.
"""
