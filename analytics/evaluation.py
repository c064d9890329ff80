"""Everything measured on one session's window: the result as traded, the baselines, per model and
per symbol, the gap ledger.

Consumes a `Recording` and the run's config; produces a plain dict (JSON-ready): `metrics` of the
session (`analytics.performance.Figures` as traded, with the versions it recorded), `baselines` on
the same bars and votes (cash, buy_and_hold, equal_weights, initial_weights, each model alone —
`analytics.baselines`), `per_model` (its shadow book's final equity and return, votes and
abstentions by reason), `per_symbol` (its round trips), `gaps`.
"""

from __future__ import annotations

import msgspec

from analytics.baselines import as_traded, fixed_weight_sets, recorded_chunks, shadow_equity, with_weights
from analytics.parts import END, WHOLE, buy_and_hold_part, cash_part, run_part
from analytics.performance import Figures, summarize, win_rate
from analytics.recording import Recording
from config.schema import PeperConfig
from config.topology import topology_of
from learning.offline import Simulation
from trading.assembly import VotedChunk


def figures_of(run: Simulation) -> dict[str, object]:
    """A run measured over its whole span; the round trips still open at the end count, marked at the last close."""
    return msgspec.to_builtins(summarize([run_part(run, *WHOLE)])[0])


def baselines_of(
    chunks: list[VotedChunk], config: PeperConfig, curves: dict | None = None
) -> dict[str, dict[str, object]]:
    """Every baseline's figures; with `curves`, each one's marked-to-market equity put there too
    (name -> (tick times, equity))."""
    curves = {} if curves is None else curves
    topology = topology_of(config)
    found = {}
    for name, weights in fixed_weight_sets(config, topology.models, topology.initial_weights(config)).items():
        result = with_weights(chunks, weights, config, cuts=[END])
        curves[name] = result.curve()
        found[name] = figures_of(result)
    hold = buy_and_hold_part(chunks, *WHOLE, config.trader)
    curves["buy_and_hold"] = (hold.times, hold.equity)
    cash = cash_part(hold.times, *WHOLE, config.trader.initial_equity)
    return {
        "cash": msgspec.to_builtins(summarize([cash])[0]),
        "buy_and_hold": msgspec.to_builtins(summarize([hold])[0]),
        **found,
    }


def per_model(recording: Recording, chunks: list[VotedChunk], config: PeperConfig) -> dict[str, dict[str, object]]:
    """Each expert's shadow book (its portfolio alone, traded like the trader) and each model's voting."""
    initial = config.trader.initial_equity
    _, shadow = shadow_equity(chunks, config)
    document: dict[str, dict[str, object]] = {}
    for expert, path in shadow.items():
        equity = float(path[-1]) if len(path) else None
        document[expert] = {
            "shadow_equity": equity,
            "shadow_roi": None if equity is None else equity / initial - 1,
            "votes": recording.votes.get(expert, 0),
            "abstentions": sum(recording.abstentions.get(expert, {}).values()),
            "abstention_reasons": dict(sorted(recording.abstentions.get(expert, {}).items())),
        }
    return document


def per_symbol(recording: Recording) -> dict[str, dict[str, object]]:
    """Each symbol's closed round trips as traded: how many, their win rate and PnL (quote)."""
    found = {}
    for symbol in recording.symbols:
        pnls = [t.pnl for t in recording.trades if t.symbol == symbol]
        found[symbol] = {"trades": len(pnls), "win_rate": win_rate(pnls), "total_pnl": float(sum(pnls))}
    return found


def session_figures(recording: Recording, config: PeperConfig, chunks: list[VotedChunk] | None = None) -> Figures:
    """The session as it traded, measured."""
    chunks = chunks if chunks is not None else recorded_chunks(recording, config)
    run = as_traded(recording, config, chunks, cuts=[END])
    return summarize([run_part(run, *WHOLE)])[0]


def evaluate(
    recording: Recording, config: PeperConfig, *, baselines: bool = True, curves: dict | None = None
) -> dict[str, object]:
    """The session measured; with `curves`, the equity curves measured put there ("as_traded" and
    each baseline: name -> (tick times in ms UTC, equity in the quote currency))."""
    curves = {} if curves is None else curves
    chunks = recorded_chunks(recording, config)
    traded = as_traded(recording, config, chunks, cuts=[END])
    curves["as_traded"] = traded.curve()
    return {
        "bars": sum(batch.rows for batch in recording.klines),
        "symbols": recording.symbols,
        "synthetic": recording.synthetic,
        "metrics": figures_of(traded),
        "baselines": baselines_of(chunks, config, curves) if baselines else {},
        "per_model": per_model(recording, chunks, config),
        "per_symbol": per_symbol(recording),
        "gaps": [
            {"symbol": g.symbol, "start": g.start, "end": g.end, "kind": g.kind, "detail": g.detail}
            for g in recording.gaps
        ],
    }
