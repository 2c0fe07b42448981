"""The strict base of every record, the schema versions and the small value types that several
artifacts share (kinds, flag layers, lifecycle states, USD amounts).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, WithJsonSchema
from pydantic.alias_generators import to_camel

SCHEMA_VERSION = 1
PROVIDER_SCHEMA_VERSION = 3
"""Provider lists (`models/providers/<provider>/current.json`). Version 3 (issue 30): one list
per provider any source names, merged from the provider's own list, its OpenRouter offer and
the independent catalogs, every value with its source (`provenance`), with agreement and
disagreements per field. Version 2: a capability flag no source states for the provider is
absent (`ProviderModelRecord`); version 1 published it at its default. Versions 1 and 2 still
read (as a provider's own list, `native.json`, which keeps version 2's shape)."""
NATIVE_SCHEMA_VERSION = 2
"""A provider source's own list as it served it (`models/providers/<source>/native.json`):
version 2's shape, the input of the merge."""

# Prices are Decimal end to end and written as exact JSON numbers (see jsonio.py).
Usd = Annotated[Decimal, WithJsonSchema({"type": "number"})]

Kind = Literal["chat", "image", "embedding", "video", "speech", "transcription", "rerank", "router"]
Reasoning = Literal["none", "fixed", "configurable"]
DetectionLayer = Literal["api", "heuristic", "override", "telemetry"]
LifecycleState = Literal["active", "stale", "deprecated", "removed"]
Outcome = Literal["ok", "degraded", "guarded", "failed", "locked"]
ServedBy = Literal["api", "catalog", "stale"]
Weights = Literal["open", "closed"]
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
