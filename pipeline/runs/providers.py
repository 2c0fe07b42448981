"""The provider-native runner: which sources are due, serve them concurrently, report.

``sync_providers`` runs every due source (or the ones asked for) side by side, each served by
``pipeline.runs.provider_source`` (cache, API, fallback tiers) with the OpenRouter catalog it is
enriched from read once for all; then it writes the run report and the ``providers`` status
entry, whose per-source entries say how each list was served and how fresh it is. ``plan`` says
which sources would run now and why the others would not (``catalog sync providers --list``).

One failing source never stops the others: each runs in its own thread with its own timeouts,
and every exception is turned into that source's result.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# httpx (0.28+) imports its transport, httpcore, when the first client is made: imported here,
# it loads with the runner, not in one source's thread while the others wait on the import
# lock before sending their requests.
import httpcore  # noqa: F401
import httpx
from pydantic import ValidationError

from pipeline.config import CatalogConfig
from pipeline.overrides.files import resolve_dir
from pipeline.publishing import keys, publish
from pipeline.publishing.schemas import SchemaViolation
from pipeline.publishing.store import Store, StoreError
from pipeline.records.base import Outcome
from pipeline.records.catalog import CurrentCatalog, ProviderCatalog
from pipeline.records.payloads import PayloadError
from pipeline.records.runs import JobStatus, RunReport
from pipeline.runs import fallback
from pipeline.runs.catalog_source import load_snapshot, serve_catalog
from pipeline.runs.context import make_run_id
from pipeline.runs.provider_merge import MergeOutcome, merge_providers
from pipeline.runs.provider_source import (
    ProvidersRequest,
    SourceEnv,
    SourceResult,
    fresh_until,
    load_cached,
    serve_source,
)
from pipeline.sources.config import ProvidersConfig, SourceInstance, load_providers_config
from pipeline.sources.http import DeferredSSLContext
from pipeline.sources.openrouter import extract_items
from pipeline.stages.enrich import OpenRouterIndex
from pipeline.timeutil import iso, parse_iso

# Every module of the provider runner logs as the runner.
log = logging.getLogger("pipeline.runs.providers")

JOB = "providers"


class UnknownSource(Exception):
    """A source name that is neither built in nor configured."""


@dataclass
class ProvidersResult:
    """How the run ended."""

    run_id: str
    outcome: Outcome
    results: dict[str, SourceResult]
    report: RunReport
    summary: str

    @property
    def exit_code(self) -> int:
        """0 unless a source that was asked for could not be served at all."""
        return 1 if self.outcome == "failed" else 0


@dataclass(frozen=True)
class PlanRow:
    """One line of ``catalog sync providers --list``."""

    source: str
    type_name: str
    group: str
    enabled: bool
    ttl_seconds: int
    base_url: str | None
    key_env: str | None
    state: str
    """``due``, ``cache fresh until …``, or why it is skipped."""


def default_manifest_dir(config: CatalogConfig) -> str:
    """``<overrides>/pinned``, the overrides directory chosen as for every override file
    (``CATALOG_OVERRIDES``, then the config, then the repository's ``overrides/``)."""
    return str(resolve_dir(None, config.overrides_dir) / "pinned")


def plan(
    store: Store,
    config: CatalogConfig,
    now: datetime,
    *,
    env: Mapping[str, str] | None = None,
) -> list[PlanRow]:
    """Every known source, whether it would run now and why not."""
    env = os.environ if env is None else env
    pconf = load_providers_config(config)
    rows = []
    for name, inst in pconf.sources.items():
        state = inst.skip_reason(env)
        if state is None:
            if inst.kind.group == "independent":
                snapshot, _problem = load_snapshot(store, name)
                fetched = snapshot.fetched_at if snapshot and snapshot.served_by == "api" else None
                until = (
                    parse_iso(fetched) + timedelta(seconds=inst.ttl_seconds) if fetched else None
                )
            else:
                cached, _problem = load_cached(store, name)
                until = fresh_until(cached, inst.ttl_seconds)
            state = f"cache fresh until {iso(until)}" if until and now < until else "due"
        rows.append(
            PlanRow(
                source=name,
                type_name=inst.type_name,
                group=inst.kind.group,
                enabled=inst.enabled,
                ttl_seconds=inst.ttl_seconds,
                base_url=inst.base_url,
                key_env=inst.api_key_env,
                state=state,
            )
        )
    return rows


def sync_providers(
    store: Store,
    config: CatalogConfig,
    request: ProvidersRequest,
    *,
    transport: httpx.BaseTransport | None = None,
    env: Mapping[str, str] | None = None,
    manifest_dir: str | None = None,
    sleep: Callable[[float], None] | None = None,
) -> ProvidersResult:
    """Sync every due provider source (or ``request.only``) into ``store``.

    Raises ConfigError for a bad ``sources:``/``model_cache:`` section and UnknownSource for a
    name that does not exist; everything that goes wrong with one source is in its result.
    """
    started = time.perf_counter()
    pconf = load_providers_config(config)
    names = list(pconf.sources)
    if request.only:
        unknown = [n for n in request.only if n not in pconf.sources]
        if unknown:
            raise UnknownSource(
                f"unknown source {', '.join(unknown)}; known: {', '.join(pconf.sources)} "
                "(add named instances under sources: in catalog.yaml)"
            )
        names = list(dict.fromkeys(request.only))
    env = os.environ if env is None else env
    run_id = make_run_id(request.now, f"providers:{','.join(names)}".encode())

    # The OpenRouter catalog (for enrichment and the catalog tier) is read once, by whichever
    # thread needs it first; the others wait for it.
    catalog_cache: dict[str, Any] = {}
    catalog_lock = threading.Lock()

    def catalog() -> CurrentCatalog | None:
        with catalog_lock:
            if "catalog" not in catalog_cache:
                catalog_cache["catalog"] = openrouter_catalog(store)
            result: CurrentCatalog | None = catalog_cache["catalog"]
            return result

    def index() -> OpenRouterIndex:
        current = catalog()
        with catalog_lock:
            if "index" not in catalog_cache:
                built_index = OpenRouterIndex.build(current.models if current else [])
                built_index.open_weights = _open_weights(store, current)
                catalog_cache["index"] = built_index
            built: OpenRouterIndex = catalog_cache["index"]
            return built

    results: dict[str, SourceResult] = {}
    schemas: Future[None] | None = None
    due: list[SourceInstance] = []
    for name in names:
        inst = pconf.sources[name]
        skip = inst.skip_reason(env)
        if skip is not None:
            results[name] = SourceResult(name, "skipped", reason=skip)
        else:
            due.append(inst)
    if due:
        with ThreadPoolExecutor(max_workers=len(due) + 3, thread_name_prefix="provider") as pool:
            # One CA bundle load for the run instead of one per source (tens of ms each),
            # started first: the load releases the GIL, so it runs while the sources start
            # (threads, cache reads) and send their requests; a source waits for it only at a
            # TLS handshake (DeferredSSLContext), a plain-HTTP one not at all.
            ssl_context = pool.submit(httpx.create_ssl_context)
            deferred = DeferredSSLContext(ssl_context.result)
            # The artifact schemas do not depend on the run: they are written (every one, each
            # fsynced, into a fresh store) while the sources wait for their servers.
            schemas = pool.submit(publish.publish_schemas, store)
            shared = SourceEnv(
                store=store,
                config=pconf,
                catalog_config=config,
                request=request,
                run_id=run_id,
                catalog=catalog,
                index=index,
                transport=transport,
                env=env,
                manifest_dir=manifest_dir or default_manifest_dir(config),
                sleep=sleep,
                ssl_context=deferred,
            )
            futures = {
                inst.name: pool.submit(
                    serve_source,
                    shared,
                    inst,
                    serve_catalog if inst.kind.group == "independent" else None,
                )
                for inst in due
            }
            # Read the catalog while the requests are in flight, not before them (after the
            # CA bundle: an HTTPS source's handshake waits for that, not for the catalog).
            pool.submit(lambda: ssl_context.result() and index())
            for name, future in futures.items():
                results[name] = future.result()
    results = dict(sorted(results.items()))
    merge = _merge(store, config, pconf, request, run_id, results, catalog, index)
    return _finish(store, request, run_id, results, started, merge=merge, schemas=schemas)


def _merge(  # noqa: PLR0917 - the run's pieces, passed on once
    store: Store,
    config: CatalogConfig,
    pconf: ProvidersConfig,
    request: ProvidersRequest,
    run_id: str,
    results: dict[str, SourceResult],
    catalog: Callable[[], CurrentCatalog | None],
    index: Callable[[], OpenRouterIndex],
) -> MergeOutcome:
    """Merge every provider's list; a failure here is reported, and the sources' lists (each
    already written) stay as they are."""
    if request.deadline is not None and time.monotonic() > request.deadline:
        return MergeOutcome(error="the run's deadline passed before the merge; lists unchanged")
    try:
        return merge_providers(
            store,
            config,
            pconf,
            now=request.now,
            run_id=run_id,
            results=results,
            catalog=catalog,
            index=index,
        )
    except (StoreError, publish.UnreadableArtifact, SchemaViolation) as exc:
        log.error("provider lists not merged", extra={"error": str(exc)})
        return MergeOutcome(error=f"provider lists not merged: {exc}")


def _open_weights(store: Store, catalog: CurrentCatalog | None) -> dict[str, bool]:
    """OpenRouter id → open weights (a ``hugging_face_id`` in the raw record), read from the
    raw snapshot the catalog was built from; empty when it cannot be read, and then no
    OpenRouter price or limit is taken for any provider (``enrich.owner_offer``)."""
    if catalog is None or not catalog.raw_key:
        return {}
    try:
        blob = store.get(catalog.raw_key)
        items = extract_items(blob.data) if blob is not None else []
    except (StoreError, PayloadError, ValueError) as exc:
        log.warning("raw OpenRouter snapshot unreadable", extra={"error": str(exc)})
        return {}
    out: dict[str, bool] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            out[item["id"]] = bool(item.get("hugging_face_id"))
    return out


def openrouter_catalog(store: Store) -> CurrentCatalog | None:
    """The published OpenRouter catalog, else the embedded one (both only read)."""
    blob = store.get(keys.CURRENT)
    if blob is not None:
        try:
            return CurrentCatalog.model_validate_json(blob.data)
        except ValidationError:
            log.warning("published OpenRouter catalog unreadable; using the embedded one")
    try:
        return fallback.load_embedded()
    except (OSError, ValidationError):
        return None


WRITES = ("api", "catalog", "stale")
"""Tiers that write the source's list this run."""


def _hold_laws(store: Store, written: list[str], merged: list[str], report: RunReport) -> None:
    """The laws over the lists this run wrote (pipeline.runs.law_check), into ``report``: each
    source's own list (``written``) and each provider's merged list (``merged``)."""
    from pipeline.runs import law_check
    from pipeline.runs.provider_source import load_cached

    documents = [doc for name in written if (doc := load_cached(store, name)[0]) is not None]
    for provider in merged:
        blob = store.get(keys.provider_current(provider))
        try:
            if blob is not None:
                documents.append(ProviderCatalog.model_validate_json(blob.data))
        except ValidationError as exc:
            report.warnings.append(f"laws: {provider}'s merged list is unreadable: {exc}")
    if not documents:
        return
    try:
        published = law_check.providers_set(store, documents)
    except (StoreError, ValidationError) as exc:
        report.warnings.append(f"laws: not checked, the OpenRouter catalog is unreadable: {exc}")
        return
    law_check.hold(published, report.details, report.counts, report.warnings, skip_openrouter=True)


def _finish(
    store: Store,
    request: ProvidersRequest,
    run_id: str,
    results: dict[str, SourceResult],
    started: float,
    *,
    merge: MergeOutcome,
    schemas: Future[None] | None = None,
) -> ProvidersResult:
    now = request.now
    tiers: dict[str, int] = {}
    for res in results.values():
        tiers[res.tier] = tiers.get(res.tier, 0) + 1
    ran = [r for r in results.values() if r.tier != "skipped"]
    served = [r for r in ran if r.tier != "failed"]
    outcome: Outcome
    # A source that was skipped (no key, disabled) is that source's `skipped`, also when it
    # was named: the job fails only when sources ran and none could be served.
    if ran and not served:
        outcome = "failed"
    elif any(r.tier in ("catalog", "stale", "failed") for r in ran):
        outcome = "degraded"
    else:
        outcome = "ok"
    warnings = [
        f"{r.source}: served by {r.tier}: {r.reason}"
        for r in results.values()
        if r.tier in ("catalog", "stale", "failed")
    ]
    if merge.error:
        warnings.append(merge.error)
    warnings.extend(merge.failed)
    entries = {name: res.entry(now) for name, res in results.items()}
    counts = {f"tier_{k}": v for k, v in sorted(tiers.items())}
    counts["sources"] = len(results)
    counts["published"] = sum(
        r.count for r in results.values() if r.tier in ("api", "catalog", "stale")
    )
    # Models readers can use after this run, cache hits included (`published` counts writes).
    counts["served"] = sum(r.count for r in results.values() if r.tier not in ("failed", "skipped"))
    counts["quarantined"] = sum(len(r.quarantined) for r in results.values())
    if merge.providers:
        counts.update(merge.counts())
    error = "; ".join(r.reason or r.source for r in results.values() if r.tier == "failed") or None
    report = RunReport(
        generated_at=iso(now),
        run_id=run_id,
        job=JOB,
        outcome=outcome,
        published=bool(served),
        error=error,
        timings_ms={
            **{f"source:{n}": round(r.elapsed_ms, 3) for n, r in results.items()},
            **({"merge": round(merge.elapsed_ms, 3)} if merge.providers else {}),
            "total": round((time.perf_counter() - started) * 1000, 3),
        },
        counts=counts,
        quarantined=[
            q.model_copy(update={"id": f"{r.source}:{q.id}" if q.id else r.source})
            for r in results.values()
            for q in r.quarantined
        ],
        warnings=warnings,
        details={
            "sources": entries,
            # The crosscheck of the run: how the sources of each field agree (issue 30).
            **({"crosscheck": merge.crosscheck} if merge.crosscheck else {}),
        },
    )
    _hold_laws(store, [n for n, r in results.items() if r.tier in WRITES], merge.written, report)
    try:
        store.put(keys.run_report(run_id), publish.encode("run-report", report))
        previous = publish.read_status(store)
        before = previous.jobs.get(JOB) if previous else None
        merged = {**(before.sources if before else {}), **entries}
        stamp = iso(now)
        publish.record_status(
            store,
            JOB,
            JobStatus(
                last_start=stamp,
                last_end=stamp,
                outcome=outcome,
                run_id=run_id,
                published=bool(served),
                last_success=stamp if served else None,
                error=error,
                counts=report.counts,
                sources=dict(sorted(merged.items())),
                warnings=report.warnings,
                # The oldest data any source serves: the job is as fresh as its stalest list.
                data_as_of=min(
                    (
                        str(e["dataAsOf"])
                        for e in merged.values()
                        if isinstance(e, dict) and e.get("dataAsOf")
                    ),
                    default=None,
                ),
            ),
            stamp,
        )
        if schemas is None:
            publish.publish_schemas(store)
        else:
            schemas.result()  # written while the sources ran; a failure is reported here
    except (StoreError, SchemaViolation) as exc:
        log.error("could not write provider run report or status", extra={"error": str(exc)})
    # The summary names a pinned list as `catalog status` does ("pinned"), whether it was read
    # from its manifest now or from the store's copy of it (counts keep the tiers).
    shown: dict[str, int] = {}
    for res in results.values():
        label = "pinned" if res.reviewed and res.tier in ("api", "cache") else res.tier
        shown[label] = shown.get(label, 0) + 1
    parts = ", ".join(f"{v} {k}" for k, v in sorted(shown.items()))
    elapsed = time.perf_counter() - started
    summary = (
        f"providers: {len(results)} sources ({parts or 'none'}) in {elapsed:.2f}s → {store.uri}"
    )
    if merge.providers:
        summary += f"; {merge.providers} provider lists, {merge.records} models"
    trouble = [
        f"{r.source} {r.tier}" for r in results.values() if r.tier in ("catalog", "stale", "failed")
    ]
    if trouble:
        summary += f" [{', '.join(trouble)}]"
    return ProvidersResult(run_id, outcome, results, report, summary)


# The runner's request and result types, for callers of sync_providers.
__all__ = [
    "JOB",
    "PlanRow",
    "ProvidersRequest",
    "ProvidersResult",
    "SourceResult",
    "UnknownSource",
    "default_manifest_dir",
    "plan",
    "sync_providers",
]
