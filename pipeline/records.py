"""Types that cross stage boundaries and make up the published artifacts.

Every published JSON Schema is generated from these models (``catalog schemas --write``), so
the field docstrings below are the documentation downstream readers see.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
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


class PriceFields(Record):
    """Prices in USD. Token prices are per 1M tokens; a missing key means "not priced", never 0."""

    input: Usd | None = None
    """USD per 1M input (prompt) tokens."""
    output: Usd | None = None
    """USD per 1M output (completion) tokens."""
    cache_read: Usd | None = None
    """USD per 1M cached input tokens read."""
    cache_write: Usd | None = None
    """USD per 1M input tokens written to the cache (5-minute cache where several exist)."""
    cache_write_1h: Usd | None = None
    """USD per 1M input tokens written to the 1-hour cache."""
    reasoning: Usd | None = None
    """USD per 1M internal reasoning tokens, where billed apart from output."""
    audio_input: Usd | None = None
    """USD per 1M audio input tokens."""
    audio_cache_read: Usd | None = None
    """USD per 1M cached audio input tokens read."""
    audio_output: Usd | None = None
    """USD per 1M audio output tokens."""
    image_token: Usd | None = None
    """USD per 1M image tokens."""
    image_output: Usd | None = None
    """USD per 1M image output tokens."""
    per_request: Usd | None = None
    """USD per request, on top of token prices."""
    per_image: Usd | None = None
    """USD per input image (upstream `image`)."""
    web_search: Usd | None = None
    """USD per web search call."""
    other: dict[str, Usd] = Field(default_factory=dict)
    """Price keys this version does not know yet, verbatim in upstream units (USD per unit)."""


class PriceTierRule(PriceFields):
    """A conditional price rule from the feed (`pricing.overrides`): when its condition holds,
    the prices it gives replace the base ones and the others stay."""

    min_prompt_tokens: int | None = None
    """Long-context rule: applies when the prompt has at least this many tokens."""
    utc_start: int | None = None
    """Time-of-day rule: start of the window, as given upstream (UTC, HHMM)."""
    utc_end: int | None = None
    """Time-of-day rule: end of the window, as given upstream (UTC, HHMM)."""


class Pricing(PriceFields):
    """Prices in USD. Token prices are per 1M tokens; a missing key means "not priced", never 0."""

    variable: bool = False
    """True for dynamically priced routers (upstream reports -1); no token prices are given then."""
    tiers: list[PriceTierRule] = Field(default_factory=list)
    """Conditional price rules from the feed (long-context and time-of-day), in feed order."""
    per_unit: Usd | None = None
    """For a model not billed per token (speech, transcription): USD per billing unit, the
    feed's figure as given (never scaled to 1M); `unit` says the unit. Token fields are then
    absent."""
    unit: str | None = None
    """Billing unit of `perUnit`: `minute`, `second`, `character`, `image`, `request`, or
    `unstated` when the feed gives a figure without its unit (OpenRouter never states it)."""


class Modalities(Record):
    """What a model takes in and gives out."""

    input: list[str] = Field(default_factory=list)
    """Input modalities, e.g. text, image, file, audio, video."""
    output: list[str] = Field(default_factory=list)
    """Output modalities, e.g. text, image, embeddings, speech."""


class Lifecycle(Record):
    """Where a model stands in active → stale → deprecated → removed. Times are ISO-8601 UTC."""

    state: LifecycleState
    """Current state."""
    first_seen: str
    """When an authoritative feed first listed the model."""
    last_seen: str
    """When an authoritative feed last listed the model."""
    state_since: str
    """When the model entered its current state."""
    missing_since: str | None = None
    """When the model was first found missing from the feed; absent while it is listed."""
    expires_at: str | None = None
    """Retirement date announced upstream (`expiration_date`), if any."""


class SourceRef(Record):
    """One upstream list that carries the model."""

    source: str
    """Source name (`openrouter`, `openai`, `anthropic`, ...)."""
    native_id: str
    """The model's id in that source."""


