"""The strict base of every record, the schema versions and the small value types that several
artifacts share (kinds, flag layers, lifecycle states, USD amounts).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, WithJsonSchema
from pydantic.alias_generators import to_camel

SCHEMA_VERSION = 1
PROVIDER_SCHEMA_VERSION = 2
"""Provider lists (`models/providers/<source>/current.json`). Version 2: a capability flag no
source states for the provider is absent (`ProviderModelRecord`); version 1 published it at its
default. Version 1 documents still read as version 2 (every flag present)."""

# Prices are Decimal end to end and written as exact JSON numbers (see jsonio.py).
Usd = Annotated[Decimal, WithJsonSchema({"type": "number"})]

Kind = Literal["chat", "image", "embedding", "video", "speech", "transcription", "rerank", "router"]
Reasoning = Literal["none", "fixed", "configurable"]
DetectionLayer = Literal["api", "heuristic", "override", "telemetry"]
LifecycleState = Literal["active", "stale", "deprecated", "removed"]
Outcome = Literal["ok", "degraded", "guarded", "failed", "locked"]
ServedBy = Literal["api", "catalog", "stale"]
PriceTier = Literal["free", "budget", "standard", "pro", "premium", "variable", "unknown"]


class Record(BaseModel):
    """Strict base of every stage-boundary type: camelCase on the wire, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_attribute_docstrings=True,
        frozen=False,
    )


ParameterValue = bool | int | float | str
"""A request parameter's value as the feed gives it (temperature 1, top_p 0.95, ...)."""
