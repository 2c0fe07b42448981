"""The orchestrator: wires the stages for one OpenRouter sync and publishes the result.

    fetch → parse → normalize → capabilities/tiers → aliases → lifecycle → laws → publish

Stages are pure functions over records; this module owns the clock, the store, the network
transport and the order of the run. Invariants it keeps (DESIGN.md §7): nothing is published
unless it is complete and schema-valid; a failure at any step leaves the last good catalog
untouched; same inputs and clock give byte-identical artifacts; a feed that lost a large share
of its models is not published without ``--force`` (``check_publish_guard``).

Its parts, in the order of a run: ``sync_state`` (the request, the result and the run's state),
``sync_payload`` (fetch the payload and read it into normalized records), ``sync_stages``
(records + previous state → the catalog and deprecations), ``sync_publish`` (curated.json and
the history with the set, the commit, the run report and status of every outcome) and
``sync_unavailable`` (no usable feed: keep the published catalog, or ship the embedded one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from pipeline.config import CatalogConfig
from pipeline.inputs import read_input
from pipeline.publishing import keys, publish
from pipeline.publishing.store import PendingPut, Store, StoreError
from pipeline.records import payloads
from pipeline.records.catalog import CurrentCatalog
from pipeline.runs import law_check
from pipeline.runs.context import ProgressFn, batch_gc, make_run_id
from pipeline.runs.sync_payload import PackedRecords, fetch_payload, parse_records
from pipeline.runs.sync_publish import curate_set, failed, guarded, publish_catalog, record_history
from pipeline.runs.sync_stages import BuiltCatalog, build_catalog, load_previous
from pipeline.runs.sync_state import RunDeadline, SyncRequest, SyncResult, SyncRun
from pipeline.runs.sync_unavailable import serve_unavailable
from pipeline.sources import openrouter
from pipeline.sources.http import FetchError
from pipeline.stages import deprecations, enrich
from pipeline.stages.normalize import Normalized

# Every module of the OpenRouter sync logs as the sync.
log = logging.getLogger("pipeline.runs.sync")


def guard_figures(present_ids: set[str], previous: CurrentCatalog | None) -> dict[str, int]:
    """The numbers the publish guard decides on (recorded in status when it objects)."""
    before = {m.id for m in previous.models if m.lifecycle.state == "active"} if previous else set()
    return {
        "listed": len(present_ids),
        "previouslyActive": len(before),
        "lost": len(before - present_ids),
    }


def check_publish_guard(
    present_ids: set[str], previous: CurrentCatalog | None, config: CatalogConfig
) -> str | None:
    """Why this feed must not be published without --force, or None when it may.

    An authoritative feed that is empty, or lost more than ``publish.max_loss_fraction``
    (default 25%) of the previously active models, is far more likely an upstream incident
    than a real mass retirement; publishing it would start the lifecycle clock on every
    missing model.
    """
    if not present_ids:
        return "the feed lists no models"
    figures = guard_figures(present_ids, previous)
    before, lost = figures["previouslyActive"], figures["lost"]
    if not before:
        return None
    share = lost / before
    if share > config.publish.max_loss_fraction:
        return (
            f"the feed lost {lost} of {before} previously active models "
            f"({share:.0%} > {config.publish.max_loss_fraction:.0%})"
        )
    return None


@batch_gc
def sync_openrouter(
    store: Store,
    config: CatalogConfig,
    request: SyncRequest,
    *,
    transport: httpx.BaseTransport | None = None,
    progress: ProgressFn | None = None,
    sleep: Callable[[float], None] | None = None,
) -> SyncResult:
    """Run one OpenRouter sync into ``store``. Never raises for upstream or data problems:
    the result says what happened. Store failures propagate as StoreError after the last good
    catalog was left as it was.

    Past ``request.deadline`` the run stops at the next stage and publishes nothing. Any
    other unexpected error (a bug, a value nobody foresaw) is reported as a failed run; on a
    fresh store the embedded catalog is published instead, so readers always get one."""
    run = SyncRun(request=request, progress=progress)
    try:
        return _sync_openrouter(store, config, request, run, transport, sleep)
    except RunDeadline as exc:
        return failed(store, run, str(exc))
    except StoreError:
        raise
    except Exception as exc:
        log.exception("sync crashed", extra={"job": request.job})
        reason = f"unexpected {type(exc).__name__}: {str(exc)[:300]}"
        try:
            previous = load_previous(store)
        except publish.UnreadableArtifact:
            previous = None
        if previous is not None:
            return failed(store, run, f"{reason}; kept the published catalog")
        run.details.pop("sources", None)
        return serve_unavailable(
            store, config, run, previous=None, previous_deprecations=None, reason=reason
        )


def _sync_openrouter(  # noqa: PLR0917 - the public function's arguments, passed through
    store: Store,
    config: CatalogConfig,
    request: SyncRequest,
    run: SyncRun,
    transport: httpx.BaseTransport | None,
    sleep: Callable[[float], None] | None,
) -> SyncResult:
    now = request.now

    # -- fetch -----------------------------------------------------------------------------
    raw: bytes | None = None
    unavailable: str | None = None
    with run.stage("fetch", lambda: f"{len(raw or b'')} bytes"):
        if request.from_file is not None:
            try:
                # Bounded like a body from the network; a FIFO or a device is refused.
                raw = read_input(request.from_file, config.openrouter.max_body_bytes)
            except OSError as exc:
                return failed(store, run, f"cannot read {request.from_file}: {exc.strerror}")
        else:
            try:
                raw = fetch_payload(config, transport, sleep)
            except FetchError as exc:
                unavailable = str(exc)

    # -- parse and normalize (streamed: one upstream record in memory at a time) -----------
    normalized: list[Normalized] = []
    raw_records = PackedRecords()
    input_count = 0
    if raw is not None:
        with run.stage(
            "normalize", lambda: f"{len(normalized)} ok, {len(run.quarantined)} quarantined"
        ):
            try:
                normalized, input_count, raw_records = parse_records(
                    openrouter.iter_items(raw, max_depth=config.openrouter.max_depth),
                    run,
                    max_items=config.openrouter.max_items,
                    max_quarantined=config.openrouter.max_quarantined,
                )
            except payloads.PayloadError as exc:
                run.quarantined.clear()
                run.quarantine_overflow = 0
                where = str(request.from_file) if request.from_file else "OpenRouter"
                if request.from_file is not None:
                    return failed(store, run, f"{where}: {exc}")
                unavailable = f"{where}: {exc}"

    try:
        # The manifest this run builds on: publishing aborts if another set lands meanwhile.
        run.based_on = store.head(keys.MANIFEST)
        previous = load_previous(store)
        previous_deprecations = deprecations.load_previous(store)
    except publish.UnreadableArtifact as exc:
        return failed(store, run, str(exc))

    if unavailable is not None or raw is None:
        return serve_unavailable(
            store,
            config,
            run,
            previous=previous,
            previous_deprecations=previous_deprecations,
            reason=unavailable or "no payload",
        )

    # OpenRouter records list the direct providers that serve them (providers' current.json).
    run.details["directSources"] = enrich.link_direct_sources(store, normalized)

    present_ids = {m.id for m in normalized}
    guard = check_publish_guard(present_ids, previous, config)
    if guard is not None and not request.force:
        return guarded(store, run, guard, guard_figures(present_ids, previous), input_count)
    if guard is not None:
        run.warnings.append(f"published with --force although {guard}")

    run_id = make_run_id(now, raw)
    raw_key = keys.openrouter_raw(now)
    # The raw snapshot records what upstream served this hour, whatever becomes of the rest of
    # the publish. It is written on a thread of its own while the stages run (issue 30: the
    # write mostly waits on the disk, with the GIL released), and that thread holds the only
    # reference to the payload's bytes, let go once written: nothing else reads them (the
    # laws read its records, packed), and a 100k-model run builds its records without them.
    # Each input below is let go as soon as its last reader is done (docs/sync.md, "Memory
    # at scale").
    with PendingPut(store, raw_key, raw) as snapshot:
        raw = None
        # -- the stages: capabilities → aliases → lifecycle → assemble → offers → redirects
        built = build_catalog(
            run,
            store,
            config,
            normalized,
            input_count=input_count,
            previous=previous,
            previous_deprecations=previous_deprecations,
            run_id=run_id,
            raw_key=raw_key,
            transport=transport,
            sleep=sleep,
        )
        catalog, deprecated_doc = built.catalog, built.deprecations
        # The records now hold everything publish needs; drop the stage inputs (raw benchmark
        # blobs, evidence strings) before the curate and publish stages allocate their output.
        normalized.clear()
        # The snapshot is in the store before the laws read it and the history writes its
        # segments, as when it was written here (a failed write fails the run here, as then).
        with run.stage("raw", lambda: raw_key):
            snapshot.wait()
    # The laws over what is about to be published; recorded, never blocking (issue 26).
    with run.stage("laws", lambda: f"{built.counts[law_check.COUNT]} violations"):
        _hold_laws(run, store, request, built, raw_records)
    # The laws were the last reader of the payload's records and of the raw snapshots the run
    # read: let them go before curate, history and publish allocate their output.
    del raw_records
    built.raws = None
    extra = curate_set(run, catalog, config, request, deprecated_doc)
    extra.update(
        record_history(
            store,
            run,
            previous=previous,
            previous_deprecations=previous_deprecations,
            catalog=catalog,
            deprecations_doc=deprecated_doc,
            removed=built.removed,
        )
    )
    # The previous catalog (as large as this one) was last read by the history.
    del previous, previous_deprecations
    return publish_catalog(
        store,
        run,
        catalog,
        raw=None,
        raw_key=raw_key,
        counts=built.counts,
        outcome="ok",
        deprecations_doc=deprecated_doc,
        extra=extra,
    )


def _hold_laws(
    run: SyncRun,
    store: Store,
    request: SyncRequest,
    built: BuiltCatalog,
    raw_records: PackedRecords,
) -> None:
    """Run the laws over the set about to be published and record what they find. The set
    they read lives only as long as this call."""
    published = law_check.openrouter_set(
        store,
        built.catalog,
        built.deprecations,
        raw=None,
        reserved=request.overrides.aliases,
        raws=built.raws,
        raw_records=raw_records,
    )
    law_check.hold(published, run.details, built.counts, run.warnings)


# The runner's request and result types, for callers of sync_openrouter.
__all__ = [
    "SyncRequest",
    "SyncResult",
    "batch_gc",
    "check_publish_guard",
    "guard_figures",
    "sync_openrouter",
]