class BenchmarkSummary(Record):
    """The feed's own `benchmarks` (OpenRouter, from mid-2026), reduced to the few numbers
    curation ranks by. Absent when the feed carries none for the model."""

    intelligence_index: float | None = None
    """Artificial Analysis Intelligence Index (`artificial_analysis.intelligence_index`)."""
    coding_index: float | None = None
    """Artificial Analysis Coding Index (`artificial_analysis.coding_index`)."""
    agentic_index: float | None = None
    """Artificial Analysis Agentic Index (`artificial_analysis.agentic_index`)."""
    design_arena_elo: float | None = None
    """Mean Elo over the model's Design Arena entries (`design_arena[].elo`)."""
    design_arena_entries: int | None = None
    """How many Design Arena entries the mean is over."""


class Offer(Record):
    """One provider endpoint serving a model on OpenRouter (`/api/v1/models/{id}/endpoints`)."""

    provider: str
    """Provider's display name (`provider_name`), e.g. `DeepInfra`."""
    tag: str | None = None
    """Endpoint tag, provider slug plus variant (`deepinfra/fp8`); what routing preferences
    and provenance name."""
    quantization: str | None = None
    """Weights precision the provider serves (`fp8`, `bf16`, `int4`, ...), when stated."""
    pricing: PriceFields
    """This provider's prices (USD per 1M tokens, exact decimals, as for the model's)."""
    max_context: int | None = None
    """Context window at this provider (`context_length`)."""
    max_output: int | None = None
    """Maximum completion tokens at this provider (`max_completion_tokens`)."""
    max_prompt: int | None = None
    """Maximum prompt tokens at this provider (`max_prompt_tokens`), where it differs."""
    supported_parameters: list[str] = Field(default_factory=list)
    """Request parameters this provider supports."""
    status: int | str | None = None
    """OpenRouter's endpoint status code, verbatim (0 is the normal state)."""
    uptime_30m: float | None = Field(default=None, alias="uptime30m")
    """Uptime over the last 30 minutes, percent (successful / (successful + errors) · 100)."""
    uptime_1d: float | None = Field(default=None, alias="uptime1d")
    """Uptime over the last day, percent."""
    latency_p50_ms: float | None = None
    """Median time to first token over the last 30 minutes, milliseconds."""
    latency_p90_ms: float | None = None
    """90th percentile time to first token over the last 30 minutes, milliseconds."""
    throughput_p50: float | None = None
    """Median generation speed over the last 30 minutes, tokens per second."""
    implicit_caching: bool | None = None
    """The provider caches prompts without being asked (`supports_implicit_caching`)."""


class OfferPriceRange(Record):
    """Cheapest and dearest token prices across a model's offers, USD per 1M tokens."""

    input_min: Usd | None = None
    """Lowest input price of any offer."""
    input_max: Usd | None = None
    """Highest input price of any offer."""
    output_min: Usd | None = None
    """Lowest output price of any offer."""
    output_max: Usd | None = None
    """Highest output price of any offer."""
    priced_offers: int
    """How many offers state a token price."""


ParameterValue = bool | int | float | str
"""A request parameter's value as the feed gives it (temperature 1, top_p 0.95, ...)."""


class OpenWeights(Record):
    """Where a model's weights are published (the feed's `hugging_face_id`)."""

    hugging_face_id: str
    """Hugging Face repository id, e.g. `Qwen/Qwen3.8-27B`."""


class PerRequestLimits(Record):
    """Token limits the feed states for one request (`per_request_limits`)."""

    prompt_tokens: int | None = None
    """Most prompt tokens one request may send."""
    completion_tokens: int | None = None
    """Most completion tokens one request may ask for."""


