"""Everything measured on one session's window: the learned result, the baselines, per model and
per symbol, the gap ledger.

Consumes a `Recording`, the run's config and the weights the trader started with; produces a
plain dict (JSON-ready): `metrics` of the recorded trades (+ exposure), `baselines` on the same
bars and votes (buy_and_hold, equal_weights, initial_weights, each model alone), `per_model`
(counterfactual PnL in USDT and hit rate of its votes on the trades made), `per_symbol`, `gaps`.
"""

from __future__ import annotations

from analytics.metrics import TradeMetrics, curve_metrics, exposure, trade_metrics
from analytics.recording import Recording, trade_row
from analytics.simulate import buy_and_hold_equity, simulate
from config.schema import MODEL_NAMES, PeperConfig
from learning.attribution import stance
from learning.engine import project
from messages.trading import TradeClosed


def enabled_models(config: PeperConfig) -> list[str]:
    return [m for m in MODEL_NAMES if m in config.actors and config.actors[m].enabled]


def metrics_of(trades: list[TradeClosed], recording: Recording, config: PeperConfig) -> dict[str, object]:
    rows = [trade_row(t) for t in trades]
    document = as_dict(trade_metrics(rows, config.trader.initial_equity))
    symbol_bars = sum(len(bars) for bars in recording.bars.values())
    document["exposure"] = exposure(rows, symbol_bars, recording.interval_ms or 60_000)
    return document


def as_dict(metrics: TradeMetrics) -> dict[str, object]:
    return {field: getattr(metrics, field) for field in metrics.__struct_fields__}


def baselines(recording: Recording, config: PeperConfig) -> dict[str, dict[str, object]]:
    models = enabled_models(config)
    initial = project({m: getattr(config.learning.initial_weights, m) for m in MODEL_NAMES}, config.learning)
    weight_sets = {
        "equal_weights": {m: 1.0 / len(models) for m in models},
        "initial_weights": initial,
        **{model: {model: 1.0} for model in models},
    }
    found = {name: metrics_of(simulate(recording, weights, config.trader), recording, config)
             for name, weights in weight_sets.items()}
    times, values = buy_and_hold_equity(recording, config.trader)
    first = next(iter(recording.bars.values()), {})
    last = recording.bars[times[-1]] if times else {}
    winners = sum(1 for s in first if s in last and last[s].close > first[s].open)
    hold = as_dict(curve_metrics(times, values, config.trader.initial_equity, positions=len(first), winners=winners))
    hold["exposure"] = 1.0 if times else 0.0
    return {"buy_and_hold": hold, **found}


def per_model(trades: list[TradeClosed], recording: Recording, config: PeperConfig) -> dict[str, dict[str, object]]:
    """Each model's stance on each trade made: counterfactual PnL (stance x pnl, USDT), hit rate."""
    document: dict[str, dict[str, object]] = {}
    for model in enabled_models(config):
        pnl, hits, taken = 0.0, 0, 0
        for trade in trades:
            vote = next((v for v in trade.votes if v.model == model), None)
            side = 0 if vote is None else stance(vote, trade.side)
            pnl += side * trade.pnl
            if side:
                taken += 1
                hits += side * trade.pnl > 0
        abstained = sum(recording.abstentions.get(model, {}).values())
        document[model] = {"counterfactual_pnl": pnl, "hit_rate": hits / taken if taken else None,
                           "trades_with_a_stance": taken, "votes": recording.votes.get(model, 0),
                           "abstentions": abstained, "abstention_reasons": dict(sorted(recording.abstentions.get(model, {}).items()))}
    return document


def per_symbol(trades: list[TradeClosed], recording: Recording, config: PeperConfig) -> dict[str, dict[str, object]]:
    return {symbol: as_dict(trade_metrics([trade_row(t) for t in trades if t.symbol == symbol], config.trader.initial_equity))
            for symbol in recording.symbols}


def evaluate(recording: Recording, config: PeperConfig) -> dict[str, object]:
    return {
        "bars": sum(len(bars) for bars in recording.bars.values()),
        "symbols": recording.symbols,
        "synthetic": recording.synthetic,
        "metrics": metrics_of(recording.trades, recording, config),
        "baselines": baselines(recording, config),
        "per_model": per_model(recording.trades, recording, config),
        "per_symbol": per_symbol(recording.trades, recording, config),
        "gaps": [{"symbol": g.symbol, "start": g.start, "end": g.end, "kind": g.kind, "detail": g.detail}
                 for g in recording.gaps],
    }
