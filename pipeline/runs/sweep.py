"""The deprecation sweep (``deprecation_sweep``, daily; ``syncmodels sweep``): lifecycle by the
clock alone, no fetch.

From the published ``current.json``: models already missing move on (stale → deprecated →
removed, never removed while a consumer binds them), listed models whose announced expiry passed
or whose deprecation override came into force become deprecated. ``deprecations.json`` gets the
tombstones of the models it removes and the overrides now in force; the lifecycle moves are
appended to the history; raw snapshots older than ``jobs.raw_retention_days`` and history
segments no index refers to are deleted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from datetime import datetime, timedelta

from pipeline.config import CatalogConfig
from pipeline.history import log as history_log
from pipeline.publishing import keys, publish
from pipeline.publishing.schemas import SchemaViolation
from pipeline.publishing.store import Store, StoreError
from pipeline.records.catalog import CurrentCatalog, Deprecations
from pipeline.records.model import Lifecycle, ModelRecord
from pipeline.records.runs import RunReport
from pipeline.runs.context import (
    JobContext,
    JobResult,
    make_run_id,
    record_failure,
    record_report,
)
from pipeline.runs.sync_stages import load_previous
from pipeline.stages import deprecations, lifecycle
from pipeline.stages.bindings import load_bindings
from pipeline.timeutil import iso, parse_iso

_RAW = re.compile(r"(?:^|/)raw-(\d{10})\.json$")


def sweep_lifecycle(
    models: dict[str, Lifecycle],
    now: datetime,
    config: CatalogConfig,
    *,
    bindings: Collection[str] = frozenset(),
    forced: Collection[str] = frozenset(),
) -> dict[str, Lifecycle]:
    """Advance lifecycle by the clock alone: no feed was read, so nothing counts as missing
    that was not missing already. Models already missing move on (stale → deprecated →
    removed, never removed while a consumer binds them) with their original ``missingSince``;
    listed models move only when their announced expiry has passed or a deprecation override
    came into force."""
    missing = {i: s for i, s in models.items() if s.missing_since is not None}
    advanced = lifecycle.advance(
        {}, missing, now, bindings=bindings, forced=forced, config=config.lifecycle
    )
    result: dict[str, Lifecycle] = {}
    for model_id, state in models.items():
        if model_id in advanced:
            result[model_id] = advanced[model_id]
            continue
        expired = state.expires_at is not None and parse_iso(state.expires_at) <= now
        if (expired or model_id in forced) and state.state != "deprecated":
            result[model_id] = state.model_copy(
                update={"state": "deprecated", "state_since": iso(now)}
            )
        else:
            result[model_id] = state
    return result


def prune_raw(store: Store, now: datetime, retention_days: int) -> list[str]:
    """Delete raw snapshots (OpenRouter, provider lists, independent catalogs) older than the
    retention."""
    cutoff = now - timedelta(days=retention_days)
    pruned: list[str] = []
    listed = store.list(f"{keys.OPENROUTER}/") + store.list(f"{keys.PROVIDERS}/")
    for key in listed + store.list(f"{keys.CATALOGS}/"):
        match = _RAW.search(key)
        if match is None:
            continue
        taken = datetime.strptime(match.group(1), "%Y%m%d%H").replace(tzinfo=now.tzinfo)
        if taken < cutoff:
            store.delete(key)
            pruned.append(key)
    return pruned


def _sweep_history(
    store: Store,
    warnings: list[str],
    *,
    previous: CurrentCatalog,
    previous_deprecations: Deprecations | None,
    doc: Deprecations,
    records: list[ModelRecord],
    removed: list[str],
    now: datetime,
) -> dict[str, bytes]:
    """The sweep's lifecycle moves appended to the history (a warning if that fails)."""
    try:
        data = history_log.record_run(
            store,
            previous=previous,
            previous_redirects=history_log.redirect_map(
                previous_deprecations.redirects if previous_deprecations else []
            ),
            records=records,
            redirects=history_log.redirect_map(doc.redirects),
            removed=removed,
            run_id=doc.run_id,
            observed_at=iso(now),
            generated_at=iso(now),
        )
    except publish.UnreadableArtifact as exc:  # a failing store fails the sweep instead
        warnings.append(f"{keys.HISTORY} not updated: {exc}")
        return {}
    return {} if data is None else {"history": data}


