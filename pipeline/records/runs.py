"""What a run leaves besides the catalog: run reports, `status.json` and the manifest that commits
a published set.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pipeline.records.base import SCHEMA_VERSION, Outcome, Record


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
