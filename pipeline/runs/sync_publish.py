"""The end of an OpenRouter sync: the set published, and how the run ended recorded.

``curate_set`` and ``record_history`` build the artifacts committed with ``current.json``
(``curated.json``, the history); a failure of either is a warning, never a blocked catalog.
``publish_catalog`` validates every artifact, then commits the set in one step
(``publish.publish_set``); ``failed`` and ``guarded`` end a run that publishes nothing. Each
writes the run report and the job's status entry and returns the ``SyncResult`` with the
operator's summary line.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import timedelta

from pipeline.config import CatalogConfig, ConfigError, curation_config
from pipeline.publishing import keys, publish
from pipeline.publishing.schemas import SchemaViolation
from pipeline.publishing.store import Spooled, Store, StoreError, spool
from pipeline.records.base import Outcome
from pipeline.records.catalog import CurrentCatalog, Deprecations
from pipeline.records.curated import CuratedCatalog
from pipeline.records.runs import JobStatus, RunReport
from pipeline.runs.context import make_run_id
from pipeline.runs.sync_state import SyncRequest, SyncResult, SyncRun
from pipeline.timeutil import data_age, iso, parse_iso, utcnow

# Every module of the OpenRouter sync logs as the sync.
log = logging.getLogger("pipeline.runs.sync")


def curate_set(
    run: SyncRun,
    catalog: CurrentCatalog,
    config: CatalogConfig,
    request: SyncRequest,
    deprecations_doc: Deprecations | None = None,
) -> dict[str, bytes]:
    """curated.json for this catalog (issue 5), published with it. A curation failure never
    blocks the catalog: it is a warning and the last published curated.json stays."""
    from pipeline.stages import curate

    with run.stage("curate"):
        try:
            curated = curate.build_curated(
                catalog,
                now=request.now,
                run_id=catalog.run_id,
                config=curation_config(config),
                overrides=curate.quality_overrides(request.overrides),
                core=curate.core_entries(request.overrides),
                deprecations=deprecations_doc,
            )
            curated.data_as_of = catalog.data_as_of
            data = publish.encode("curated", curated)
        except (ConfigError, SchemaViolation) as exc:
            run.warnings.append(f"{keys.CURATED} not updated: {exc}")
            return {}
    run.details["curation"] = curate.summary(curated)
    run.warnings.extend(core_warnings(curated))
    return {keys.CURATED: data}


def record_history(
    store: Store,
    run: SyncRun,
    *,
    previous: CurrentCatalog | None,
    previous_deprecations: Deprecations | None,
    catalog: CurrentCatalog,
    deprecations_doc: Deprecations,
    removed: list[str],
) -> dict[str, bytes]:
    """This run's changes appended to the history (issue 19), published with the set. An
    unreadable history never blocks the catalog: it is a warning, and `catalog history
    rebuild` backfills what was missed from the raw snapshots."""
    from pipeline.history import log as history_log

    with run.stage("history"):
        try:
            data = history_log.record_run(
                store,
                previous=previous,
                previous_redirects=history_log.redirect_map(
                    previous_deprecations.redirects if previous_deprecations else []
                ),
                records=catalog.models,
                redirects=history_log.redirect_map(deprecations_doc.redirects),
                removed=removed,
                run_id=catalog.run_id,
                observed_at=catalog.data_as_of or catalog.generated_at,
                generated_at=catalog.generated_at,
            )
        except (SchemaViolation, publish.UnreadableArtifact) as exc:
            # A store that fails a write fails the run (StoreError propagates: the set stays
            # as it was and the next run records these changes); a history that cannot be
            # read is the history's problem, not the catalog's.
            run.warnings.append(f"{keys.HISTORY} not updated: {exc}")
            return {}
    return {} if data is None else {keys.HISTORY: data}


def core_warnings(curated: CuratedCatalog) -> list[str]:
    """Run-report warnings for the curated core's issues (renames followed, models gone, ...)."""
    from pipeline.stages import core

    return core.describe(curated.core_issues)