class ModelRecord(Record):
    """One model in `current.json`."""

    id: str
    """Upstream model id, e.g. `openai/gpt-4o` (OpenRouter ids carry the vendor prefix)."""
    name: str
    """Display name."""
    alias: str
    """Stable short name, unique in the catalog; never moves to another model once published."""
    provider: str
    """`openrouter` or the direct provider's id."""
    family: str
    """Vendor prefix of the id, e.g. `qwen`."""
    kind: Kind
    """What the model is for."""
    created: int | None = None
    """Upstream creation time, Unix seconds."""
    canonical_slug: str | None = None
    """Upstream canonical slug (stable across renames of the id)."""
    alias_target: str | None = None
    """For `~` alias ids: the slug of the model they currently point to."""
    max_context: int | None = None
    """Context window in tokens."""
    max_output: int | None = None
    """Maximum completion tokens."""
    modalities: Modalities
    """Input and output modalities."""
    pricing: Pricing
    """OpenRouter's listed price for the model (what its router charges by default, usually
    the lowest across the hosts serving it); see `Pricing`. Per-host prices are in `offers`."""
    cost: str
    """Display string, e.g. `$2.50/$10.00 per 1M`."""
    price_tier: PriceTier
    """Tier by USD per 1M input tokens."""
    is_free: bool
    """True when the model costs nothing to call."""
    supports_vision: bool
    """Accepts image input."""
    supports_tools: bool
    """Supports tool / function calling."""
    reasoning: Reasoning
    """`configurable` when reasoning can be controlled, `fixed` when always on, else `none`."""
    structured_output: bool
    """Supports response_format / structured outputs."""
    is_image_gen: bool
    """Generates images."""
    detection_source: dict[str, DetectionLayer]
    """For each flag, the layer that decided it."""
    evidence: dict[str, str] = Field(default_factory=dict)
    """For each flag, what decided it: the parameter, modality, pattern or override entry."""
    supported_parameters: list[str] = Field(default_factory=list)
    """Request parameters the upstream reports as supported."""
    knowledge_cutoff: str | None = None
    """Training data cutoff as given upstream."""
    benchmarks: BenchmarkSummary | None = None
    """Summary of the feed's benchmark data, when it has any (curation's quality input)."""
    lifecycle: Lifecycle
    """Lifecycle state and dates."""
    sources: list[SourceRef]
    """Upstream lists that carry the model, with their native ids."""
    offers: list[Offer] | None = None
    """One entry per provider endpoint serving the model on OpenRouter (its endpoints API),
    sorted by provider, tag and quantization. Absent when the endpoints API was not asked or
    knew nothing of the model; `[]` when OpenRouter lists no endpoint for it."""
    offer_price_range: OfferPriceRange | None = None
    """Lowest and highest token prices across `offers`; absent without priced offers."""
    offers_as_of: str | None = None
    """When `offers` were fetched, ISO-8601 UTC (they may be older than `generatedAt`: each
    model's endpoints are fetched again only after the offers TTL, and kept when a fetch
    fails)."""
    description: str | None = None
    """The feed's description of the model, verbatim (absent when the feed has none)."""
    default_parameters: dict[str, ParameterValue] | None = None
    """Request parameters the feed says the model is served with by default
    (`default_parameters`, only the keys with a value), e.g. `{"temperature": 1, "top_p": 0.95}`."""
    open_weights: OpenWeights | None = None
    """Present when the feed names the model's published weights (`hugging_face_id`)."""
    per_request_limits: PerRequestLimits | None = None
    """Per-request token limits, when the feed states any."""
    supported_voices: list[str] | None = None
    """Voices a speech model offers (`supported_voices`), in feed order."""
    links: dict[str, str] | None = None
    """The feed's `links` (e.g. `details`: the path of the model's endpoints listing)."""
    verification: Verification | None = None
    """What runtime telemetry says about the model (`telemetry.json`); absent when no call to
    it was observed in the window — read absent as `unverified`."""


class ProviderModelRecord(ModelRecord):
    """One model in a provider list. The fields of `ModelRecord`, except that a capability flag
    no source states for this provider (no API signal, no name pattern, no override) is absent
    and the list's `provenance` says `unknown` for it; `detectionSource` then has no entry for
    it and `evidence` says what was looked for."""

    # Widened from ModelRecord's required values: absent means unknown, never a default.
    is_free: bool | None = None  # type: ignore[assignment]
    """True when the model costs nothing to call; absent when the price is unknown."""
    supports_vision: bool | None = None  # type: ignore[assignment]
    """Accepts image input; absent when unknown."""
    supports_tools: bool | None = None  # type: ignore[assignment]
    """Supports tool / function calling; absent when unknown."""
    reasoning: Reasoning | None = None  # type: ignore[assignment]
    """`configurable`, `fixed` or `none` as for `ModelRecord`; absent when unknown."""
    structured_output: bool | None = None  # type: ignore[assignment]
    """Supports response_format / structured outputs; absent when unknown."""
    is_image_gen: bool | None = None  # type: ignore[assignment]
    """Generates images; absent when unknown."""


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


class QuarantinedRecord(Record):
    """An upstream record that could not be normalized and was left out."""

    index: int
    """Position in the upstream list."""
    id: str | None = None
    """Its id, when it had a readable one."""
    reason: str
    """What was wrong."""


