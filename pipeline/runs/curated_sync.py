"""`catalog sync curated`: recompute curated.json from the published current.json.

No network and no other artifact is touched: it reads ``current.json``, scores and selects
(``curate.build_curated``), validates, and writes ``curated.json``, the run report and this
job's status entry. Same current.json, overrides, config and clock → byte-identical output.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from pipeline.config import CatalogConfig, curation_config
from pipeline.overrides.files import Overrides
from pipeline.publishing import keys, publish
from pipeline.publishing.schemas import SchemaViolation
from pipeline.publishing.store import Store, StoreError
from pipeline.records.base import Outcome
from pipeline.records.catalog import CurrentCatalog, Deprecations
from pipeline.records.runs import JobStatus, RunReport
from pipeline.runs.context import batch_gc
from pipeline.stages import core, curate
from pipeline.timeutil import iso

JOB = "curated"

log = logging.getLogger("pipeline.runs.curated_sync")


@dataclass
class CuratedResult:
    """How a curated recalculation ended."""

    run_id: str
    published: bool
    summary: str
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.published else 1


def _run_id(now: datetime, current: bytes) -> str:
    digest = hashlib.sha256(b"curated\0" + current).hexdigest()[:8]
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{digest}"


@batch_gc
def sync_curated(
    store: Store, config: CatalogConfig, *, now: datetime, overrides: Overrides
) -> CuratedResult:
    """Recompute and publish curated.json from the store's current.json."""
    started = time.perf_counter()
    settings = curation_config(config)  # a bad `curation:` section stops here (ConfigError)
    based_on = store.head(keys.MANIFEST)  # the set this run builds on (publish_set checks it)
    blob = store.get(keys.CURRENT)
    if blob is None:
        reason = f"no {keys.CURRENT} in {store.uri}: run `syncmodels all` first"
        return _finish(
            store,
            now,
            _run_id(now, b""),
            outcome="failed",
            error=reason,
            counts={},
            started=started,
        )
    run_id = _run_id(now, blob.data)
    try:
        catalog = CurrentCatalog.model_validate_json(blob.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = f"the published {keys.CURRENT} is unreadable ({where}: {first['msg']})"
        return _finish(
            store, now, run_id, outcome="failed", error=reason, counts={}, started=started
        )
    # Issue 17: the daily verification (a no-op, writing nothing, without telemetry).
    extra: dict[str, bytes] = {}
    telemetry_details: dict[str, Any] = {}
    try:
        catalog, extra, telemetry_details = _verify(store, catalog, config, now, run_id)
    except (SchemaViolation, StoreError) as exc:
        reason = f"telemetry verification failed: {exc}"
        return _finish(
            store, now, run_id, outcome="failed", error=reason, counts={}, started=started
        )
    curated = curate.build_curated(
        catalog,
        now=now,
        run_id=run_id,
        config=settings,
        overrides=curate.quality_overrides(overrides),
        core=curate.core_entries(overrides),
        deprecations=_deprecations(store),
    )
    as_of = catalog.data_as_of or catalog.generated_at
    curated.data_as_of = as_of
    try:
        data = publish.encode("curated", curated)
    except SchemaViolation as exc:
        reason = f"refusing to publish an invalid curated.json: {exc}"
        return _finish(
            store, now, run_id, outcome="failed", error=reason, counts={}, started=started
        )
    publish.publish_schemas(store)  # writes nothing when the published schemas are current
    # Committed through the manifest like every artifact of the set (rewritten only when its
    # content apart from run metadata changed).
    publish.publish_set(store, run_id, iso(now), {"curated": data, **extra}, based_on=based_on)
    counts = {
        "published": len(curated.models),
        "scored": len(curated.ranks),
        "curated": len(curated.models),
        "shortfalls": len(curated.shortfalls),
        **telemetry_details.pop("counts", {}),
    }
    result = _finish(
        store,
        now,
        run_id,
        outcome="ok",
        error=None,
        counts=counts,
        started=started,
        details=curate.summary(curated),
        warnings=core.describe(curated.core_issues),
        data_as_of=as_of,
        extra_details=telemetry_details,
    )
    short = ", ".join(s.bucket for s in curated.shortfalls)
    result.summary = (
        f"curated: {len(curated.models)} models in {len(curated.buckets)} buckets from "
        f"{catalog.run_id} published as {run_id} → {store.uri}"
        + (f" [short: {short}]" if short else "")
    )
    return result


def _deprecations(store: Store) -> Deprecations | None:
    """The published deprecations.json, which core entries are followed through; without a
    readable one, entries are taken as they are (an unreadable file is a warning elsewhere)."""
    from pipeline.stages import deprecations

    try:
        return deprecations.load_previous(store)
    except publish.UnreadableArtifact:
        return None


def _verify(
    store: Store, catalog: CurrentCatalog, config: CatalogConfig, now: datetime, run_id: str
) -> tuple[CurrentCatalog, dict[str, bytes], dict[str, Any]]:
    """Aggregate telemetry, verify the records, run the telemetry layer (issue 17).

    Returns the catalog curation should rank (with ``verification``), the artifacts to add to
    the published set (``telemetry``, and ``current`` re-issued by this run), and report
    details. Without rollups or published verifications nothing changes."""
    from pipeline.telemetry import verify

    if not verify.has_telemetry(store, catalog):
        return catalog, {}, {}
    outcome = verify.verify_catalog(store, catalog, now=now, run_id=run_id, config=config.telemetry)
    verified = outcome.catalog.model_copy(
        update={
            "run_id": run_id,
            "generated_at": iso(now),
            # The models were fetched by the catalog sync; this run only re-issued them.
            "data_as_of": catalog.data_as_of or catalog.generated_at,
        }
    )
    artifacts = {
        "telemetry": verify.encode_document(outcome.document),
        "current": publish.encode_listing("current", verified, "models", "ModelRecord"),
    }
    details: dict[str, Any] = {
        "counts": outcome.counts,
        "conflicts": outcome.conflicts,
        "changelog": {"telemetry": outcome.changes},
    }
    if outcome.problems:
        details["telemetryProblems"] = outcome.problems
    return verified, artifacts, details


def _finish(
    store: Store,
    now: datetime,
    run_id: str,
    *,
    outcome: Outcome,
    error: str | None,
    counts: dict[str, int],
    started: float,
    details: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
    data_as_of: str | None = None,
    extra_details: dict[str, Any] | None = None,
) -> CuratedResult:
    stamp = iso(now)
    published = outcome == "ok"
    report = RunReport(
        generated_at=stamp,
        run_id=run_id,
        job=JOB,
        outcome=outcome,
        published=published,
        error=error,
        timings_ms={"total": round((time.perf_counter() - started) * 1000, 3)},
        counts=counts,
        details={**({"curation": details} if details else {}), **(extra_details or {})},
        warnings=list(warnings or []),
    )
    entry = JobStatus(
        last_start=stamp,
        last_end=stamp,
        outcome=outcome,
        run_id=run_id,
        published=published,
        last_success=stamp if published else None,
        error=error,
        counts=counts,
        warnings=list(warnings or []),
        data_as_of=data_as_of,
    )
    try:
        store.put(keys.run_report(run_id), publish.encode("run-report", report))
        publish.record_status(store, JOB, entry, stamp)
    except (StoreError, SchemaViolation) as exc:
        # curated.json (if any) is out; a missing report must not turn that into a failure.
        log.error("could not write run report or status", extra={"error": str(exc)})
    return CuratedResult(run_id, published, error or "", error)