def publish_catalog(
    store: Store,
    run: SyncRun,
    catalog: CurrentCatalog,
    *,
    raw: bytes | None,
    raw_key: str | None,
    counts: dict[str, int],
    outcome: Outcome,
    error: str | None = None,
    deprecations_doc: Deprecations | None = None,
    extra: dict[str, bytes] | None = None,
) -> SyncResult:
    try:
        with (
            run.stage("publish", lambda: f"{catalog.count} models"),
            spool(store, keys.CURRENT) as current,
        ):
            # current.json is encoded into a temporary file, a chunk of models at a time, and
            # copied into place from there: at 100k models it is ~220 MB (issue 30).
            publish.spool_listing("current", catalog, "models", "ModelRecord", current)
            # Every artifact is encoded (validated) before anything is written; deprecations
            # is None on the embedded-fallback path (the published one stays in the set).
            artifacts: dict[str, bytes | Spooled] = {"current": current, **run.artifacts}
            if deprecations_doc is not None:
                artifacts["deprecations"] = publish.encode("deprecations", deprecations_doc)
            for key, data in (extra or {}).items():  # already validated (curated.json)
                artifacts[publish.artifact_name(key)] = data
            # The raw snapshot (when not written yet) and any schema that changed go with the
            # set's files, in one batch.
            also = publish.changed_schemas(store)
            if raw is not None and raw_key is not None:
                also[raw_key] = raw
            # current.json, curated.json, deprecations.json and manifest.json, as one set.
            committed = publish.publish_set(
                store,
                catalog.run_id,
                catalog.generated_at,
                artifacts,
                based_on=run.based_on,
                also=also,
            )
            run.details["published"] = {
                "written": committed.written,
                "unchanged": committed.unchanged,
            }
    except SchemaViolation as exc:
        return failed(store, run, f"refusing to publish an invalid catalog: {exc}")
    report = _report(run, catalog.run_id, outcome, published=True, counts=counts, error=error)
    _finish(store, run, report)
    summary = (
        f"openrouter: {catalog.count} models "
        f"(+{counts.get('added', 0)} added, -{counts.get('removed', 0)} removed, "
        f"{counts.get('quarantined', 0)} quarantined) published as {catalog.run_id} "
        f"in {run.elapsed_s():.2f}s → {store.uri}"
    )
    # How old the data is, by the wall clock: a replay or the embedded catalog says so.
    as_of = catalog.data_as_of or catalog.generated_at
    old = (utcnow() - parse_iso(as_of)).total_seconds() >= 3600
    if outcome == "degraded":
        summary += f" [degraded: embedded catalog, {data_age(as_of, utcnow())}; {error}]"
    elif old:
        summary += f" ({data_age(as_of, utcnow())})"
    log.info(
        "sync published", extra={"run_id": catalog.run_id, "outcome": outcome, "counts": counts}
    )
    return SyncResult(catalog.run_id, outcome, True, report, summary, error, catalog)


def _report(
    run: SyncRun,
    run_id: str,
    outcome: Outcome,
    *,
    published: bool,
    counts: dict[str, int],
    error: str | None,
) -> RunReport:
    run.timings["total"] = round(run.elapsed_s() * 1000, 3)
    return RunReport(
        generated_at=iso(run.request.now),
        run_id=run_id,
        job=run.request.job,
        outcome=outcome,
        published=published,
        error=error,
        timings_ms=run.timings,
        counts=counts,
        quarantined=run.quarantined,
        warnings=run.warnings,
        details=run.details,
    )


def _finish(store: Store, run: SyncRun, report: RunReport) -> None:
    """Write the run report and this job's status entry. A failure here is logged, never
    allowed to undo a publish that already happened."""
    stamp = iso(run.request.now)
    entry = JobStatus(
        last_start=stamp,
        # The run's clock plus its duration: an operator sees how long the run took.
        last_end=iso(run.request.now + timedelta(seconds=round(run.elapsed_s()))),
        outcome=report.outcome,
        run_id=report.run_id,
        published=report.published,
        last_success=stamp if report.published else None,
        error=report.error,
        counts=report.counts,
        sources=report.details.get("sources", {}),
        warnings=report.warnings,
        data_as_of=report.details.get("sources", {}).get("openrouter", {}).get("dataAsOf"),
    )
    try:
        store.put(keys.run_report(report.run_id), publish.encode("run-report", report))
        publish.record_status(store, run.request.job, entry, stamp)
    except (StoreError, SchemaViolation) as exc:
        log.error("could not write run report or status", extra={"error": str(exc)})


def failed(
    store: Store,
    run: SyncRun,
    reason: str,
    *,
    outcome: Outcome = "failed",
    counts: dict[str, int] | None = None,
    level: int = logging.ERROR,
) -> SyncResult:
    run_id = make_run_id(run.request.now, reason.encode())
    report = _report(
        run,
        run_id,
        outcome,
        published=False,
        counts={"quarantined": len(run.quarantined) + run.quarantine_overflow, **(counts or {})},
        error=reason,
    )
    with suppress(StoreError):
        _finish(store, run, report)
    if level == logging.ERROR:
        log.error("sync did not publish", extra={"run_id": run_id, "reason": reason})
    else:  # the kept catalog: the summary line says it, with the data's age
        log.log(level, "openrouter unreachable, published set unchanged", extra={"run_id": run_id})
    return SyncResult(
        run_id, outcome, False, report, f"openrouter: not published: {reason}", reason
    )


def guarded(
    store: Store, run: SyncRun, reason: str, figures: dict[str, int], count: int
) -> SyncResult:
    run.details["guard"] = {"reason": reason, "inputRecords": count, **figures}
    return failed(
        store,
        run,
        f"publish guard: {reason}; rerun with --force to publish anyway",
        outcome="guarded",
        counts={"input": count, **figures},
    )
