"""Configuration: a YAML file (``--config`` or ``CATALOG_CONFIG``) plus environment overrides.

Every number that shapes behaviour (thresholds, tier boundaries, timeouts) lives here with its
default and where it comes from. Secrets never live here: the config names the *environment
variable* that holds a key (``api_key_env``), and the key is read only when a request is made.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.inputs import read_text_input
from pipeline.settings import config_path, store_uri

DEFAULT_OPENROUTER_URL = "https://openrouter.ai/api/v1/models?output_modalities=all"


class ConfigError(Exception):
    """The configuration file is unreadable or invalid; the message names file and key."""


class Section(BaseModel):
    """Config sections reject unknown keys so that a typo is an error, not a silent default.

    The attribute docstrings are for people reading this file: no schema is generated from
    these models, and parsing the class sources for them (``use_attribute_docstrings``) cost
    most of this module's import. ``defer_build`` builds a section's validator when a config
    is first read, not at import (``catalog --help`` and ``status`` import this module)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class OpenRouterConfig(Section):
    url: str = DEFAULT_OPENROUTER_URL
    """Catalog endpoint. `output_modalities=all` is needed, or image/video/speech/embedding
    and rerank models are hidden."""
    api_key_env: str = "OPENROUTER_API_KEY"
    """Environment variable holding an optional API key (the listing works without one)."""
    connect_timeout: float = 10.0
    """Seconds to establish a connection."""
    read_timeout: float = 60.0
    """Seconds to wait for the response (the full catalog is about 1 MB)."""
    max_attempts: int = 4
    """Attempts on connect errors, timeouts, 429 and 5xx before giving up."""
    backoff_seconds: float = 1.0
    """First retry delay; doubles each attempt, capped by `max_backoff_seconds`."""
    max_backoff_seconds: float = 30.0
    """Longest wait between attempts, including a server's Retry-After."""
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Largest response body accepted (docs/hardening.md); a bigger one fails the fetch."""
    fetch_deadline_seconds: float = Field(default=600.0, gt=0)
    """Longest the fetch may take, retries included (per-read timeouts alone never trip on a
    body trickling a byte a second)."""
    max_items: int = Field(default=1_000_000, ge=1)
    """Most entries in the model list; a longer list is refused as a whole."""
    max_depth: int = Field(default=64, ge=8)
    """Deepest JSON nesting accepted (real payloads nest 6 levels)."""
    max_quarantined: int = Field(default=1000, ge=0)
    """Quarantined records stored in the run report; the rest are only counted."""


class OffersConfig(Section):
    """The `offers:` section: OpenRouter's per-model endpoints API (issue 16, docs/offers.md)."""

    enabled: bool = True
    """Fetch offers in the full refresh. Off: the published offers are carried forward."""
    url: str | None = None
    """Endpoints URL template with `{id}` (the model id, `author/slug`); default: the
    OpenRouter catalog URL's origin and `/api/v1` prefix + `/models/{id}/endpoints`."""
    concurrency: int = Field(default=8, ge=1, le=64)
    """Requests in flight at once."""
    ttl_seconds: int = Field(default=6 * 3600, ge=0)
    """A model's offers are fetched again only this long after the last successful fetch, so
    a 6-hourly refresh asks for each model once."""
    budget_seconds: float = Field(default=60.0, gt=0)
    """Wall-time budget of the whole stage; what is not fetched by then keeps its previous
    offers, and the catalog is published without waiting longer."""
    timeout_seconds: float = Field(default=10.0, gt=0)
    """Per-request timeout (connect and read)."""
    max_attempts: int = Field(default=3, ge=1)
    """Attempts per model on connect errors, timeouts, 429 and 5xx."""
    max_response_bytes: int = Field(default=1_000_000, ge=1024)
    """Longest response read for one model (a real one is tens of KB)."""
    max_endpoints: int = Field(default=200, ge=1)
    """Most offers kept per model."""
    breaker_failures: int = Field(default=12, ge=1)
    """Consecutive failed models after which the stage stops asking (the API is down or not
    what it should be): the rest keep their previous offers."""
    max_age_seconds: int = Field(default=3 * 24 * 3600, ge=0)
    """Offers older than this are dropped instead of carried forward: stale uptime and
    latency figures would mislead ranking more than none."""


