"""One independent catalog's run (models.dev, LiteLLM, genai-prices): cache, file, fallback.

Per source (``models/catalogs/<source>/current.json``, the normalized snapshot, is its cache)::

    fresh cache (servedBy api, fetchedAt + ttlSeconds > now)  → no request
    else GET the file  ──ok──► parse, map provider names, translate, write raw + snapshot
                       ──fails──► the stale snapshot, republished with the reason
                                  → the source fails (its files stay as they were)

A file that lost more than ``publish.max_loss_fraction`` of the cached entries is treated as
a failed fetch unless the run has ``--force``, as for a provider list. Entries that cannot be
translated (or name a provider that cannot be a provider name, or repeat one) are quarantined
and reported; the rest are served. The merge (``pipeline.runs.provider_merge``) reads the
snapshots once every source has been served.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from pipeline.logs import redact
from pipeline.printable import escaped
from pipeline.publishing import keys, publish
from pipeline.publishing.schemas import SchemaViolation
from pipeline.publishing.store import Store
from pipeline.records.independent import CatalogEntry, CatalogSnapshot
from pipeline.records.payloads import PayloadError
from pipeline.records.runs import QuarantinedRecord
from pipeline.runs.provider_source import (
    SourceEnv,
    SourceResult,
    check_deadline,
    loss_problem,
    read_cached,
)
from pipeline.sources.config import SourceInstance
from pipeline.sources.http import FetchError, RetryPolicy, make_client
from pipeline.sources.independent import CatalogAdapter, UpstreamItem
from pipeline.sources.native import FetchContext
from pipeline.sources.provider_names import provider_for
from pipeline.stages.normalize import check_identity
from pipeline.timeutil import iso, parse_iso


def load_snapshot(store: Store, source: str) -> tuple[CatalogSnapshot | None, str | None]:
    """A catalog's cached snapshot, or None and why it could not be read."""
    key = keys.catalog_current(source)
    blob = store.get(key)
    if blob is None:
        return None, None
    return read_cached(CatalogSnapshot, key, blob.data)


def _adapter(inst: SourceInstance) -> CatalogAdapter:
    adapter = inst.kind.adapter
    if not isinstance(adapter, CatalogAdapter):
        raise TypeError(f"{inst.name}: not an independent catalog")
    return adapter


def serve_catalog(shared: SourceEnv, inst: SourceInstance) -> SourceResult:
    """Serve one independent catalog from its cache, its file, or its stale snapshot."""
    now = shared.request.now
    cached, cache_problem = load_snapshot(shared.store, inst.name)
    if (
        cached is not None
        and cached.served_by == "api"
        and not shared.request.refresh
        and now < (until := parse_iso(cached.fetched_at) + timedelta(seconds=inst.ttl_seconds))
    ):
        return SourceResult(
            inst.name,
            "cache",
            count=cached.count,
            data_as_of=cached.fetched_at,
            reason=f"cache fresh until {iso(until)}",
        )
    try:
        body = _fetch(shared, inst)
        adapter = _adapter(inst)
        items = adapter.parse(body)
        names = adapter.provider_names(body)
    except (FetchError, PayloadError) as exc:
        problem = str(exc)
        if not problem.startswith(f"{inst.name}:"):
            problem = f"{inst.name}: {inst.base_url}: {problem}"
        if "timed out" in problem:
            problem += f" (raise sources.{inst.name}.timeout_seconds if it is just slow)"
    except httpx.HTTPError as exc:
        problem = f"{inst.name}: {type(exc).__name__} fetching {inst.base_url}"
    else:
        return _serve_file(shared, inst, cached, body, (items, names))
    if cache_problem:
        problem += f"; {cache_problem}"
    return _fall_back(shared, inst, cached, problem)


def _fetch(shared: SourceEnv, inst: SourceInstance) -> bytes:
    policy = RetryPolicy(max_attempts=inst.max_attempts, backoff_seconds=0.5, max_backoff_seconds=5)
    if shared.sleep is not None:
        policy.sleep = shared.sleep
    with make_client(
        transport=shared.transport,
        connect_timeout=min(inst.timeout_seconds, 10.0),
        read_timeout=inst.timeout_seconds,
        verify=shared.ssl_context,
    ) as client:
        ctx = FetchContext(
            source=inst.name, base_url=inst.base_url or "", client=client, policy=policy
        )
        return _adapter(inst).fetch(ctx)[0]


