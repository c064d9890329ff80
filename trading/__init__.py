"""Votes to decisions to paper trades, apart from the bus.

`ensemble.combine` weighs one bar's votes (the seed's MultiAIOrchestrator); `broker.PaperBroker`
fills decisions at the next bar's open with fees and slippage, applies stop-loss, take-profit and
maximum holding time, and produces `TradeClosed` results. Imports `messages` and `config` only.
"""
