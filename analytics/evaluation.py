"""Everything measured on one session's window: the result as traded, the baselines, per model and
per symbol, the gap ledger.

Consumes a `Recording` and the run's config; produces a plain dict (JSON-ready): `metrics` of the
session (ROI, drawdown and Sharpe marked to market, trade statistics from the closed trades,
exposure), `baselines` on the same bars and votes (cash, buy_and_hold, equal_weights,
initial_weights, each model alone — `analytics.simulate`), `per_model` (its shadow book's final
equity and return from the recorded credit, votes and abstentions by reason), `per_symbol`, `gaps`.
"""

from __future__ import annotations

from analytics.metrics import (
    TradeMetrics,
    curve_metrics,
    exposure,
    strategy_metrics,
    trade_metrics,
)
from analytics.recording import Recording, trade_row
from analytics.simulate import (
    as_traded,
    buy_and_hold,
    fixed_weight_sets,
    shadow_equity,
    with_weights,
)
from config.schema import PeperConfig
from config.topology import topology_of
from messages.trading import TradeClosed


def as_dict(metrics: TradeMetrics) -> dict[str, object]:
    return {field: getattr(metrics, field) for field in metrics.__struct_fields__}


def metrics_of(trades: list[TradeClosed], times, equity, recording: Recording, config: PeperConfig) -> dict[str, object]:
    rows = [trade_row(t) for t in trades]
    document = as_dict(strategy_metrics(rows, times, equity, config.trader.initial_equity))
    symbol_bars = sum(batch.rows for batch in recording.klines)
    document["exposure"] = exposure(rows, symbol_bars, recording.interval_ms or 60_000)
    return document


def baselines_of(recording: Recording, config: PeperConfig, curves: dict | None = None) -> dict[str, dict[str, object]]:
    """Every baseline's metrics; with `curves`, each one's marked-to-market equity put there too
    (name -> (tick times, equity))."""
    curves = {} if curves is None else curves
    topology = topology_of(config)
    models = topology.models
    chunks = recording.chunks(models, config.test.symbols)
    found = {}
    for name, weights in fixed_weight_sets(config, models, topology.initial_weights(config)).items():
        result = with_weights(recording, weights, config, models, chunks)
        curves[name] = result.curve()
        found[name] = metrics_of(result.trades, *curves[name], recording, config)
    times, values, pnls = buy_and_hold(chunks, config.trader)
    curves["buy_and_hold"] = (times, values)
    hold = as_dict(curve_metrics(times.tolist(), values.tolist(), config.trader.initial_equity, positions=len(pnls),
                                 winners=sum(pnl > 0 for pnl in pnls)))
    hold["exposure"] = 1.0 if len(times) else 0.0
    cash = as_dict(curve_metrics([], [], config.trader.initial_equity, positions=0, winners=0))
    cash["exposure"] = 0.0
    return {"cash": cash, "buy_and_hold": hold, **found}


def per_model(recording: Recording, config: PeperConfig) -> dict[str, dict[str, object]]:
    """Each model's shadow book (its votes alone, traded like the trader) and its voting."""
    initial = config.trader.initial_equity
    models = topology_of(config).models
    _, shadow = shadow_equity(recording, config, models)
    document: dict[str, dict[str, object]] = {}
    for model in models:
        equity = shadow[model][-1] if shadow.get(model) else None
        document[model] = {"shadow_equity": equity, "shadow_roi": None if equity is None else equity / initial - 1,
                           "votes": recording.votes.get(model, 0),
                           "abstentions": sum(recording.abstentions.get(model, {}).values()),
                           "abstention_reasons": dict(sorted(recording.abstentions.get(model, {}).items()))}
    return document


def per_symbol(trades: list[TradeClosed], recording: Recording, config: PeperConfig) -> dict[str, dict[str, object]]:
    return {symbol: as_dict(trade_metrics([trade_row(t) for t in trades if t.symbol == symbol],
                                          config.trader.initial_equity))
            for symbol in recording.symbols}


def evaluate(recording: Recording, config: PeperConfig, *, baselines: bool = True,
             curves: dict | None = None) -> dict[str, object]:
    """The session measured; with `curves`, the equity curves measured put there ("as_traded" and
    each baseline: name -> (tick times in ms UTC, equity in the quote currency))."""
    curves = {} if curves is None else curves
    curves["as_traded"] = as_traded(recording, config).curve()
    return {
        "bars": sum(batch.rows for batch in recording.klines),
        "symbols": recording.symbols,
        "synthetic": recording.synthetic,
        "metrics": metrics_of(recording.trades, *curves["as_traded"], recording, config),
        "baselines": baselines_of(recording, config, curves) if baselines else {},
        "per_model": per_model(recording, config),
        "per_symbol": per_symbol(recording.trades, recording, config),
        "gaps": [{"symbol": g.symbol, "start": g.start, "end": g.end, "kind": g.kind, "detail": g.detail}
                 for g in recording.gaps],
    }
