"""The last step of every providers run: one merged list per provider, its history, the index.

In: the store after every due source was served — each provider source's own list
(``models/providers/<source>/native.json``), each enabled independent catalog's snapshot
(``models/catalogs/<source>/current.json``), the lists published before
(``models/providers/<provider>/current.json``), the OpenRouter index — and the run's results
(which sources were served live). Out, for every provider any source names: its merged
``current.json`` (rewritten only when it changed), the history events of the run
(``models/providers/history.json`` and its segments, ids ``<provider>/<model id>``), the
providers index (``models/providers/index.json``) and the run's crosscheck (agreement per field,
disagreements per source) for the run report. ``pipeline.merge`` decides; this module reads and
writes.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pipeline.config import CatalogConfig
from pipeline.history import log as history_log
from pipeline.history import track
from pipeline.merge.build import MergedList, MergeSettings, ProviderInputs, Tally, merge_provider
from pipeline.merge.precedence import DEFAULT_CATALOGS, OPENROUTER, load_precedence
from pipeline.publishing import jsonio, keys, publish, schemas
from pipeline.publishing.store import Store
from pipeline.records.base import NATIVE_SCHEMA_VERSION, PROVIDER_SCHEMA_VERSION, ServedBy
from pipeline.records.catalog import (
    CurrentCatalog,
    ProviderCatalog,
    ProviderModelRef,
    ProvidersIndex,
    ProviderSummary,
)
from pipeline.records.history import HistoryEvent, HistoryIndex
from pipeline.runs.context import batch_gc
from pipeline.runs.provider_source import SourceResult
from pipeline.sources.config import ProvidersConfig
from pipeline.sources.independent import CatalogAdapter
from pipeline.stages.enrich import OpenRouterIndex
from pipeline.timeutil import iso

log = logging.getLogger("pipeline.runs.providers")

LIVE = ("api", "cache")
"""Tiers whose list counts as seen this run (a fresh cache is an API fetch within its TTL)."""


@dataclass
class MergeOutcome:
    """What the merge did, for the run report and status."""

    providers: int = 0
    records: int = 0
    written: list[str] = field(default_factory=list)
    removed: int = 0
    events: int = 0
    crosscheck: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    error: str | None = None
    failed: list[str] = field(default_factory=list)
    """Providers whose list could not be merged, with why (their lists stay as they were)."""

    def counts(self) -> dict[str, int]:
        return {
            "providerLists": self.providers,
            "providerModels": self.records,
            "providerListsWritten": len(self.written),
            "providerModelsRemoved": self.removed,
            "disagreements": int(self.crosscheck.get("disagreements", 0)),
        }


def catalog_sources(pconf: ProvidersConfig) -> list[str]:
    """Enabled independent catalog sources, built-in ones in their default precedence first."""
    names = [n for n, i in pconf.sources.items() if i.kind.group == "independent" and i.enabled]
    rank = {name: position for position, name in enumerate(DEFAULT_CATALOGS)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def _read(store: Store, key: str) -> dict[str, Any] | None:
    """A published document as plain mappings (prices as Decimal), or None when absent or
    unreadable (logged: the merge replaces what it cannot read, and says so)."""
    blob = store.get(key)
    if blob is None:
        return None
    try:
        document = json.loads(blob.data, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        log.warning("unreadable document", extra={"key": key, "error": str(exc)[:300]})
        return None
    return document if isinstance(document, dict) else None


def _read_valid(store: Store, key: str, name: str) -> dict[str, Any] | None:
    """Like ``_read``, for a document that must match schema ``name`` to be used at all (an
    independent catalog's snapshot: the merge indexes its entries by their keys). Parsed once:
    jsonschema-rs reads the Decimal prices as the numbers they are."""
    document = _read(store, key)
    if document is None:
        return None
    try:
        schemas.validate(name, document)
    except schemas.SchemaViolation as exc:
        log.warning("document not built on", extra={"key": key, "error": str(exc)[:300]})
        return None
    return document


def _previous_lists(store: Store, listed: list[str]) -> dict[str, dict[str, Any]]:
    """The provider lists published before, by provider (``listed``: the store's keys under
    ``models/providers/``)."""
    out: dict[str, dict[str, Any]] = {}
    for key in listed:
        if key.endswith("/current.json"):
            document = _read(store, key)
            if document is not None and isinstance(document.get("models"), list):
                out[key.split("/")[2]] = document
    return out


def _own_lists(
    store: Store,
    pconf: ProvidersConfig,
    previous: Mapping[str, dict[str, Any]],
    listed: list[str],
) -> dict[str, dict[str, Any]]:
    """Each provider source's own list (its cache), also those that did not run this time; a
    store from before the merge kept it as current.json (schema version 1 or 2)."""
    out: dict[str, dict[str, Any]] = {}
    names = {key.split("/")[2] for key in listed if key.endswith("/native.json")}
    for name in sorted(names):
        inst = pconf.sources.get(name)
        if inst is not None and inst.kind.group == "independent":
            continue
        document = _read(store, keys.provider_native(name))
        if document is not None and isinstance(document.get("models"), list):
            out[name] = document
    for name, document in previous.items():
        if name not in out and document.get("schemaVersion", 1) < PROVIDER_SCHEMA_VERSION:
            out[name] = _upgraded(document)
    return out


def _upgraded(document: dict[str, Any]) -> dict[str, Any]:
    """A version-1 list read as version 2 (``ProviderCatalog`` fills what 1 lacks)."""
    if document.get("schemaVersion", 1) >= NATIVE_SCHEMA_VERSION:
        return document
    typed = ProviderCatalog.model_validate(document)
    upgraded: dict[str, Any] = json.loads(
        jsonio.dump_model(typed.model_copy(update={"schema_version": NATIVE_SCHEMA_VERSION})),
        parse_float=Decimal,
    )
    return upgraded


class _ListWriter:
    """Writes the merged lists on one background thread, in order, while the next ones are
    merged: a write waits on the disk (or S3) for most of its time, with the GIL released.
    The first failure stops the writing (no list after it is written, as when each was
    written in turn) and is raised by the next ``put`` or by ``wait``."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="provider-lists")
        self._failed: list[BaseException] = []

    def _write(self, key: str, data: bytes) -> None:
        if self._failed:
            return
        try:
            self._store.put(key, data)
        except BaseException as exc:
            self._failed.append(exc)
            raise

    def put(self, key: str, data: bytes) -> None:
        self._raise_failure()
        self._pool.submit(self._write, key, data)

    def wait(self) -> None:
        """Every list written; the first failure raised."""
        self._pool.shutdown(wait=True)
        self._raise_failure()

    def stop(self) -> None:
        """The merge failed: what is queued (lists merged before the failure, which a merge
        writing each in turn would have written too) is written before the failure is raised,
        and no write outlives the merge."""
        self._pool.shutdown(wait=True)

    def _raise_failure(self) -> None:
        if self._failed:
            raise self._failed[0]


def _meta_for(
    merged: MergedList,
    own: Mapping[str, Any] | None,
    snapshots: Mapping[str, Mapping[str, Any]],
    upstream: Mapping[str, set[str]],
    openrouter: tuple[str, ServedBy] | None,
) -> dict[str, Any]:
    """The document fields around the records: the own source's cache metadata, else the
    contributing catalogs'; and every contributor."""
    contributors: dict[str, dict[str, Any]] = {}
    if own is not None:
        contributors[own["source"]] = {
            "servedBy": own["servedBy"],
            "fetchedAt": own["fetchedAt"],
            "count": merged.counts.get(own["source"], 0),
        }
    if openrouter is not None and merged.counts.get(OPENROUTER):
        contributors[OPENROUTER] = {
            "servedBy": openrouter[1],
            "fetchedAt": openrouter[0],
            "count": merged.counts[OPENROUTER],
        }
    for source, snapshot in snapshots.items():
        if merged.counts.get(source):
            contributors[source] = {
                "servedBy": snapshot["servedBy"],
                "fetchedAt": snapshot["fetchedAt"],
                "count": merged.counts[source],
                "upstream": sorted(upstream.get(source, set())),
            }
    if own is not None:
        meta = {
            k: own[k]
            for k in ("sourceType", "fetchedAt", "ttlSeconds", "servedBy", "reason", "rawKey")
            if own.get(k) is not None
        }
        if own.get("dataAsOf"):
            meta["dataAsOf"] = own["dataAsOf"]
    else:
        used = [snapshots[s] for s in contributors if s in snapshots]
        stale = [s for s in used if s["servedBy"] != "api"]
        meta = {
            "sourceType": "independent",
            "fetchedAt": min((s["fetchedAt"] for s in used), default=""),
            "ttlSeconds": min((s["ttlSeconds"] for s in used), default=0),
            "servedBy": "stale" if stale else "api",
        }
        if stale:
            meta["reason"] = "; ".join(s.get("reason") or s["source"] for s in stale)
    names = (
        snapshots[s]["providers"].get(u)
        for s in contributors
        if s in snapshots
        for u in sorted(upstream.get(s, ()))
    )
    name = next((n for n in names if n), None)
    if name:
        meta["name"] = name
    if contributors:
        meta["contributors"] = contributors
    return meta


# A first merge builds ~8,000 records from ~6 MB of catalogs: with the collector on, its
# generation-2 passes rescanned all of them over and over (about a third of the merge).
@batch_gc
def merge_providers(
    store: Store,
    config: CatalogConfig,
    pconf: ProvidersConfig,
    *,
    now: datetime,
    run_id: str,
    results: Mapping[str, SourceResult],
    catalog: Callable[[], CurrentCatalog | None],
    index: Callable[[], OpenRouterIndex],
) -> MergeOutcome:
    """Merge and write every provider's list (see the module docstring)."""
    began = time.perf_counter()
    outcome = MergeOutcome()
    catalogs = catalog_sources(pconf)
    precedence = load_precedence(config, catalogs)
    field_keys: dict[str, Mapping[str, str]] = {}
    snapshots: dict[str, dict[str, Any]] = {}
    for name in catalogs:
        key = keys.catalog_current(name)
        snapshot = _read_valid(store, key, "catalog-current")
        if snapshot is not None:
            snapshots[name] = snapshot
            adapter = pconf.sources[name].kind.adapter
            if isinstance(adapter, CatalogAdapter):
                field_keys[name] = adapter.field_keys
    # Listed once for both: a local store's listing walks its whole tree.
    listed = store.list(f"{keys.PROVIDERS}/")
    previous = _previous_lists(store, listed)
    own_lists = _own_lists(store, pconf, previous, listed)
    by_provider: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, snapshot in snapshots.items():
        for entry in snapshot["entries"]:
            by_provider.setdefault(entry["provider"], {}).setdefault(name, []).append(entry)
    current = catalog()
    openrouter_meta: tuple[str, ServedBy] | None = None
    if current is not None:
        openrouter_meta = (
            current.data_as_of or current.generated_at,
            "stale" if current.degraded else "api",
        )
    settings = MergeSettings(
        now=now,
        precedence=precedence,
        catalog_order=tuple(catalogs),
        field_keys=field_keys,
        index=index() if current is not None else None,
        lifecycle=config.lifecycle,
        tiers=config.tiers,
    )
    tally = Tally()
    summaries: list[ProviderSummary] = []
    serving: dict[str, list[ProviderModelRef]] = {}
    events: list[HistoryEvent] = []
    stamp = iso(now)
    history_index = history_log.read_index(store, keys.PROVIDERS_HISTORY)
    live = {s: results.get(s, _NOT_RUN).tier in LIVE for s in snapshots}
    writer = _ListWriter(store)
    try:
        for provider in sorted(set(own_lists) | set(by_provider) | set(previous)):
            own = own_lists.get(provider)
            inst = pconf.sources.get(provider)
            before = previous.get(provider)
            if before is not None and before.get("schemaVersion", 1) < PROVIDER_SCHEMA_VERSION:
                before = _upgraded(before)
            inputs = ProviderInputs(
                provider=provider,
                own=own,
                own_live=own is not None and results.get(provider, _NOT_RUN).tier in LIVE,
                vendors=inst.vendors if inst is not None else (),
                catalogs=by_provider.get(provider, {}),
                catalog_live=live,
                catalog_fetched={s: str(snapshots[s]["fetchedAt"]) for s in snapshots},
                previous=before,
            )
            try:
                merged = merge_provider(inputs, settings, tally)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                # A list in the store that is not what this version wrote: that provider's list
                # stays as it is, the others are merged.
                outcome.failed.append(f"{provider}: not merged ({type(exc).__name__}: {exc})")
                continue
            used = {s: snapshots[s] for s in inputs.catalogs}
            upstream = {
                s: {e["upstream"] for e in entries} for s, entries in inputs.catalogs.items()
            }
            document: dict[str, Any] = {
                "schemaVersion": PROVIDER_SCHEMA_VERSION,
                "generatedAt": stamp,
                "runId": run_id,
                "source": provider,
                **_meta_for(merged, own, used, upstream, openrouter_meta),
                "count": len(merged.records),
                "provenance": merged.provenance,
                "models": merged.records,
            }
            document = {k: document[k] for k in DOCUMENT_KEYS if k in document}
            if before is None or _changed(before, document):
                data = publish.encode_plain("provider-current", document)
                writer.put(keys.provider_current(provider), data)
                outcome.written.append(provider)
            else:
                document = before
            prefix = f"{provider}/"
            if history_index is None and before is not None:
                events.extend(
                    track.published_baseline(
                        merged.previous,
                        at=before["generatedAt"],
                        run_id=before["runId"],
                        prefix=prefix,
                    )
                )
            events.extend(
                track.published_events(
                    merged.previous,
                    merged.records,
                    merged.removed,
                    at=stamp,
                    run_id=run_id,
                    prefix=prefix,
                )
            )
            outcome.removed += len(merged.removed)
            outcome.records += len(merged.records)
            summaries.append(_summary(provider, document))
            for model in document["models"]:
                for ref in model.get("sources") or ():
                    if ref["source"] == OPENROUTER:
                        found = ProviderModelRef(provider=provider, id=model["id"])
                        serving.setdefault(ref["nativeId"], []).append(found)
    except BaseException:
        writer.stop()
        raise
    writer.wait()
    outcome.providers = len(summaries)
    index_document = ProvidersIndex(
        generated_at=stamp,
        run_id=run_id,
        count=len(summaries),
        models=outcome.records,
        providers=summaries,
        serving={k: serving[k] for k in sorted(serving)},
    )
    # The history and the index name the lists just written, not each other: the history is
    # written by a writer thread while the index is built and written here.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="merge-write") as history_writer:
        history_written = history_writer.submit(
            _write_history, store, events, run_id, stamp, history_index
        )
        data = publish.encode("providers-index", index_document)
        published_index = _read(store, keys.PROVIDERS_INDEX)
        # Parsed back only to compare with one published before (a first merge has none).
        if published_index is None or _changed(
            published_index, json.loads(data, parse_float=Decimal)
        ):
            store.put(keys.PROVIDERS_INDEX, data)
        history_written.result()
    outcome.events = len(events)
    outcome.crosscheck = tally.summary()
    outcome.elapsed_ms = (time.perf_counter() - began) * 1000
    return outcome


def _write_history(
    store: Store,
    events: list[HistoryEvent],
    run_id: str,
    stamp: str,
    index: HistoryIndex | None,
) -> None:
    """Append the run's events to the providers' history (its segments, then its index)."""
    history = history_log.append(
        store,
        events,
        run_id=run_id,
        generated_at=stamp,
        index=index,
        segment_key=keys.providers_history_segment,
    )
    if history is not None:
        store.put(keys.PROVIDERS_HISTORY, history)


_NOT_RUN = SourceResult("-", "skipped")


DOCUMENT_KEYS = [
    info.serialization_alias or info.alias or name
    for name, info in ProviderCatalog.model_fields.items()
]


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether a list differs from the published one in more than when and by which run it
    was written."""
    ignored = ("generatedAt", "runId")
    return {k: v for k, v in before.items() if k not in ignored} != {
        k: v for k, v in after.items() if k not in ignored
    }


def _summary(provider: str, document: Mapping[str, Any]) -> ProviderSummary:
    states: dict[str, int] = {}
    for record in document["models"]:
        state = record["lifecycle"]["state"]
        states[state] = states.get(state, 0) + 1
    return ProviderSummary(
        provider=provider,
        name=document.get("name"),
        key=keys.provider_current(provider),
        count=document["count"],
        states=dict(sorted(states.items())),
        source_type=document["sourceType"],
        sources=list(document.get("contributors") or {}),
        served_by=document["servedBy"],
        data_as_of=document.get("dataAsOf") or document["fetchedAt"],
    )


__all__ = ["MergeOutcome", "catalog_sources", "merge_providers"]