class LifecycleConfig(Section):
    deprecated_after_days: int = 14
    """Days missing from the feed before `stale` becomes `deprecated` (DESIGN.md §5)."""
    removed_after_days: int = 30
    """Days missing before a model without bindings is `removed` (DESIGN.md §5)."""


class TierConfig(Section):
    """Upper bounds (exclusive) of each tier, in USD per 1M input tokens (DESIGN.md §5)."""

    budget_below: Decimal = Decimal(1)
    standard_below: Decimal = Decimal(5)
    pro_below: Decimal = Decimal(15)


class PublishConfig(Section):
    max_loss_fraction: float = 0.25
    """A feed that lost more than this share of the previously active models is not
    published without --force."""


class CurationWeights(Section):
    """Rank weights. Defaults: DESIGN.md §5 (`quality*0.45 + reliability*0.25 + latency*0.15 +
    cost*0.15`), from the original curation design note. They must sum to 1."""

    quality: float = Field(default=0.45, ge=0, le=1)
    reliability: float = Field(default=0.25, ge=0, le=1)
    latency: float = Field(default=0.15, ge=0, le=1)
    cost: float = Field(default=0.15, ge=0, le=1)


def _bucket_counts(**counts: int) -> dict[str, int]:
    return dict(counts)


class CurationConfig(Section):
    """The `curation:` section (kept in ``CatalogConfig.extra`` until this stage parses it)."""

    weights: CurationWeights = Field(default_factory=CurationWeights)
    """Rank weights."""
    minimums: dict[str, int] = Field(
        # DESIGN.md §5 / issue 5: coding 5, reasoning 5, general chat 8, fast/cheap 5,
        # vision 4, image-gen 3.
        default_factory=lambda: _bucket_counts(
            coding=5, reasoning=5, chat=8, fastCheap=5, vision=4, imageGen=3
        )
    )
    """Bucket → fewest models; a bucket that cannot reach it is published short."""
    sizes: dict[str, int] = Field(
        # How many each bucket takes when enough models are eligible. The minimums alone give
        # too few unique models (the best models qualify for several buckets); these sizes,
        # with max_buckets_per_model 2, were tuned on the 2026-08-19 full OpenRouter snapshot
        # to land the unique curated core in the 30-40 models of the design note (33 there).
        default_factory=lambda: _bucket_counts(
            coding=10, reasoning=10, chat=14, fastCheap=8, vision=8, imageGen=5
        )
    )
    """Bucket → how many models it takes when enough are eligible (never below its minimum)."""
    max_per_family: int = Field(default=2, ge=1)
    """Most models of one provider family per bucket (DESIGN.md §5)."""
    max_buckets_per_model: int = Field(default=2, ge=1)
    """Most buckets one model is selected for. The best models qualify for nearly every chat
    bucket; without this cap the same dozen fill them all and the curated core (30-40 models
    in the design note) shrinks to 21 on the 2026-08-19 snapshot."""
    flap_window_days: int = Field(default=7, ge=1)
    """A lifecycle change within this many days counts as flapping (issue 5)."""


class CrosscheckConfig(Section):
    """`crosscheck:`: compare the published catalog with an independent one after each full
    refresh (summary in the run report and status.json, job `crosscheck`)."""

    reference_file: str | None = None
    """models.dev `api.json` or LiteLLM `model_prices_and_context_window.json`; unset: off."""


