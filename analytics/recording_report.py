"""The report of a plain recording (a `run`, live or replay), as one JSON-ready document.

Consumes an LMDB recording and the config it was run with (the command's `peper.toml`); produces
a dict that opens with a verdict — the session as traded against every baseline on the same bars
and votes (cash, buy-and-hold, equal and initial weights, each model alone), all marked to market
each bar — then those strategies, each model's shadow book and voting, each symbol's trades and
the gap ledger; and the equity curves measured, for the plots. One window and no held-out test:
the verdict says how the session did, not whether learning generalises (that is `train`'s report).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from analytics.evaluation import evaluate
from analytics.recording import Recording, read_recording
from analytics.report import figure_text
from common.times import iso
from config.schema import PeperConfig
from messages.errors import ReportError

AS_TRADED = "as_traded"


def build_recording_report(path: Path, config: PeperConfig) -> tuple[dict[str, object], Recording, dict]:
    """(the document, the recording, strategy -> (tick times, equity)) of a recording."""
    recording = read_recording(path)
    if not recording.klines:
        raise ReportError(f"{path} holds no bars: nothing to report (is it a recording of `run`?)")
    curves: dict = {}
    found = evaluate(recording, config, curves=curves)
    ticks = recording.ticks()
    start, end = int(ticks[0]), int(ticks[-1]) + (recording.interval_ms or 60_000)
    strategies = {AS_TRADED: found["metrics"], **found["baselines"]}
    document = {
        "kind": "recording",
        "db": str(path),
        "interval_ms": recording.interval_ms,
        "symbols": found["symbols"],
        "window": {"start": iso(start), "end": iso(end), "days": (end - start) / 86_400_000},
        "bars": found["bars"],
        "synthetic": found["synthetic"],
        "weights_versions": len(recording.published),
        "verdict": recording_verdict(strategies),
        "strategies": strategies,
        "per_model": found["per_model"],
        "per_symbol": found["per_symbol"],
        "gaps": found["gaps"],
        "generated_at": time.time(),
    }
    return document, recording, {name: (np.asarray(t), np.asarray(v)) for name, (t, v) in curves.items()}


def recording_verdict(strategies: dict[str, dict]) -> dict[str, object]:
    """Which baselines the session as traded beat on ROI (all marked to market), and which not."""
    traded = strategies[AS_TRADED]
    beaten, not_beaten = [], []
    for name, metrics in strategies.items():
        if name != AS_TRADED:
            (beaten if traded["roi"] > metrics["roi"] else not_beaten).append(
                f"{name} ({figure_text('roi', metrics['roi'])})"
            )
    summary = (
        f"As traded: ROI {figure_text('roi', traded['roi'])}, Sharpe {figure_text('sharpe', traded['sharpe'])}, "
        f"max drawdown {figure_text('roi', traded['max_drawdown'])}, {traded['trades']} trades, win rate "
        f"{figure_text('roi', traded['win_rate'])}"
    )
    text = (
        summary
        + ". ROI above "
        + (", ".join(beaten) or "no baseline")
        + ("; not above " + ", ".join(not_beaten) if not_beaten else "")
        + ". One window, in sample for any learning done on it: `train` judges learning out of sample."
    )
    return {"passed": not not_beaten and traded["roi"] > 0, "text": text, "beaten": beaten, "not_beaten": not_beaten}
