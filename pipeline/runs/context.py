"""What a job is given and returns, and how a run is named and recorded.

``JobContext`` carries everything a job function needs (time, network and storage come in from
outside, with ``JobSettings``, the `jobs:` section); ``JobResult`` is how a run ended, for the
CLI, the scheduler and the admin endpoint, with the exit codes every trigger shares. Every run
names itself with ``make_run_id`` and reports its stages to a ``ProgressFn``; a job writes its
run report and status entry with ``record_report``; a batch run pauses the cyclic garbage
collector with ``batch_gc``. The job table and runner
(``pipeline.runs.jobs``), the runners it calls and the jobs that live elsewhere
(``pipeline.runs.rebuild``) build on this module, which imports none of them.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.config import CatalogConfig, ConfigError
from pipeline.overrides.files import Overrides
from pipeline.publishing import keys, publish
from pipeline.publishing.lease import Lease, LeaseRecord
from pipeline.publishing.schemas import SchemaViolation
from pipeline.publishing.store import Store, StoreError
from pipeline.records.base import Outcome
from pipeline.records.catalog import CurrentCatalog
from pipeline.records.runs import JobStatus, RunReport
from pipeline.timeutil import iso

# Logged as the jobs, whichever module of theirs speaks.
log = logging.getLogger("pipeline.runs.jobs")

# Exit codes shared by every trigger (documented in README.md, "Jobs, schedule and publishing").
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_LOCKED = 3

ProgressFn = Callable[[str, float, str], None]
"""Called after each stage with (stage, milliseconds, detail) for interactive progress."""


def make_run_id(now: datetime, payload: bytes) -> str:
    """Deterministic run id: the clock plus a digest of the input."""
    digest = hashlib.sha256(payload).hexdigest()[:8]
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{digest}"


class JobSettings(BaseModel):
    """`jobs:` in catalog.yaml: how jobs hold the lease and keep the store tidy."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    lease_ttl_seconds: float = 900.0
    """How long a lease lives without renewal. A crashed run blocks others at most this long."""
    lease_renew_seconds: float | None = None
    """How often a running job renews its lease (default: a third of the TTL)."""
    lease_wait_poll_seconds: float = 10.0
    """With `--wait`, how often to look whether the lease is free."""
    raw_retention_days: int = 90
    """Raw snapshots older than this many days are pruned by the deprecation sweep."""
    run_deadline_seconds: float = Field(default=1800.0, gt=0)
    """A run still going after this long stops at its next stage, publishes nothing and
    releases the lease; the lease is no longer renewed past it, so even a run stuck for good
    lets the next one take over once the lease lapses (docs/hardening.md)."""

    @property
    def renew_every(self) -> float:
        return self.lease_renew_seconds or self.lease_ttl_seconds / 3


def job_settings(config: CatalogConfig) -> JobSettings:
    """The typed `jobs:` section of the configuration."""
    try:
        return JobSettings.model_validate(config.extra.get("jobs") or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"jobs.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"config: {problems}") from exc


@dataclass
class JobContext:
    """Everything a job function needs; time, network and storage come in from outside."""

    job: str
    store: Store
    config: CatalogConfig
    now: datetime
    """The run's clock (``--now`` for replays)."""
    run_id: str
    """The lease holder's id for this run."""
    force: bool = False
    from_file: Path | None = None
    overrides: Overrides = field(default_factory=Overrides)
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] | None = None
    progress: ProgressFn | None = None
    settings: JobSettings = field(default_factory=JobSettings)
    only: list[str] | None = None
    """Provider jobs: just these sources (`syncmodels openai`); None means every due one."""
    refresh: bool = False
    """Provider jobs: ignore fresh caches (`--refresh`)."""
    manifest_dir: str | None = None
    """Provider jobs: directory of pinned provider manifests (default: the overrides')."""
    data_as_of: str | None = None
    """When the data the job works on was observed upstream (recorded in its status)."""
    deadline: float | None = None
    """``time.monotonic()`` after which the run must stop (``run_deadline_seconds``)."""
    lease: Lease | None = None
    """The run lease this run holds (``run_job`` sets it): a long job checks it is still its
    own between steps (``Lease.renew``)."""


