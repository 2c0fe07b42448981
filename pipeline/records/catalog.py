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


class Contributor(Record):
    """One source whose list went into a merged provider list."""

    served_by: ServedBy
    """How that source's list was served in the run that merged it (`api` also for a fresh
    cache of an API fetch)."""
    fetched_at: str
    """When that list was fetched, ISO-8601 UTC."""
    count: int
    """Models of this provider in that list."""
    upstream: list[str] = Field(default_factory=list)
    """The provider's names in that source (`google`, `vertex_ai-language-models`, ...), for an
    independent catalog."""


class ProviderCatalog(Record):
    """`models/providers/<provider>/current.json`: one provider's models, merged from every
    source that names the provider (issue 30), with the cache metadata of its own source.

    The same shape (version 2, without the merge's fields) is a provider source's own list,
    `models/providers/<source>/native.json`: the cache that decides when it is fetched again."""

    schema_version: int = PROVIDER_SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """When this document was written (run clock), ISO-8601 UTC."""
    run_id: str
    """The run that wrote it."""
    source: str
    """The provider (a `sources:` key, or a provider name an independent catalog uses, mapped
    by `pipeline.sources.provider_names`), also each record's `provider`."""
    source_type: str
    """Registry type of the provider's own source (`openai`, `openai-compatible`, `xai` for its
    pinned manifest, ...); differs from `source` for named instances; `independent` when only
    independent catalogs name the provider."""
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
    contributors: dict[str, Contributor] | None = None
    """Merged lists: source → how its list was served; the provider's own source first in
    precedence, then `openrouter`, then the independent catalogs."""
    name: str | None = None
    """The provider's display name, where a source gives one (`Fireworks AI`)."""


class ProviderSummary(Record):
    """One provider in `models/providers/index.json`."""

    provider: str
    """Provider name, the list's `source`."""
    name: str | None = None
    """Display name, where a source gives one."""
    key: str
    """Store key of the provider's list."""
    count: int
    """Models in the list (stale and deprecated ones included, removed ones not)."""
    states: dict[str, int] = Field(default_factory=dict)
    """Lifecycle state → models."""
    source_type: str
    """The list's `sourceType` (`independent` when only independent catalogs name it)."""
    sources: list[str]
    """Sources whose lists went into it, in precedence order."""
    served_by: ServedBy
    """The list's `servedBy`."""
    data_as_of: str
    """When its data was observed upstream (`dataAsOf`, else `fetchedAt`)."""


class ProviderModelRef(Record):
    """One provider–model, by provider and the model's id there."""

    provider: str
    """Provider name."""
    id: str
    """The model's id in that provider's list."""


class ProvidersIndex(Record):
    """`models/providers/index.json`: every published provider list, written with them."""

    schema_version: int = PROVIDER_SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """The run that wrote it."""
    count: int
    """Number of providers."""
    models: int
    """Provider–model records across all lists."""
    providers: list[ProviderSummary]
    """Providers, sorted by name."""
    serving: dict[str, list[ProviderModelRef]] = Field(default_factory=dict)
    """OpenRouter model id → the provider–models matched to it (by a provider's own list or by
    id), sorted: who serves a model of the catalog, without reading every list."""


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