class RunReport(Record):
    """`models/runs/<run_id>.json`: what one run did."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """This run's id."""
    job: str
    """Job that ran (`full_refresh`, `openrouter`, ...)."""
    outcome: Outcome
    """How the run ended."""
    published: bool
    """Whether a new catalog was published."""
    error: str | None = None
    """One-line reason when the run did not publish or was degraded."""
    timings_ms: dict[str, float] = Field(default_factory=dict)
    """Wall time per stage, milliseconds."""
    counts: dict[str, int] = Field(default_factory=dict)
    """Input, published, quarantined, added, removed, ... counts."""
    quarantined: list[QuarantinedRecord] = Field(default_factory=list)
    """Records left out, with reasons."""
    warnings: list[str] = Field(default_factory=list)
    """Things an operator should look at."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Stage-specific sections (changelog, conflicts, capability counts, sources)."""


class JobStatus(Record):
    """Last outcome of one job."""

    last_start: str
    """When the last run started (run clock)."""
    last_end: str
    """When it ended (run clock)."""
    outcome: Outcome
    """How it ended."""
    run_id: str
    """Its run id."""
    published: bool
    """Whether it published."""
    last_success: str | None = None
    """When this job last ended `ok` or `degraded` with something published."""
    error: str | None = None
    """Its error, if any."""
    counts: dict[str, int] = Field(default_factory=dict)
    """Its counts."""
    sources: dict[str, Any] = Field(default_factory=dict)
    """Per-source freshness and the fallback tier used."""
    warnings: list[str] = Field(default_factory=list)
    """Its warnings."""
    data_as_of: str | None = None
    """When the data this job published (or kept) was observed upstream: the catalog's
    `dataAsOf` for OpenRouter, sweep and curated jobs."""


class Status(Record):
    """`models/status.json`: the last outcome of each job."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """When this document was last written (run clock)."""
    jobs: dict[str, JobStatus] = Field(default_factory=dict)
    """Per job."""


RedirectReason = Literal["rename", "variant", "override", "family-fallback"]


class Redirect(Record):
    """A retired or renamed id and where its callers should go instead."""

    from_id: str = Field(alias="from")
    """The id that no longer serves (or is forced deprecated)."""
    to: str
    """The id to use instead."""
    reason: RedirectReason
    """Why: `rename` (same canonical slug, new id), `variant` (a `:variant` whose base
    remains), `override` (deprecation-overrides.json), `family-fallback`."""
    since: str
    """When the redirect was first published, ISO-8601 UTC."""


class AliasChange(Record):
    """One change of a model's alias (only ever through an override)."""

    old_alias: str
    """The alias before."""
    new_alias: str
    """The alias after."""
    model_id: str
    """The model whose alias changed."""
    since: str
    """When the change was published."""


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


class ManifestEntry(Record):
    """One artifact of the published set."""

    key: str
    """Immutable per-run copy of the artifact (`models/openrouter/runs/<runId>/<name>.json`)."""
    sha256: str
    """Hex SHA-256 of its bytes; the well-known copy has the same bytes."""
    run_id: str
    """The run that produced this content (unchanged artifacts keep their older run)."""


