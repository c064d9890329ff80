"""The replay topology every benchmark runs: the shared 1m klines through the given actors."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.daemon import REPO_ROOT
from tests.helpers.data import KLINES, SYMBOLS


def model_sections() -> str:
    """peper.toml's model sections ([trading_ai] .. [lgbm_ai]), so benchmarks use the shipped settings."""
    text = (REPO_ROOT / "peper.toml").read_text()
    return text[text.index("[trading_ai]"):text.index("[bus]")]


def replay_topology(db: Path, start: str, end: str, actors: list[str], ackers: list[str], extra: str = "") -> str:
    tables = "".join(f"[actors.{name}]\n" for name in actors)
    return f"""
{extra}
[test]
symbols = {SYMBOLS!r}
[database]
path = "{db}"
[feed]
source = "{KLINES}"
start = "{start}"
end = "{end}"
ackers = {ackers!r}
{tables}
[actors.market_feed]
restart = "transient"
after = {ackers!r}
"""
