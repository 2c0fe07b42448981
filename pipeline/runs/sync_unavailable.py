"""An OpenRouter sync without a usable feed: keep the published catalog, or ship the embedded one.

When OpenRouter cannot be reached (or its payload cannot be read, or the run crashed), a store
that has a catalog keeps it: nothing is published, the run is ``degraded`` and says how old the
kept data is. A fresh store gets the embedded catalog (``pipeline.runs.fallback``) instead,
with a ``deprecations.json``, a shortlist curated from it and, when the store has no history
yet, the embedded history, so readers always get a catalog and its price history. A fallback
feed never moves a model's lifecycle.
"""

from __future__ import annotations

import logging

from pipeline.config import CatalogConfig
from pipeline.history import log as history_log
from pipeline.publishing import keys, publish
from pipeline.publishing.store import Store
from pipeline.records.catalog import CurrentCatalog, Deprecations
from pipeline.runs import fallback, law_check
from pipeline.runs.context import make_run_id
from pipeline.runs.sync_publish import curate_set, failed, publish_catalog
from pipeline.runs.sync_state import SyncResult, SyncRun
from pipeline.stages import deprecations
from pipeline.timeutil import data_age, iso, utcnow


def serve_unavailable(
    store: Store,
    config: CatalogConfig,
    run: SyncRun,
    *,
    previous: CurrentCatalog | None,
    previous_deprecations: Deprecations | None,
    reason: str,
) -> SyncResult:
    """The live feed could not be had: keep what is published, or ship the embedded catalog."""
    if previous is not None:
        as_of = previous.data_as_of or previous.generated_at
        run.details["sources"] = {
            "openrouter": {"servedBy": "stale", "dataAsOf": as_of, "error": reason}
        }
        kept = (
            f"kept the published catalog of run {previous.run_id} "
            f"({'embedded catalog, ' if previous.degraded else ''}{data_age(as_of, utcnow())})"
        )
        # An expected state offline (a warning, not an error); status, the exit code and the
        # reader's metrics still say the run could not fetch.
        result = failed(
            store,
            run,
            f"{reason}; {kept}",
            outcome="degraded",
            counts={"served": previous.count},  # what readers still get
            level=logging.WARNING,
        )
        result.summary = f"openrouter: upstream unreachable, {kept}"
        result.kept = True
        return result
    embedded = fallback.load_embedded()
    run.warnings.append(f"served the embedded catalog (data of {embedded.generated_at}): {reason}")
    now = run.request.now
    digest_source = f"embedded:{embedded.run_id}".encode()
    catalog = embedded.model_copy(
        update={
            "generated_at": iso(now),
            "run_id": make_run_id(now, digest_source),
            "raw_key": None,
            "degraded": True,
            "degraded_reason": f"OpenRouter unavailable: {reason}",
            "data_as_of": embedded.data_as_of or embedded.generated_at,
        }
    )
    run.details["sources"] = {
        "openrouter": {"servedBy": "embedded", "dataAsOf": catalog.data_as_of, "error": reason}
    }
    # A first run: every model is new to this store, as a replay into a fresh store says too.
    added = catalog.count if previous_deprecations is None else 0
    counts = {
        "input": 0,
        "published": catalog.count,
        "quarantined": 0,
        "added": added,
        "removed": 0,
    }
    # deprecations.json starts with the set, as after any other first sync (empty: the
    # embedded catalog never moves a model's lifecycle).
    doc = deprecations.merge(
        previous_deprecations,
        generated_at=iso(now),
        run_id=catalog.run_id,
        listed={m.id for m in catalog.models},
        forced=deprecations.effective_overrides(run.request.overrides.deprecations, now),
    )
    # The laws hold over the embedded catalog too (its evidence's form: it has no raw snapshot).
    published = law_check.openrouter_set(
        store, catalog, doc, raw=None, reserved=run.request.overrides.aliases
    )
    law_check.hold(published, run.details, counts, run.warnings)
    return publish_catalog(
        store,
        run,
        catalog,
        raw=None,
        raw_key=None,
        counts=counts,
        outcome="degraded",
        error=f"OpenRouter unavailable; published the embedded catalog: {reason}",
        deprecations_doc=doc,
        # A first run offline still gives readers a shortlist, curated from the embedded data,
        # and the price history the embedded catalog ends.
        extra={**curate_set(run, catalog, config, run.request), **embedded_history(store, run)},
    )


def embedded_history(store: Store, run: SyncRun) -> dict[str, bytes]:
    """The shipped history for a store that has none: its segments written now (invisible
    until the set is committed), its index returned for the set. A store with a history of
    its own keeps it; a shipped history that fails its checks is a warning, never a blocked
    catalog."""
    try:
        if history_log.read_index(store) is not None:
            return {}
        shipped = fallback.load_embedded_history()
    except (publish.UnreadableArtifact, fallback.EmbeddedHistoryError) as exc:
        run.warnings.append(f"{keys.HISTORY} not published: {exc}")
        return {}
    if shipped is None:
        return {}
    for key, data in shipped.segments.items():
        store.put(key, data)
    index = shipped.index
    run.details["history"] = {
        "embedded": True,
        "events": index.events,
        "firstAt": index.segments[0].first_at if index.segments else None,
        "lastAt": index.segments[-1].last_at if index.segments else None,
    }
    return {keys.HISTORY: shipped.index_bytes}
