"""The independent catalogs (models.dev, LiteLLM, genai-prices) as the merge reads them.

Each catalog source normalizes its file into one ``CatalogEntry`` per provider–model it lists
and caches them as a ``CatalogSnapshot`` (``models/catalogs/<source>/current.json``, next to the
raw file). Values are in the published units (USD per 1M tokens); a key the catalog does not
state is absent, never a default. The merge (``pipeline.merge``) reads every snapshot.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from pipeline.records.base import Kind, Record, ServedBy, Weights
from pipeline.records.model import AnnouncedPrice, Modalities, Pricing

CATALOG_SCHEMA_VERSION = 1


class CatalogEntry(Record):
    """One provider–model as an independent catalog states it."""

    provider: str
    """Our provider name (the catalog's name mapped by ``pipeline.sources.provider_names``)."""
    upstream: str
    """The catalog's own provider name (`google`, `vertex_ai-language-models`, `x-ai`)."""
    id: str
    """The model id under that provider (LiteLLM keys without their provider prefix)."""
    key: str
    """Where the entry is in the file: models.dev `<provider>/<model>`, LiteLLM's key verbatim,
    genai-prices `<provider>/<model id>`."""
    name: str | None = None
    """Display name."""
    kind: Kind | None = None
    """What the model is for, where the catalog says (LiteLLM `mode`)."""
    pricing: Pricing | None = None
    """Prices in effect when the file was read (USD per 1M tokens); absent: not priced."""
    unit_key: str | None = None
    """The catalog's key a per-unit price was read from (LiteLLM `input_cost_per_query`), for
    the evidence that cites it; absent when the price is per token."""
    announced_prices: list[AnnouncedPrice] = Field(default_factory=list)
    """Prices from a later date (genai-prices `constraint.start_date`), oldest first."""
    max_context: int | None = None
    """Context window, tokens."""
    max_output: int | None = None
    """Most output tokens."""
    modalities: Modalities | None = None
    """Input and output modalities (`pdf` read as `file`), where stated."""
    supports_vision: bool | None = None
    """Takes image input."""
    supports_tools: bool | None = None
    """Tool / function calling."""
    reasoning: bool | None = None
    """Reasons before answering."""
    reasoning_controls: bool | None = None
    """The reasoning effort or budget can be set (models.dev `reasoning_options`, LiteLLM
    `supports_*_reasoning_effort`)."""
    structured_output: bool | None = None
    """Structured outputs / response schema."""
    weights: Weights | None = None
    """Open or closed weights."""
    knowledge_cutoff: str | None = None
    """Training data cutoff as given."""
    release_date: str | None = None
    """Public release date (YYYY-MM-DD)."""
    last_updated: str | None = None
    """When the catalog last changed the model's data (YYYY-MM-DD)."""
    status: Literal["alpha", "beta", "deprecated"] | None = None
    """Release status as given (models.dev `status`)."""
    deprecation_date: str | None = None
    """Announced retirement date, ISO-8601 UTC (LiteLLM `deprecation_date`)."""
    match: dict[str, Any] | None = None
    """genai-prices: the rule that says which model ids this entry prices (its `match`)."""


class CatalogSnapshot(Record):
    """`models/catalogs/<source>/current.json`: one independent catalog, normalized; also the
    cache that decides when the file is fetched again."""

    schema_version: int = CATALOG_SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """When this document was written (run clock), ISO-8601 UTC."""
    run_id: str
    """The run that wrote it."""
    source: str
    """Source name (the `sources:` key)."""
    source_type: str
    """Registry type (`modelsdev`, `litellm`, `genai-prices`)."""
    url: str
    """Where the file was fetched from."""
    fetched_at: str
    """When the file was fetched, ISO-8601 UTC."""
    ttl_seconds: int
    """Cache lifetime: with `servedBy` `api`, no request is made before `fetchedAt` + this."""
    served_by: ServedBy
    """`api`: fetched by the run that wrote it; `stale`: an earlier fetch republished."""
    reason: str | None = None
    """Why the file was not fetched (absent when it was)."""
    raw_key: str | None = None
    """Store key of the raw file this snapshot was normalized from."""
    providers: dict[str, str] = Field(default_factory=dict)
    """The catalog's provider names → their display names, as given."""
    count: int
    """Number of entries."""
    entries: list[CatalogEntry]
    """Entries in the file's order (genai-prices: the first rule that selects an id prices it)."""
