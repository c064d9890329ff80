"""The base of every config section and the constrained value types they share."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

PositiveInt = Annotated[int, Meta(gt=0)]
NonNegativeInt = Annotated[int, Meta(ge=0)]
Fraction = Annotated[float, Meta(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Meta(gt=0.0)]
Seconds = Annotated[float, Meta(gt=0.0)]
Port = Annotated[int, Meta(ge=1, le=65535)]
Symbol = Annotated[str, Meta(pattern=r"^[A-Z0-9]{2,20}$")]
ActorName = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]*$")]


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every section: immutable and strict."""