def deprecation_sweep(ctx: JobContext) -> JobResult:
    """Lifecycle by the clock from the published current.json (no fetch), deprecations.json
    with the tombstones of models it removes and the overrides now in force, then prune raw
    snapshots older than the retention."""
    store, now = ctx.store, ctx.now
    began = time.perf_counter()
    warnings: list[str] = []
    try:
        based_on = store.head(keys.MANIFEST)
        previous = load_previous(store)
        previous_deprecations = deprecations.load_previous(store)
    except publish.UnreadableArtifact as exc:
        return record_failure(ctx, str(exc))
    if previous is not None:
        ctx.data_as_of = previous.data_as_of or previous.generated_at
    if previous is None:
        return record_failure(
            ctx, f"nothing published yet in {store.uri}: run `syncmodels all` first"
        )

    found = load_bindings(store)
    bound = found.bound()
    if not found.complete:
        # An unreadable bindings file might hide a consumer: remove nothing this run.
        warnings.extend(f"bindings: {problem}" for problem in found.problems)
        bound |= {m.id for m in previous.models}
    forced = deprecations.effective_overrides(ctx.overrides.deprecations, now)
    before = {m.id: m.lifecycle for m in previous.models}
    after = sweep_lifecycle(before, now, ctx.config, bindings=bound, forced=set(forced))
    moved = sorted(i for i in before if after[i] != before[i])
    removed = sorted(i for i in moved if after[i].state == "removed")
    run_id = make_run_id(now, f"sweep:{previous.run_id}:{','.join(moved)}".encode())

    records = [
        m.model_copy(update={"lifecycle": after[m.id]})
        for m in previous.models
        if after[m.id].state != "removed"
    ]
    stones = [
        deprecations.tombstone(m.model_copy(update={"lifecycle": after[m.id]}), iso(now))
        for m in previous.models
        if m.id in removed
    ]
    listed = {m.id for m in previous.models if m.lifecycle.missing_since is None}
    doc = deprecations.merge(
        previous_deprecations,
        generated_at=iso(now),
        run_id=run_id,
        listed=listed,
        forced=forced,
        removed=stones,
    )
    try:
        artifacts = {"deprecations": publish.encode("deprecations", doc)}
        if moved:
            catalog = previous.model_copy(
                update={
                    "generated_at": iso(now),
                    "run_id": run_id,
                    "count": len(records),
                    "models": records,
                }
            )
            artifacts["current"] = publish.encode_listing(
                "current", catalog, "models", "ModelRecord"
            )
            artifacts.update(
                _sweep_history(
                    store,
                    warnings,
                    previous=previous,
                    previous_deprecations=previous_deprecations,
                    doc=doc,
                    records=records,
                    removed=removed,
                    now=now,
                )
            )
    except SchemaViolation as exc:
        return record_failure(ctx, f"refusing to publish an invalid catalog: {exc}")
    # deprecations.json is rewritten only when its content changed; with no lifecycle change
    # and no new tombstone or redirect nothing is written at all.
    committed = publish.publish_set(store, run_id, iso(now), artifacts, based_on=based_on)
    published = bool(committed.written)

    pruned = prune_raw(store, now, ctx.settings.raw_retention_days)
    try:
        history_log.prune(store)
        history_log.prune(store, keys.PROVIDERS_HISTORY, keys.PROVIDERS_HISTORY_SEGMENTS)
    except (StoreError, publish.UnreadableArtifact) as exc:
        warnings.append(f"history segments not pruned: {exc}")
    counts = {
        "published": len(records),
        "moved": len(moved),
        "removed": len(removed),
        "pruned": len(pruned),
    }
    changes = {i: {"from": before[i].state, "to": after[i].state} for i in moved}
    report = RunReport(
        generated_at=iso(now),
        run_id=run_id,
        job=ctx.job,
        outcome="ok",
        published=published,
        timings_ms={"total": round((time.perf_counter() - began) * 1000, 3)},
        counts=counts,
        warnings=warnings,
        details={
            "lifecycle": changes,
            "removed": removed,
            "pruned": pruned,
            "published": {"written": committed.written, "unchanged": committed.unchanged},
        },
    )
    record_report(ctx, report)
    summary = (
        f"sweep: {len(moved)} lifecycle change(s), {len(removed)} removed, "
        f"{len(pruned)} raw snapshot(s) pruned"
        + (
            f"; published {', '.join(committed.written)} as {run_id}"
            if published
            else "; nothing to publish"
        )
        + f" → {store.uri}"
    )
    return JobResult(ctx.job, run_id, "ok", published, summary)