def translate_items(
    inst: SourceInstance, items: list[UpstreamItem], now: datetime
) -> tuple[list[CatalogEntry], list[QuarantinedRecord], dict[str, int]]:
    """Every item as an entry of our provider (file order); the quarantined ones; what was
    left out on purpose (skipped provider names, duplicate keys), counted."""
    adapter = _adapter(inst)
    entries: list[CatalogEntry] = []
    quarantined: list[QuarantinedRecord] = []
    skipped: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for position, item in enumerate(items):
        try:
            provider = provider_for(inst.type_name, item.upstream)
            if provider is None:
                skipped[item.upstream] = skipped.get(item.upstream, 0) + 1
                continue
            entry = adapter.translate(item, provider, now)
            check_identity(entry.id, entry.name)  # printable ids and names (issue 27)
        except (ValueError, TypeError) as exc:  # ValidationError is a ValueError
            reason = redact.redact(str(exc).splitlines()[0])[:300]
            quarantined.append(
                QuarantinedRecord(index=position, id=escaped(item.key), reason=reason)
            )
            continue
        if (entry.provider, entry.id) in seen:
            # One model under two keys (`deepseek/deepseek-chat` and `deepseek-chat`), or under
            # two names the table maps to one provider: the first in the file is kept.
            skipped["duplicate keys"] = skipped.get("duplicate keys", 0) + 1
            continue
        seen.add((entry.provider, entry.id))
        entries.append(entry)
    return entries, quarantined, skipped


def _serve_file(
    shared: SourceEnv,
    inst: SourceInstance,
    cached: CatalogSnapshot | None,
    body: bytes,
    parsed: tuple[list[UpstreamItem], dict[str, str]],
) -> SourceResult:
    now = shared.request.now
    items, names = parsed
    entries, quarantined, skipped = translate_items(inst, items, now)
    if not entries:
        return _fall_back(shared, inst, cached, f"{inst.name}: the file lists no usable model")
    guard = _loss_guard(shared, cached, {f"{e.provider}/{e.id}" for e in entries})
    if guard is not None:
        return _fall_back(shared, inst, cached, f"{inst.name}: {guard}; rerun with --force")
    raw_key = keys.catalog_raw(inst.name, now)
    document = CatalogSnapshot(
        generated_at=iso(now),
        run_id=shared.run_id,
        source=inst.name,
        source_type=inst.type_name,
        url=inst.base_url or "",
        fetched_at=iso(now),
        ttl_seconds=inst.ttl_seconds,
        served_by="api",
        raw_key=raw_key,
        providers=dict(sorted(names.items())),
        count=len(entries),
        entries=entries,
    )
    try:
        data = publish.encode("catalog-current", document)
    except SchemaViolation as exc:
        return _fall_back(shared, inst, cached, f"{inst.name}: normalized snapshot invalid: {exc}")
    check_deadline(shared, inst)
    shared.store.put(raw_key, body)
    shared.store.put(keys.catalog_current(inst.name), data)
    reason = None
    if skipped:
        reason = "left out: " + ", ".join(f"{n} {k}" for k, n in sorted(skipped.items()))
    return SourceResult(
        inst.name,
        "api",
        count=len(entries),
        data_as_of=iso(now),
        reason=reason,
        quarantined=quarantined,
    )


def _loss_guard(shared: SourceEnv, cached: CatalogSnapshot | None, present: set[str]) -> str | None:
    """Why a fetched file must not replace the cached snapshot (DESIGN.md §7)."""
    if shared.request.force or cached is None:
        return None
    before = {f"{e.provider}/{e.id}" for e in cached.entries}
    limit = shared.catalog_config.publish.max_loss_fraction
    return loss_problem(before, present, limit, "file", "entries")


def _fall_back(
    shared: SourceEnv, inst: SourceInstance, cached: CatalogSnapshot | None, problem: str
) -> SourceResult:
    """The file could not be used: republish the last snapshot as stale, else fail."""
    now = shared.request.now
    if cached is None:
        return SourceResult(
            inst.name,
            "failed",
            reason=f"{problem}; no cached snapshot to fall back on (check sources.{inst.name}.url)",
        )
    stale = cached.model_copy(
        update={
            "generated_at": iso(now),
            "run_id": shared.run_id,
            "served_by": "stale",
            "reason": problem,
        }
    )
    check_deadline(shared, inst)
    shared.store.put(keys.catalog_current(inst.name), publish.encode("catalog-current", stale))
    return SourceResult(
        inst.name,
        "stale",
        count=stale.count,
        data_as_of=stale.fetched_at,
        reason=f"file failed: {problem}",
    )
