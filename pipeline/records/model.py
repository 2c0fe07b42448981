"""One model as published: prices with their units, modalities, lifecycle, sources, offers,
verification, and the record itself (`ModelRecord`, `ProviderModelRecord`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.records.base import (
    DetectionLayer,
    Kind,
    LifecycleState,
    ParameterValue,
    PriceTier,
    Reasoning,
    Record,
    Usd,
    Weights,
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
    """Billing unit of a model not billed per token: of `perUnit` (`minute`, `second`,
    `character`, `image`, `request`), or `unstated` when the feed gives a figure without its
    unit (OpenRouter never states it) or, without `perUnit`, no figure at all (a video or
    rerank model the feed lists at "0"). Token prices are then absent, never 0."""


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
    """Retirement date announced upstream (OpenRouter's `expiration_date`, Mistral's
    `deprecation`, OpenAI's `shutdown_date`), if any."""
    replacement: str | None = None
    """The model the provider names as this one's replacement (Mistral's
    `deprecation_replacement_model`): where a redirect sends its callers when it goes."""


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


VerificationStatus = Literal["verified", "partial", "failing", "unverified"]
VoteSays = Literal["works", "fails", "undecided"]
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
    votes: dict[str, VoteSays] | None = None
    """Identity → what its own calls say, for each identity with at least `min_calls` judged
    calls (one identity, one vote; `-` for rollups from before identities). The verdict is
    their strict majority; absent when no identity called it enough."""
    probe: VoteSays | None = None
    """What the operator's probes (`syncmodels verify`) in the window say; they decide when
    the identities reach no majority."""


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
    """Capabilities the identities that called them say work (a strict majority of the
    voters, each with its success lower bound at the verification threshold), or the
    operator's probes do when they reach no majority."""
    failing_capabilities: list[TelemetryCapability] = Field(default_factory=list)
    """Capabilities a strict majority of the voting identities say fail (each with its
    failure lower bound above the downgrade threshold), or the probes do without a majority."""
    capabilities: dict[str, CapabilityCheck] = Field(default_factory=dict)
    """Capability → the numbers behind the two lists."""
    downgraded: dict[str, Downgrade] = Field(default_factory=dict)
    """Flag → the downgrade in force (absent once recovered)."""


class ModelRecord(Record):
    """One model in `current.json`."""

    id: str
    """Upstream model id, e.g. `openai/gpt-4o` (OpenRouter ids carry the vendor prefix)."""
    name: str
    """Display name."""
    alias: str
    """Stable short name, unique in the catalog: the natural alias (the id without vendor and
    tags) unless an override reserves another; never moves to another model once published,
    except back to its base model from a tagged sibling or along a rename (alias history)."""
    aliases: list[str] | None = None
    """Additional names that resolve to this model, besides `alias`: the curated core's concise
    alias (`haiku`). Unique in the catalog like `alias`; absent when there are none."""
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


class FieldAgreement(Record):
    """How the sources that state one field of a provider–model agree with the published value."""

    sources: int
    """Sources stating the field (the provider's own list, its OpenRouter offer, each
    independent catalog): two or more, else there is nothing to agree on."""
    agree: int
    """Of those, how many state the published value (prices equal within a millionth)."""


class Dissent(Record):
    """One source stating another value than the published one for a field."""

    field: str
    """The field (`input`, `output`, `cacheRead`, `cacheWrite`, `maxContext`, `maxOutput`,
    `supportsVision`, `supportsTools`, `reasoning`, `structuredOutput`)."""
    value: Usd | int | bool
    """The source's value, in the published unit (USD per 1M tokens for prices)."""
    source: str
    """The source (`modelsdev`, `litellm`, `genai-prices`, `openrouter`, or the provider's own
    list by its source name)."""


class AnnouncedPrice(Record):
    """A price that takes effect on a later date, as announced upstream (genai-prices
    `constraint.start_date`)."""

    from_date: str = Field(alias="from")
    """The day it takes effect (YYYY-MM-DD, UTC)."""
    pricing: PriceFields
    """The prices from that day (USD per 1M tokens)."""
    source: str
    """Who announced it (`genai-prices`)."""


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
    quantization: str | None = None
    """Weights precision this host serves the model at (`fp8`, `fp4`, ...), when its own
    list states it (Baseten's `quantization`)."""
    agreement: dict[str, FieldAgreement] | None = None
    """Field → how many sources state it and how many agree with the published value; only
    fields two or more sources state (issue 30). Absent when no field has two sources."""
    disagreements: list[Dissent] | None = None
    """Every source value that differs from the published one, with its source, sorted by
    field and source. Absent when all sources agree."""
    unconfirmed: list[str] | None = None
    """Fields whose value rests on one independent catalog alone (no other source states
    them), sorted. Absent when there is none."""
    announced_prices: list[AnnouncedPrice] | None = None
    """Prices announced for later dates, oldest first (`catalog cost --on DATE` applies
    them). Absent when none is announced."""
    weights: Weights | None = None
    """`open` when the model's weights are published, `closed` when not, as a source states
    it (models.dev `open_weights`); absent when no source says."""
    release_stage: Literal["alpha", "beta"] | None = None
    """Pre-release stage a source states (models.dev `status`); absent for a general release."""
    last_updated: str | None = None
    """When a source last saw the model's data change (models.dev `last_updated`, a date)."""
