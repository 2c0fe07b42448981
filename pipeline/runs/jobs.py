"""Jobs: the units the cron table, ``syncmodels X`` and the admin refresh endpoint run.

Each job is a thin function over the pipeline stages, listed in one explicit table (``JOBS``).
``run_job`` is the one entry point every trigger calls: it takes the run lease, repairs a set a
killed run left half-published, runs the job (which publishes and records its status), and
releases the lease — also when the job fails or the process is asked to stop.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from pipeline.config import CatalogConfig, ConfigError
from pipeline.overrides.files import Overrides
from pipeline.publishing import jsonio, keys, publish
from pipeline.publishing.lease import Clock, LeaseHeld, acquire, new_run_id
from pipeline.publishing.schemas import SchemaViolation
from pipeline.publishing.store import Store, StoreError
from pipeline.records.base import Outcome
from pipeline.runs.context import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    JobContext,
    JobResult,
    JobSettings,
    ProgressFn,
    job_settings,
    record_ended_early,
)
from pipeline.runs.job_names import STATUS_KEYS
from pipeline.runs.sweep import deprecation_sweep
from pipeline.runs.sync import SyncRequest
from pipeline.timeutil import iso, parse_iso, utcnow

log = logging.getLogger("pipeline.runs.jobs")

JobFn = Callable[[JobContext], JobResult]


@dataclass(frozen=True)
class Job:
    """One entry of the jobs table."""

    name: str
    run: JobFn
    description: str

    @property
    def status_key(self) -> str:
        """Its entry in status.json (`curated` for curated_refresh)."""
        return STATUS_KEYS[self.name]


class UnknownJob(ValueError):
    """No job of that name in this build."""


class OlderThanPublished(ValueError):
    """A run whose clock (``--now``) is earlier than the published set's: it would move the
    store back in time (lifecycle clocks, removals). Refused before anything is written."""


# Jobs that commit to the published set (manifest.json) and so must not run at an earlier clock.
_SET_JOBS = frozenset({"full_refresh", "openrouter", "curated_refresh", "deprecation_sweep"})


def refuse_going_back(store: Store, name: str, now: datetime) -> None:
    """Raise OlderThanPublished when ``now`` is earlier than the clock of the set published in
    ``store``. Only a run given an explicit clock (a replay) can be: live data is never older
    than what was published before it."""
    if name not in _SET_JOBS:
        return
    blob = store.get(keys.MANIFEST)
    if blob is None:
        return
    try:
        published = str(jsonio.loads_plain(blob.data)["generatedAt"])
        newer = parse_iso(published) > now
    except (ValueError, KeyError, TypeError):
        return  # an unreadable manifest is repaired or reported by the run itself
    if newer:
        raise OlderThanPublished(
            f"refusing to run {name} at {iso(now)} in {store.uri}: its published set is from "
            f"{published}, newer; replay into a store of its own (--store DIR), or add --force "
            "to move this store back in time"
        )


# -- full_refresh ------------------------------------------------------------------------------


def full_refresh(ctx: JobContext) -> JobResult:
    """OpenRouter fetch, everything downstream (normalize → ... → publish), then the provider
    sources that are due (they are enriched from the catalog just published, so they come
    second). The result is OpenRouter's; a provider source that could not be served at all
    makes the exit code non-zero, as `syncmodels all` always did. The OpenRouter sync also
    fetches per-provider offers (pipeline.offers), within their time budget."""
    result = openrouter_sync(ctx, offers=True)
    try:
        providers = provider_refresh(ctx)
    except (StoreError, ConfigError) as exc:  # the catalog is published; providers failed
        result.warnings.append(f"provider sources: {exc}")
        result.code = EXIT_FAILED
        return result
    line = providers.summary.split(" → ", 1)[0]
    shown = result.published or result.kept  # a kept catalog is said once, with its age
    result.summary = f"{result.summary}; {line}" if shown else line
    result.warnings.extend(providers.warnings)
    result.code = max(result.code, providers.exit_code)
    if ctx.config.crosscheck.reference_file:
        # Drift between upstream, an independent catalog and the pipeline, for the operator.
        from pipeline.crosscheck import record_crosscheck

        try:
            checked = record_crosscheck(ctx.store, ctx.config.crosscheck.reference_file, ctx.now)
        except (StoreError, SchemaViolation) as exc:
            checked = f"crosscheck not recorded: {exc}"
        result.summary = f"{result.summary}; {checked}"
    return result


def openrouter_sync(ctx: JobContext, *, offers: bool = False) -> JobResult:
    """The OpenRouter source alone (`syncmodels openrouter`): fetch → ... → publish;
    ``offers``: also fetch per-provider offers (the full refresh)."""
    from pipeline.runs.sync import sync_openrouter

    result = sync_openrouter(
        ctx.store,
        ctx.config,
        SyncRequest(
            now=ctx.now,
            from_file=ctx.from_file,
            force=ctx.force,
            job=ctx.job,
            overrides=ctx.overrides,
            offers=offers,
            deadline=ctx.deadline,
        ),
        transport=ctx.transport,
        progress=ctx.progress,
        sleep=ctx.sleep,
    )
    return JobResult(
        ctx.job,
        result.run_id,
        result.outcome,
        result.published,
        result.summary,
        result.error,
        catalog=result.catalog,
        details=result.report.details,
        kept=result.kept,
    )


# -- provider_refresh --------------------------------------------------------------------------


def provider_refresh(ctx: JobContext) -> JobResult:
    """Provider-native lists whose TTL has expired (or ``ctx.only``), with their fallbacks."""
    from pipeline.runs.providers import ProvidersRequest, sync_providers

    request = ProvidersRequest(
        now=ctx.now, only=ctx.only, refresh=ctx.refresh, force=ctx.force, deadline=ctx.deadline
    )
    result = sync_providers(
        ctx.store, ctx.config, request, manifest_dir=ctx.manifest_dir, sleep=ctx.sleep
    )
    warnings = [
        f"{name}: {res.tier}: {res.reason}"
        for name, res in result.results.items()
        if res.tier in ("catalog", "stale", "failed") or (ctx.only and res.tier == "skipped")
    ]
    # A source named on the command line that had to be skipped (no key, disabled) is that
    # source's `skipped` in status, not a failed job; the command still exits 1: it did not
    # do what was asked.
    asked_skipped = bool(ctx.only) and all(
        result.results[name].tier == "skipped" for name in ctx.only or [] if name in result.results
    )
    return JobResult(
        "providers",
        result.run_id,
        result.outcome,
        result.outcome != "failed",
        result.summary,
        result.report.error,
        details=result.report.details,
        warnings=warnings,
        code=EXIT_FAILED if asked_skipped else EXIT_OK,
    )


# -- curated_refresh ---------------------------------------------------------------------------


def curated_refresh(ctx: JobContext) -> JobResult:
    """Ranking and curation from the published current.json, no network (curated_sync)."""
    from pipeline.runs.curated_sync import sync_curated

    result = sync_curated(ctx.store, ctx.config, now=ctx.now, overrides=ctx.overrides)
    outcome: Outcome = "ok" if result.published else "failed"
    return JobResult(
        ctx.job, result.run_id, outcome, result.published, result.summary, result.error
    )


# -- history_rebuild (the deprecation sweep is pipeline.runs.sweep) ----------------------------


def history_rebuild(ctx: JobContext) -> JobResult:
    """`catalog history rebuild`: replay recorded payloads into a fresh history."""
    from pipeline.runs.rebuild import rebuild

    return rebuild(ctx)


# -- the table ---------------------------------------------------------------------------------

# Every job this build can run, by the name the cron table (jobs/schedule.yaml) uses.
# Each entry's function is thin: the stage modules do the work and write their artifacts.
JOBS: dict[str, Job] = {
    "full_refresh": Job(
        "full_refresh",
        full_refresh,
        "OpenRouter fetch, everything downstream, then due provider sources",
    ),
    "openrouter": Job(
        "openrouter",
        openrouter_sync,
        "The OpenRouter source alone, on demand (`syncmodels openrouter`)",
    ),
    "curated_refresh": Job(
        "curated_refresh",
        curated_refresh,
        "Ranking and curation from the published current.json, no network",
    ),
    "provider_refresh": Job(
        "provider_refresh",
        provider_refresh,
        "Provider-native lists whose TTL has expired (hourly; fetches only what is due)",
    ),
    "deprecation_sweep": Job(
        "deprecation_sweep",
        deprecation_sweep,
        "Advance lifecycle by the clock, rewrite deprecations, prune old raw snapshots",
    ),
    "history_rebuild": Job(
        "history_rebuild",
        history_rebuild,
        "Backfill the history by replaying raw snapshots or recorded payloads (on demand)",
    ),
}


# What operators and the admin API name (`syncmodels TARGET`, refresh `scope`) → job. Any
# configured provider source name runs provider_refresh for that source alone.
TARGETS: dict[str, str] = {
    "all": "full_refresh",
    "openrouter": "openrouter",
    "curated": "curated_refresh",
    "sweep": "deprecation_sweep",
    "providers": "provider_refresh",
}


def job_for(target: str, sources: Collection[str]) -> tuple[str, list[str] | None]:
    """(job name, the only provider sources to run) for a trigger; UnknownJob otherwise."""
    if target in TARGETS:
        return TARGETS[target], None
    if target in sources:
        return "provider_refresh", [target]
    raise UnknownJob(
        f"unknown sync target {target!r}; choose one of: {', '.join(TARGETS)}, "
        f"or a provider source: {', '.join(sorted(sources))}"
    )


def run_job(
    name: str,
    store: Store,
    config: CatalogConfig,
    *,
    now: datetime | None = None,
    force: bool = False,
    wait: bool = False,
    from_file: Path | None = None,
    overrides: Overrides | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    progress: ProgressFn | None = None,
    clock: Clock = utcnow,
    only: list[str] | None = None,
    refresh: bool = False,
    manifest_dir: str | None = None,
) -> JobResult:
    """Run job ``name`` under the run lease: the one entry point of every trigger.

    ``now`` is the run's clock (default: the wall clock); ``clock`` is the wall clock the lease
    expires by. ``only``, ``refresh`` and ``manifest_dir`` apply to the provider sources.
    Returns a JobResult (``exit_code`` for a CLI); raises UnknownJob for a name not in
    ``JOBS``, ConfigError for an invalid `jobs:` section and OlderThanPublished for an
    explicit ``now`` earlier than the published set (unless ``force``), never for a failed
    run.
    """
    job = JOBS.get(name)
    if job is None:
        raise UnknownJob(f"unknown job {name!r}; this build has: {', '.join(sorted(JOBS))}")
    settings = job_settings(config)
    if now is not None and not force:
        refuse_going_back(store, name, now)
    started = clock()
    run_now = now or started
    lease_id = new_run_id(name, started)
    ctx = JobContext(
        job=job.status_key,
        store=store,
        config=config,
        now=run_now,
        run_id=lease_id,
        force=force,
        from_file=from_file,
        overrides=overrides or Overrides(),
        transport=transport,
        sleep=sleep,
        progress=progress,
        settings=settings,
        only=only,
        refresh=refresh,
        manifest_dir=manifest_dir,
    )
    try:
        lease = acquire(
            store,
            run_id=lease_id,
            job=name,
            ttl=timedelta(seconds=settings.lease_ttl_seconds),
            clock=clock,
            wait=wait,
            poll_seconds=settings.lease_wait_poll_seconds,
            sleep=sleep or time.sleep,
        )
    except LeaseHeld as exc:
        log.warning("lease held", extra={"job": name, "run_id": lease_id, "error": str(exc)})
        result = JobResult(name, lease_id, "locked", False, str(exc), str(exc), exc.holder)
        record_ended_early(ctx, "locked", str(exc))
        return result
    except StoreError as exc:
        error = f"{name}: could not take the lease: {exc}"
        log.error("lease failed", extra={"job": name, "run_id": lease_id, "error": str(exc)})
        return JobResult(name, lease_id, "failed", False, error, error)

    log.info("job started", extra={"job": name, "run_id": lease_id, "store": store.uri})
    ctx.deadline = time.monotonic() + settings.run_deadline_seconds
    ctx.lease = lease
    lease.start_renewing(settings.renew_every, until=ctx.deadline)
    try:
        publish.repair(store)
        result = job.run(ctx)
    except StoreError as exc:
        error = f"{name} run {lease_id}: {exc}"
        log.error("job failed", extra={"job": name, "run_id": lease_id, "error": str(exc)})
        record_ended_early(ctx, "failed", error)
        result = JobResult(name, lease_id, "failed", False, error, error)
    except Exception as exc:  # a bug: record it, keep the scheduler alive, release the lease
        error = f"{name} run {lease_id}: unexpected {type(exc).__name__}: {exc}"
        log.exception("job crashed", extra={"job": name, "run_id": lease_id})
        record_ended_early(ctx, "failed", error)
        result = JobResult(name, lease_id, "failed", False, error, error)
    finally:
        lease.release()
    log.info(
        "job finished",
        extra={"job": name, "run_id": result.run_id, "outcome": result.outcome},
    )
    return result


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """For a run in the main thread (``syncmodels``): SIGTERM raises KeyboardInterrupt, so a
    publish in progress rolls back and the lease is released at once instead of lingering until
    it expires. (``catalog schedule`` installs its own handlers: it lets the job finish.)"""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = [
    "EXIT_FAILED",
    "EXIT_LOCKED",
    "EXIT_OK",
    "JOBS",
    "Job",
    "JobContext",
    "JobResult",
    "JobSettings",
    "OlderThanPublished",
    "UnknownJob",
    "job_settings",
    "run_job",
]