class TelemetryConfig(Section):
    """The `telemetry:` section: runtime truth from observed calls (issue 17, docs/telemetry.md)."""

    windows_days: list[int] = Field(default_factory=lambda: [7, 30])
    """Aggregation windows of telemetry.json, in UTC days (today included)."""
    verification_window_days: int = Field(default=7, ge=1)
    """The window verification, downgrades and ranking read (one of `windows_days`)."""
    min_calls: int = Field(default=20, ge=1)
    """Fewest judged calls (`ok` + `capability_error`) before a capability is verified,
    failing, downgraded or recovered."""
    downgrade_above: float = Field(default=0.5, gt=0, lt=1)
    """Downgrade a flag when the Wilson lower bound of its failure rate exceeds this."""
    recover_at: float = Field(default=0.8, gt=0, lt=1)
    """Recover (and verify) when the Wilson lower bound of its success rate reaches this. The
    band between the two is the hysteresis: inside it a flag keeps its state."""
    flush_seconds: float = Field(default=10.0, gt=0)
    """How often intake rollups are written to the store: at most this much is lost in a crash."""
    max_event_age_hours: int = Field(default=24, ge=1)
    """Older events are rejected (`too_old`); also how long a day stays open before compaction."""
    max_clock_skew_seconds: int = Field(default=300, ge=0)
    """Events stamped further in the future are rejected (`future_timestamp`)."""
    hourly_retention_days: int = Field(default=3, ge=1)
    """Hourly rollups are deleted this long after their day was compacted into a daily one."""
    retention_days: int = Field(default=90, ge=1)
    """Daily rollups older than this are deleted."""
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest accepted request body (after decompression), bytes."""
    max_batch_events: int = Field(default=1000, ge=1)
    """Most events (or spans) in one request."""
    rate_per_second: float = Field(default=2000.0, gt=0)
    """Sustained events per second the HTTP intake accepts (token bucket)."""
    burst: int = Field(default=10_000, ge=1)
    """Token-bucket size: events accepted at once above the sustained rate."""
    max_series: int = Field(default=20_000, ge=1)
    """Most model × capability × hour cells one identity holds in memory (open hours: the
    current one and late events not yet flushed; a flush forgets closed hours) before its new
    ones are rejected (`too_many_series`, with the time room comes back). Per identity, so one
    at its cap leaves the others unaffected; about 1 KB a cell."""


class CatalogConfig(Section):
    store: str | None = None
    """Store URI; `--store` and `CATALOG_STORE` take precedence."""
    s3_endpoint_url: str | None = None
    """S3 endpoint (R2, MinIO); else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL."""
    s3_region: str | None = None
    """S3 region (`auto` for R2)."""
    s3_addressing_style: str | None = None
    """`path` for MinIO and most self-hosted endpoints; else `auto`."""
    overrides_dir: str | None = None
    """Directory of override files; `--overrides` and `CATALOG_OVERRIDES` take precedence."""
    openrouter: OpenRouterConfig = Field(default_factory=OpenRouterConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    tiers: TierConfig = Field(default_factory=TierConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    crosscheck: CrosscheckConfig = Field(default_factory=CrosscheckConfig)
    offers: OffersConfig = Field(default_factory=OffersConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    extra: dict[str, Any] = Field(default_factory=dict)
    """Sections owned by later stages (sources, model_cache, schedule, curation, reader)."""


PUBLIC_URL_PATTERN = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
"""An http(s) URL with a host and an optional path: no query, no fragment, no whitespace."""


class ReaderConfig(Section):
    """The `reader:` section (`catalog serve`); command-line flags take precedence."""

    host: str = "127.0.0.1"
    """Interface to bind."""
    port: int = Field(default=8080, ge=0, le=65535)
    """Port to listen on."""
    refresh_seconds: float | None = Field(default=None, ge=0)
    """Poll the store for a new set every N seconds (0: never; default 30)."""
    max_age_seconds: float | None = Field(default=None, ge=0)
    """/readyz fails when the catalog is older than this (default 86400)."""
    cors_origins: str | list[str] | None = None
    """Origins whose pages may read the catalog: a list or a comma list (`*` = any)."""
    public_url: str | None = Field(default=None, pattern=PUBLIC_URL_PATTERN)
    """The absolute URL clients reach the reader at (`https://models.example.com`), for the
    links of the Atom feed; without it they are relative. Never taken from a request."""


SCHEDULE_KEYS = frozenset({"table", "misfire_grace_seconds", "jobs"})
"""Keys of `schedule:` (pipeline.runs.schedule.ScheduleSettings parses them; a test keeps the
two in step). Checked at load time so a typo fails every command, not only `catalog schedule`."""

# Keys later stages own; kept as raw mappings until their stage parses them.
_PASSTHROUGH = ("sources", "model_cache", "schedule", "curation", "reader", "jobs", "merge")


def _check_sections(path: str | None, extra: dict[str, Any]) -> None:
    """Unknown keys under `reader:` and `schedule:` are errors naming the key (issue 12)."""
    reader = extra.get("reader")
    if reader is not None:
        if not isinstance(reader, dict):
            raise ConfigError(f"config {path}: reader: must be a mapping")
        try:
            ReaderConfig.model_validate(reader)
        except ValidationError as exc:
            problems = "; ".join(
                f"reader.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigError(f"config {path}: {problems}") from exc
    schedule = extra.get("schedule")
    if schedule is not None:
        if not isinstance(schedule, dict):
            raise ConfigError(f"config {path}: schedule: must be a mapping")
        unknown = sorted(str(key) for key in schedule if key not in SCHEDULE_KEYS)
        if unknown:
            raise ConfigError(
                f"config {path}: schedule: unknown key(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(SCHEDULE_KEYS))})"
            )


def load_config(path: str | None = None) -> CatalogConfig:
    """Load ``path`` (or ``CATALOG_CONFIG``); with neither, the defaults."""
    path = config_path(path)
    raw: dict[str, Any] = {}
    if path:
        try:
            text = read_text_input(path)
        except OSError as exc:
            raise ConfigError(f"config {path}: cannot read it ({exc.strerror})") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config {path}: not UTF-8 text") from exc
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"config {path}: not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config {path}: the top level must be a mapping")
        raw = dict(loaded)
    extra = {key: raw.pop(key) for key in _PASSTHROUGH if key in raw}
    _check_sections(path, extra)
    try:
        config = CatalogConfig.model_validate({**raw, "extra": extra})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"config {path}: {problems}") from exc
    return config


def curation_config(config: CatalogConfig) -> CurationConfig:
    """Parse the `curation:` section; a bad one is a ConfigError naming the key."""
    raw = config.extra.get("curation") or {}
    if not isinstance(raw, dict):
        raise ConfigError("config: curation: must be a mapping")
    try:
        parsed = CurationConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"curation.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"config: {problems}") from exc
    weights = parsed.weights
    total = weights.quality + weights.reliability + weights.latency + weights.cost
    if abs(total - 1) > 1e-9:
        raise ConfigError(f"config: curation.weights must sum to 1 (they sum to {total:g})")
    known = {"coding", "reasoning", "chat", "fastCheap", "vision", "imageGen"}
    for section in ("minimums", "sizes"):
        unknown = sorted(set(getattr(parsed, section)) - known)
        if unknown:
            raise ConfigError(
                f"config: curation.{section}: unknown bucket(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})"
            )
    defaults = CurationConfig()
    parsed.minimums = {**defaults.minimums, **parsed.minimums}
    parsed.sizes = {**defaults.sizes, **parsed.sizes}
    return parsed


def resolve_store_uri(cli_value: str | None, config: CatalogConfig) -> str | None:
    """``--store`` beats ``CATALOG_STORE`` beats the config file beats the default."""
    return store_uri(cli_value, config.store)
