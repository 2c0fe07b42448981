"""`telemetry.json`: call outcomes per model × capability, aggregated from the hourly rollups."""

from __future__ import annotations

from pipeline.records.base import SCHEMA_VERSION, Record


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