class Manifest(Record):
    """`models/openrouter/manifest.json`: the commit point of a published set. Written last,
    with a conditional write on the previous manifest, so a reader that goes through it always
    gets one complete, consistent set."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """The run that committed this set."""
    artifacts: dict[str, ManifestEntry]
    """Artifact name (`current`, `curated`, `deprecations`) → where it is and its hash."""


BucketName = Literal["coding", "reasoning", "chat", "fastCheap", "vision", "imageGen"]
ScoreSource = Literal[
    "override",
    "benchmarks",
    "heuristic",
    "lifecycle",
    "telemetry",
    "price",
    "variable",
    "default",
    "endpoints",
]


class Score(Record):
    """One score in [0, 1] and where it came from."""

    value: float
    """The score, 0 (worst) to 1 (best), rounded to 4 decimals."""
    source: ScoreSource
    """`override` (quality-scores.json), `benchmarks` (the feed's), `heuristic`, `lifecycle`,
    `telemetry`, `price`, `variable` (dynamic price, neutral value), `default`, or
    `endpoints` (uptime, latency and throughput measured by OpenRouter per provider)."""
    detail: str | None = None
    """What the value was computed from, for an operator reading the file."""


class Scores(Record):
    """The four scores a rank is the weighted sum of."""

    quality: Score
    """How good the model's answers are."""
    reliability: Score
    """How dependably it is served."""
    latency: Score
    """How fast it answers."""
    cost: Score
    """How cheap it is (1 = free)."""


class CuratedRef(Record):
    """A curated model as listed in a bucket."""

    id: str
    """Model id."""
    alias: str
    """Its alias in current.json."""


class CuratedModel(Record):
    """One curated model with its rank and scores."""

    id: str
    """Model id."""
    alias: str
    """Its alias in current.json."""
    rank: float
    """quality·w + reliability·w + latency·w + cost·w with the published `weights`."""
    scores: Scores
    """The scores the rank is computed from."""
    buckets: list[BucketName]
    """Buckets the model was selected for."""


class Weights(Record):
    """Rank weights (they sum to 1)."""

    quality: float
    """Weight of the quality score."""
    reliability: float
    """Weight of the reliability score."""
    latency: float
    """Weight of the latency score."""
    cost: float
    """Weight of the cost score."""


class Constraints(Record):
    """Selection constraints in force for this document."""

    minimums: dict[str, int]
    """Bucket → fewest models it should hold (a shortfall is reported, never padded)."""
    sizes: dict[str, int]
    """Bucket → how many models are selected when enough are eligible."""
    max_per_family: int
    """Most models of one provider family in one bucket."""
    max_buckets_per_model: int
    """Most buckets one model is selected for."""


class Shortfall(Record):
    """A bucket published with fewer models than its minimum."""

    bucket: BucketName
    """The bucket."""
    minimum: int
    """Its minimum."""
    selected: int
    """How many it holds."""
    eligible: int
    """Active models that meet its membership rule."""
    reason: str
    """Why it is short."""


CoreSource = Literal["curated-core", "feed", "computed"]
CoreProblem = Literal[
    "renamed",
    "redirected",
    "stale",
    "deprecated",
    "removed",
    "unknown",
    "unsupported-default",
    "pin-refused",
    "alias-taken",
]


class CoreModel(Record):
    """One model of the curated core: the hand-maintained metadata of
    `overrides/curated-core.json` merged with the feed's facts and the computed rank."""

    id: str
    """The model the entry applies to (after following a rename)."""
    entry: str | None = None
    """The entry's key in curated-core.json, when it differs from `id` (a followed rename)."""
    name: str
    """Display name (feed)."""
    alias: str
    """The model's alias in current.json: the entry's concise alias once it is published."""
    specialty: str
    """What it is for: a bucket name or a short free word."""
    summary: str
    """One line of UX copy."""
    help: str
    """A short paragraph for `/help`."""
    description: str | None = None
    """The feed's own description (feed)."""
    defaults: dict[str, ParameterValue] = Field(default_factory=dict)
    """Safe request parameters to send: the entry's, then the feed's `default_parameters` for
    the ones the entry leaves out."""
    state: LifecycleState
    """Lifecycle state of the model."""
    rank: float | None = None
    """Its computed rank (absent when it is not scored, e.g. not active)."""
    scores: Scores | None = None
    """The scores the rank is computed from."""
    buckets: list[BucketName] = Field(default_factory=list)
    """Buckets it is curated in."""
    pinned: list[BucketName] = Field(default_factory=list)
    """Buckets the entry pins it to."""
    sources: dict[str, CoreSource]
    """Where each value came from: field (`defaults.temperature` for one default) →
    `curated-core` (the hand-maintained file), `feed` or `computed`."""
    reviewed: str
    """When the entry was last reviewed (YYYY-MM-DD)."""
    note: str | None = None
    """The maintainer's note."""


class CoreIssue(Record):
    """Something in curated-core.json a maintainer should fix (also a run-report warning)."""

    entry: str
    """The entry's key in curated-core.json."""
    problem: CoreProblem
    """What is wrong: the model was `renamed` or `redirected` (the entry follows it),
    is `stale`, `deprecated`, `removed` or `unknown`; a default it does not support; a pin the
    bucket's rule or constraints refused; the concise alias could not be given."""
    field: str | None = None
    """The entry's field concerned (`defaults.top_k`, `pin.vision`), if one."""
    detail: str
    """The problem in words, with what to do."""
    replacement: str | None = None
    """The model to use instead (the rename's target or the resolution's replacement)."""


class CuratedCatalog(Record):
    """`models/openrouter/curated.json`: the curated shortlist per bucket, with scores."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """The run that produced this document."""
    catalog_run_id: str
    """Run id of the current.json it was computed from."""
    buckets: dict[BucketName, list[CuratedRef]]
    """Bucket → its models, best ranked first."""
    models: list[CuratedModel]
    """Every curated model once, best ranked first."""
    ranks: dict[str, float]
    """Rank of every scored active model (curated or not), for same-family fallback."""
    weights: Weights
    """Rank weights used."""
    constraints: Constraints
    """Selection constraints used."""
    shortfalls: list[Shortfall] = Field(default_factory=list)
    """Buckets below their minimum, with the reason."""
    core: list[CoreModel] = Field(default_factory=list)
    """The curated core (overrides/curated-core.json), in the file's order; excluded entries
    and entries whose model is unknown are left out (see `coreIssues`)."""
    excluded: list[str] = Field(default_factory=list)
    """Models the core excludes from every bucket."""
    core_issues: list[CoreIssue] = Field(default_factory=list)
    """Entries a maintainer should look at."""

    data_as_of: str | None = None
    """`dataAsOf` of the current.json it was computed from: how old its data is."""


# -- history (issue 19) ------------------------------------------------------------------------

HistoryEventKind = Literal["added", "tracked", "changed", "removed"]


class HistoryEvent(Record):
    """One model's change in one run. ``changes`` maps a tracked field (``pricing.input``,
    ``maxContext``, ``supportsTools``, ``state``, ``alias``, ``redirectTo``, …) to
    ``[before, after]``; ``null`` means the field was absent (unknown, or not in the catalog)."""

    at: str
    """When the change was observed: the run's clock (the data's time for replays), ISO UTC."""
    run_id: str
    """The run that observed it."""
    id: str
    """Model id."""
    event: HistoryEventKind
    """`added` (new in the catalog), `tracked` (its values when history began on an existing
    catalog), `changed`, or `removed` (left current.json; a tombstone now)."""
    changes: dict[str, list[Any]]
    """Field → [before, after]."""


class HistorySegment(Record):
    """`models/openrouter/history/<seq>-<runId>.json`: an immutable slice of the history,
    events in the order they were observed. A run rewrites only the last, bounded segment
    (under a new key), so appending costs at most one segment whatever the history's age."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """The run that wrote this segment."""
    seq: int
    """Position of the segment in the history (0-based)."""
    events: list[HistoryEvent]
    """Events, oldest first; within one run sorted by model id."""