@dataclass
class JobResult:
    """How one job run ended, for the CLI, the scheduler and the admin endpoint."""

    job: str
    run_id: str
    outcome: Outcome
    published: bool
    summary: str
    error: str | None = None
    holder: LeaseRecord | None = None
    """The lease holder, when the outcome is `locked`."""
    catalog: CurrentCatalog | None = None
    """The catalog an OpenRouter sync published (for `--explain`)."""
    details: dict[str, Any] = field(default_factory=dict)
    """The run report's details (conflicts, changelog, ...)."""
    warnings: list[str] = field(default_factory=list)
    """Things to show an operator (provider sources served by a fallback, ...)."""
    code: int = EXIT_OK
    """A further exit code the job asks for (provider sources that could not be served)."""
    kept: bool = False
    """OpenRouter could not be reached and the published catalog was kept as it was."""

    @property
    def exit_code(self) -> int:
        """0 ok (or degraded with something published), 3 lease held, else 1."""
        if self.outcome == "locked":
            return EXIT_LOCKED
        if self.outcome == "ok" or (self.outcome == "degraded" and self.published):
            return self.code
        return max(EXIT_FAILED, self.code)


# -- recording ---------------------------------------------------------------------------------


def record_report(
    ctx: JobContext, report: RunReport, sources: dict[str, Any] | None = None
) -> None:
    """Write a job's run report and its status entry (failures logged, never raised)."""
    stamp = iso(ctx.now)
    took = timedelta(seconds=round(report.timings_ms.get("total", 0.0) / 1000))
    entry = JobStatus(
        last_start=stamp,
        last_end=iso(ctx.now + took),
        outcome=report.outcome,
        run_id=report.run_id,
        published=report.published,
        last_success=stamp if report.outcome in ("ok", "degraded") else None,
        error=report.error,
        counts=report.counts,
        sources=sources or {},
        warnings=report.warnings,
        data_as_of=ctx.data_as_of,
    )
    try:
        ctx.store.put(keys.run_report(report.run_id), publish.encode("run-report", report))
        publish.record_status(ctx.store, ctx.job, entry, stamp)
    except (StoreError, SchemaViolation) as exc:
        log.error(
            "could not write run report or status",
            extra={"job": ctx.job, "run_id": report.run_id, "error": str(exc)},
        )


def record_ended_early(ctx: JobContext, outcome: Outcome, error: str) -> None:
    """Record a run that ended before its job could (lease held, store failure)."""
    stamp = iso(ctx.now)
    entry = JobStatus(
        last_start=stamp,
        last_end=stamp,
        outcome=outcome,
        run_id=ctx.run_id,
        published=False,
        error=error,
    )
    try:
        publish.record_status(ctx.store, ctx.job, entry, stamp)
    except (StoreError, SchemaViolation) as exc:
        log.error(
            "could not write status",
            extra={"job": ctx.job, "run_id": ctx.run_id, "error": str(exc)},
        )


def record_failure(ctx: JobContext, error: str) -> JobResult:
    """Record a job that ends without publishing, and the result that says so."""
    run_id = make_run_id(ctx.now, f"{ctx.job}:{error}".encode())
    report = RunReport(
        generated_at=iso(ctx.now),
        run_id=run_id,
        job=ctx.job,
        outcome="failed",
        published=False,
        error=error,
    )
    record_report(ctx, report)
    log.error("job did not publish", extra={"job": ctx.job, "run_id": run_id, "error": error})
    return JobResult(ctx.job, run_id, "failed", False, f"{ctx.job}: not published: {error}", error)


P = ParamSpec("P")
R = TypeVar("R")


def batch_gc(fn: Callable[P, R]) -> Callable[P, R]:
    """Pause the cyclic garbage collector for a batch run (a sync, a providers merge).

    A sync allocates millions of small acyclic objects (parsed JSON, records); each automatic
    generation-2 collection rescans all of them, which made a 100k-model run superlinear.
    Reference counting still frees everything; the collector resumes when the run returns.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper
