"""The topologies the integration tests run, built typed (`config.build`), never as TOML text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config import load_config
from config.build import configured, topology
from config.schema import PeperConfig
from marketdata.binance_double import BinanceDouble
from tests.helpers.data import REPO_ROOT, SYMBOLS
from training.search import candidates

FEED = {"restart": "transient"}
SLOW = {"module": "tests.helpers.slow_consumer", "role": "model"}


QUICK = {"interval": "1m", "decision_interval": "15m"}  # 1m bars (the shared 1m files), a decision every 15 minutes
QUICK_MODELS = {
    "trading_ai": {"lookbacks": ["1h", "2h", "4h"]},
    "strength_ai": {"lookbacks": ["1h", "4h"]},
    "lava_ai": {"window": "2h"},
    "lgbm_ai": {"horizon": "1h", "lookback": "4h", "min_train": "1d", "retrain_every": "12h"},
    "mistral_ai": {"every": "2h", "history": "2h"},
    "trader": {"volatility_window": "4h"},
}


def replay(
    db: Path,
    source: str,
    window: tuple[str, str] = ("", ""),
    *,
    actors: dict[str, dict[str, Any]] | None = None,
    chunk: int = 256,
    credit: int = 1024,
    symbols: list[str] = SYMBOLS,
    **sections: dict[str, Any],
) -> PeperConfig:
    """A replay of `source` over `window` recorded into `db`: the recorder and the feed, plus `actors`;
    1m bars deciding every 15 minutes, the models' periods in hours (`QUICK`), so a few days hold many
    decisions."""
    tables = topology("recorder", market_feed=FEED)
    tables.update(actors or {})
    feed = {
        **QUICK,
        "source": str(source),
        "start": window[0],
        "end": window[1],
        "chunk_ticks": chunk,
        "credit_window": credit,
        **sections.pop("feed", {}),
    }
    learning = {"initial_weights": {}, "update_every": feed["decision_interval"], **sections.pop("learning", {})}
    for model, settings in QUICK_MODELS.items():
        sections[model] = {**settings, **sections.get(model, {})}
    return configured(
        test={"symbols": symbols, **sections.pop("test", {})},
        database={"path": str(db), **sections.pop("database", {})},
        feed=feed,
        learning=learning,
        actors=tables,
        **sections,
    )


def shipped_grid_size() -> int:
    """How many configurations `train` tries with the shipped peper.toml's `[[training.grid]]`."""
    return len(candidates(load_config(REPO_ROOT / "peper.toml", environ={})))


def live_topology(db: Path, double: BinanceDouble, actors: dict | None = None, **sections: Any) -> PeperConfig:
    """Live 1m bars from the double, every one a decision bar (trading_ai's lookbacks in minutes)."""
    return configured(
        test={"symbols": sections.pop("symbols", SYMBOLS)},
        database={"path": str(db)},
        learning={"initial_weights": {}, "update_every": "1m"},
        feed={
            "mode": "live",
            "ws_url": double.ws_url,
            "rest_url": double.rest_url,
            "reconnect_initial_s": 0.05,
            "reconnect_max_s": 0.5,
            "stall_timeout_s": 0.5,
            "tick_deadline_s": 10.0,
            "interval": "1m",
            "decision_interval": "1m",
        },
        trading_ai={"lookbacks": ["5m", "10m", "20m"]},
        actors={"recorder": {}, **(actors or {}), "market_feed": {}},
        **sections,
    )