class HistorySegmentRef(Record):
    """One segment as the index lists it."""

    seq: int
    """Position of the segment (0-based)."""
    key: str
    """Store key of the segment."""
    sha256: str
    """Hex SHA-256 of the segment's bytes."""
    events: int
    """How many events it holds."""
    first_at: str
    """Time of its first event."""
    last_at: str
    """Time of its last event."""


class HistoryIndex(Record):
    """`models/openrouter/history.json`: the segments of the catalog's history, committed with
    the set through the manifest (artifact `history`)."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """The run that last appended to the history."""
    fields: list[str]
    """The tracked fields."""
    events: int
    """Events in all segments."""
    segments: list[HistorySegmentRef]
    """Segments, oldest first."""


# -- runtime telemetry (issue 17) --------------------------------------------------------

VerificationStatus = Literal["verified", "partial", "failing", "unverified"]
TelemetryCapability = Literal[
    "chat", "tools", "structuredOutput", "vision", "reasoning", "streaming"
]


class CapabilityCheck(Record):
    """What the calls in the window say about one capability of a model."""

    calls: int
    """Calls that exercised it and said something about it (`ok` + `capability_error`)."""
    ok: int
    """Calls where the model did what the capability promises."""
    success_rate: float
    """`ok / calls`, rounded to 4 decimals."""
    success_lower_bound: float
    """Wilson score lower bound (95%) of the success rate."""
    failure_lower_bound: float
    """Wilson score lower bound (95%) of the failure rate (`capability_error / calls`)."""


class Downgrade(Record):
    """A flag the telemetry layer published false, and what it replaced."""

    was_value: bool
    """The value the other layers decided (restored on recovery)."""
    was_source: DetectionLayer
    """The layer that decided it."""
    was_evidence: str
    """Its evidence."""
    since: str
    """When the downgrade was first published, ISO-8601 UTC."""


class Verification(Record):
    """Runtime truth for one model, from observed calls (issue 17)."""

    status: VerificationStatus
    """`verified` (some capability verified, none failing), `partial` (some of each),
    `failing` (failing, none verified) or `unverified` (not enough calls to tell)."""
    last_checked: str
    """When the verification job computed this, ISO-8601 UTC."""
    last_seen: str
    """The last observed call, ISO-8601 UTC."""
    window_days: int
    """Length of the window the figures are over."""
    calls: int
    """Calls in the window (every outcome)."""
    served_lower_bound: float | None = None
    """Wilson lower bound of the share of calls the provider served (not `provider_error`,
    `rate_limited` or `timeout`; `client_error` calls left out); the reliability input."""
    latency_p50_ms: float | None = None
    """Median latency of served calls, milliseconds (from the histogram)."""
    latency_p95_ms: float | None = None
    """95th percentile latency of served calls, milliseconds."""
    ttft_p50_ms: float | None = None
    """Median time to first token, milliseconds, where reported."""
    verified_capabilities: list[TelemetryCapability] = Field(default_factory=list)
    """Capabilities whose success lower bound reached the verification threshold."""
    failing_capabilities: list[TelemetryCapability] = Field(default_factory=list)
    """Capabilities whose failure lower bound exceeds the downgrade threshold."""
    capabilities: dict[str, CapabilityCheck] = Field(default_factory=dict)
    """Capability → the numbers behind the two lists."""
    downgraded: dict[str, Downgrade] = Field(default_factory=dict)
    """Flag → the downgrade in force (absent once recovered)."""


class TelemetryStats(Record):
    """Calls of one model (and capability) in one window, from the hourly rollups."""

    calls: int
    """Every observed call."""
    outcomes: dict[str, int]
    """Outcome → calls (`ok`, `capability_error`, `provider_error`, `rate_limited`, `timeout`,
    `client_error`; zero counts left out)."""
    success_rate: float | None = None
    """`ok / (ok + capability_error)`; absent without such calls."""
    success_lower_bound: float | None = None
    """Wilson score lower bound (95%) of the success rate."""
    served_lower_bound: float | None = None
    """Wilson lower bound of the share of calls served (not provider_error / rate_limited /
    timeout; client_error left out)."""
    latency_p50_ms: float | None = None
    """Median latency, milliseconds (histogram, interpolated within the bucket)."""
    latency_p95_ms: float | None = None
    """95th percentile latency, milliseconds."""
    ttft_p50_ms: float | None = None
    """Median time to first token, milliseconds."""
    ttft_p95_ms: float | None = None
    """95th percentile time to first token, milliseconds."""
    input_tokens: int = 0
    """Input tokens reported."""
    output_tokens: int = 0
    """Output tokens reported."""
    last_seen: str
    """The latest call, ISO-8601 UTC."""


class TelemetryWindow(Record):
    """One model over one window: all calls, and per capability."""

    total: TelemetryStats
    """Every capability together."""
    capabilities: dict[str, TelemetryStats]
    """Capability → its calls."""


class ModelTelemetry(Record):
    """One model in `telemetry.json`."""

    id: str
    """Model id (as in current.json)."""
    windows: dict[str, TelemetryWindow]
    """`7d`, `30d`, … → figures over that many UTC days (today included)."""


class TelemetryDocument(Record):
    """`models/openrouter/telemetry.json`: runtime truth aggregated from the hourly rollups."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """The run that produced this document."""
    windows_days: list[int]
    """The windows, in UTC days."""
    verification_window: str
    """The window verification, downgrades and ranking read (e.g. `7d`)."""
    min_calls: int
    """Fewest judged calls before a capability is verified, failing, downgraded or recovered."""
    downgrade_above: float
    """A flag is downgraded when its failure lower bound exceeds this."""
    recover_at: float
    """A capability is verified (a downgraded flag recovers) when its success lower bound
    reaches this."""
    unknown_models: int = 0
    """Models with calls in the rollups that current.json no longer lists (left out)."""
    count: int
    """Number of models."""
    models: list[ModelTelemetry]
    """Models with calls in the longest window, sorted by id."""


# `ModelRecord.verification` refers to `Verification`, defined above it in the file's reading
# order only here (new types are appended): resolve the forward reference now, so subclasses
# made at import time elsewhere (the service's ResolvedModel) are complete.
for _model in (ModelRecord, CurrentCatalog, ProviderCatalog, Tombstone, Deprecations):
    _model.model_rebuild()
