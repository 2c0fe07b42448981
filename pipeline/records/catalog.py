"""The catalog documents: `current.json` of OpenRouter and of every provider list, and
`deprecations.json` (redirects, alias history, tombstones).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.records.base import PROVIDER_SCHEMA_VERSION, SCHEMA_VERSION, Record, ServedBy
from pipeline.records.model import ModelRecord, ProviderModelRecord


class CurrentCatalog(Record):
    """`models/openrouter/current.json`: every known model (removed ones excluded)."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """The run that produced this document."""
    source: str
    """Feed the catalog was built from."""
    raw_key: str | None = None
    """Store key of the raw snapshot this catalog was normalized from."""
    degraded: bool = False
    """True when built from a fallback (embedded catalog) instead of the live feed."""
    degraded_reason: str | None = None
    """Why the run was degraded."""
    data_as_of: str | None = None
    """When the data was observed upstream, ISO-8601 UTC: the fetch time of a live run, the
    recorded time of a replay, the embedded catalog's own date for the offline fallback.
    Every age the project reports is measured from it, never from `generatedAt`."""
    count: int
    """Number of models."""
    models: list[ModelRecord]
    """Models, sorted by id."""
    pricing_basis: str | None = None
    """What the per-model prices are. For OpenRouter: the lowest price across the hosts that
    serve the model on OpenRouter, so a given host's own price may be higher."""


class ProviderCatalog(Record):
    """`models/providers/<source>/current.json`: one provider-native list, normalized, and
    the cache metadata that decides when it is fetched again."""

    schema_version: int = PROVIDER_SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """When this document was written (run clock), ISO-8601 UTC."""
    run_id: str
    """The run that wrote it."""
    source: str
    """Source name (the `sources:` key), also each record's `provider`."""
    source_type: str
    """Registry type of the source (`openai`, `openai-compatible`, `xai` for its pinned
    manifest, ...); differs from `source` for named instances."""
    fetched_at: str
    """When the data was fetched from the provider's API (for `catalog`: when the OpenRouter
    catalog it was taken from was generated)."""
    ttl_seconds: int
    """Cache lifetime: with `servedBy` `api`, no request is made before `fetchedAt` + this."""
    served_by: ServedBy
    """Tier that served the data: the provider `api`, the OpenRouter `catalog` entries for the
    vendor, or the `stale` cache of an earlier fetch."""
    reason: str | None = None
    """Why the API did not serve (absent when it did)."""
    raw_key: str | None = None
    """Store key of the raw response this list was normalized from (API tier only)."""
    count: int
    """Number of models."""
    provenance: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Model id → field → where it came from: `native`; `unknown` when no source states it for
    this provider (the field is then absent); `openrouter:<id>` when taken from the matching
    OpenRouter record because the native API lacks it (only the vendor's own closed models);
    or `openrouter-endpoint:<tag>` when taken from this same provider's OpenRouter offer.
    Capability flags appear here only when `unknown` (absent from the record)."""
    models: list[ProviderModelRecord]
    """Models, sorted by id."""
    data_as_of: str | None = None
    """When the data was observed upstream, when that is not `fetchedAt`: a pinned manifest's
    `reviewed` date (its list is as old as its last review, whenever it was read)."""


RedirectReason = Literal["rename", "variant", "override", "replacement", "family-fallback"]


class Redirect(Record):
    """A retired or renamed id and where its callers should go instead."""

    from_id: str = Field(alias="from")
    """The id that no longer serves (or is forced deprecated)."""
    to: str
    """The id to use instead."""
    reason: RedirectReason
    """Why: `rename` (same canonical slug, new id), `variant` (a `:variant` whose base
    remains), `override` (deprecation-overrides.json), `replacement` (the provider named the
    model to use instead, as Mistral's `deprecation_replacement_model`), `family-fallback`."""
    since: str
    """When the redirect was first published, ISO-8601 UTC."""


class AliasChange(Record):
    """One change of a model's published alias: an override moved it, or a correction did (a
    natural alias returned to its base model, an alias that followed a rename)."""

    old_alias: str
    """The alias before."""
    new_alias: str
    """The alias after."""
    model_id: str
    """The model whose alias changed."""
    since: str
    """When the change was published."""
    reason: str | None = None
    """Why, for a correction (absent for an override's change: the override file's `note`
    says why)."""


class Tombstone(Record):
    """A removed model: its last published record and dates."""

    id: str
    """The removed id."""
    alias: str
    """Its last alias (held: no new model takes it)."""
    removed_at: str
    """When it became `removed`."""
    record: ModelRecord
    """Its last record as published in current.json."""


class Deprecations(Record):
    """`models/openrouter/deprecations.json`: redirects, tombstones and alias history."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """The run that produced this document."""
    redirects: list[Redirect] = Field(default_factory=list)
    """Redirects, sorted by `from`."""
    tombstones: list[Tombstone] = Field(default_factory=list)
    """Removed models, sorted by id."""
    alias_history: list[AliasChange] = Field(default_factory=list)
    """Every alias change, oldest first."""
