"""Training: record the span once, try every configuration on the recorded votes, choose each fold
on its validation window, judge it on its test window, store the policy (`loop` ties them)."""
