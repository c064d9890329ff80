"""A configuration's own model settings, voted again offline on the recorded bars.

Consumes the recorded chunks (`trading.assembly.VotedChunk`: bars, decision bars and every model's
votes) and a configuration whose `[training.grid]` changes the settings of a model that votes from
the bars alone (`trading_ai`, `strength_ai`, `lava_ai`: `REVOTABLE`); produces the chunks that
configuration would have recorded — the same bars and other votes, that model's votes on the
decision bars cast again by the very class its actor runs, over every chunk in order (their kernels
give the same numbers however the bars are cut into chunks). A model that trains or asks a server (`lgbm_ai`, `mistral_ai`) votes only in the span
session: a grid key of its section, or of any section the offline runs cannot honour, is refused
by name (`check_grid_key`) rather than silently ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import msgspec

from config.schema import PeperConfig
from config.topology import topology_of
from messages.errors import ConfigError
from signals.mean_reversion import MeanReversion
from signals.model import ChunkModel
from signals.strength import RelativeStrength
from signals.technical import TechnicalRules
from trading.assembly import VotedChunk

REVOTABLE: dict[str, Callable[[PeperConfig], ChunkModel]] = {
    "trading_ai": TechnicalRules.of,
    "strength_ai": RelativeStrength.of,
    "lava_ai": MeanReversion.of,
}
OFFLINE_SECTIONS = ("learning", "trader")  # what the offline runs apply themselves


def check_grid_key(key: str, config: PeperConfig) -> None:
    """A ConfigError naming `key` unless the offline runs can honour a change of it."""
    section = key.partition(".")[0]
    if section in OFFLINE_SECTIONS or section in revotable_models(config):
        return
    allowed = ", ".join(f"{name}.*" for name in (*OFFLINE_SECTIONS, *revotable_models(config)))
    if section in REVOTABLE and section in topology_of(config).models:
        why = f"it runs module {config.actors[section].module!r}, not the shipped actor the offline runs can re-vote"
    elif section in topology_of(config).models:
        why = "its votes come from the span session (it trains or asks a server)"
    else:
        why = "the offline runs over the recorded votes do not read it"
    raise ConfigError(f"cannot vary [{section}]: {why}; a grid varies {allowed}")


def revotable_models(config: PeperConfig) -> list[str]:
    """The enabled models the shipped actor runs (not a module of another name) that `REVOTABLE` can cast again."""
    models = topology_of(config).models
    return [name for name in models if name in REVOTABLE and config.actors[name].module in ("", f"actors.{name}")]


def vote_settings(config: PeperConfig) -> bytes:
    """The settings of every re-votable model, as one key: equal keys vote alike."""
    return msgspec.msgpack.encode({name: getattr(config, name) for name in revotable_models(config)})


def revoted(chunks: list[VotedChunk], recorded: PeperConfig, config: PeperConfig) -> list[VotedChunk]:
    """`chunks` (recorded under `recorded`) with the votes of every model whose settings `config`
    changes cast again under `config`; the chunks themselves when it changes none."""
    models = topology_of(config).models
    changed = [name for name in revotable_models(config) if getattr(config, name) != getattr(recorded, name)]
    if not changed:
        return chunks
    voters = [(models.index(name), REVOTABLE[name](config)) for name in changed]
    found = []
    for voted in chunks:
        action, confidence = voted.action.copy(), voted.confidence.copy()
        for row, model in voters:
            votes = model.vote(voted.bars)
            action[row], confidence[row] = votes.action, votes.confidence
        found.append(dataclasses.replace(voted, action=action, confidence=confidence))
    return found
