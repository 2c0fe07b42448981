"""The registry: one loaded, indexed published set, queried in memory and swapped atomically.

A ``Snapshot`` is immutable once built; ``Registry`` holds the current one and replaces the
reference in one assignment on a successful refresh, so readers on other threads see the old
set or the new set, never a mix. A refresh that fails (store unreadable, invalid or incomplete
set) keeps the old snapshot and records the error.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import (
    Callable,
    Collection,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast, overload

from pipeline.publishing.store import Store, open_store
from pipeline.registry.cost import CostEstimate, estimate_cost
from pipeline.registry.filters import (
    BUCKETS,
    CAPABILITIES,
    STATES,
    TIERS,
    RegistryError,
    state_of,
    values_of,
)
from pipeline.registry.loader import (
    INDEX_MIN_MODELS,
    CatalogSet,
    PollToken,
    load_set,
    poll,
    read_json,
)
from pipeline.registry.providers import ProviderLists, ProviderNotFound, filter_models
from pipeline.registry.search import SearchIndex, Selection, select
from pipeline.resolve import CatalogIndex, Resolution, ranks_from_curated, resolve
from pipeline.timeutil import parse_iso

if TYPE_CHECKING:  # the history is read on first use: its module is not paid for at import
    import logging

    from pipeline.history.query import History, PriceAt


def log() -> logging.Logger:
    """The reader's logger. ``logging`` is imported when the reader first logs (a load, a
    failed refresh), not with the library: a fifth of its import time (issue 29)."""
    import logging

    return logging.getLogger("pipeline.registry")


T = TypeVar("T")

MEMO_LIMIT = 2048
"""Derived values (serialized bodies, query results) kept per snapshot, least recent dropped."""
MEMO_BYTES = 64 * 1024 * 1024
"""…and at most this many bytes of them (issue 12): entries are keyed by what clients send
(filters, free text), so a count alone let 2,048 one-megabyte pages take 1.8 GB."""


def approx_size(value: Any) -> int:
    """Bytes a memoized ``value`` (or its key) keeps alive beyond what the snapshot holds.

    Serialized bodies count their bytes; a tuple is a record (``(bytes, etag)``, a status and
    a body, a key of strings) and counts each of its items, so a page memoized with its ETag
    counts the page (issue 27: such a pair once counted 80 bytes); lists of models count
    their pointers (the models belong to the snapshot); anything else its shallow size.
    """
    data = getattr(value, "data", None)
    if isinstance(data, bytes | bytearray):
        return len(data) + 512
    if isinstance(value, bytes | bytearray | str):
        return len(value) + 64
    if isinstance(value, tuple):
        return 64 + sum(8 + approx_size(item) for item in value)
    if isinstance(value, dict):
        return 64 + 16 * len(value)
    if isinstance(value, list | set | frozenset):
        return 64 + 8 * len(value)
    return sys.getsizeof(value)


class CatalogUnavailable(RegistryError):
    """No published set could be loaded (yet)."""


class ModelNotFound(RegistryError, KeyError):
    """No model matches the reference."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "model not found"


class Snapshot:
    """One published set with its indexes. Immutable after construction (apart from memo)."""

    def __init__(self, catalog: CatalogSet, loaded_at: float) -> None:
        self.set = catalog
        self.loaded_at = loaded_at
        curated = catalog.curated or {}
        # Same-family fallback ranks by the published curation (every scored model).
        ranks = ranks_from_curated(curated)
        self.models: Sequence[dict[str, Any]]
        compact = catalog.compact
        if compact is None:
            self.index = CatalogIndex(catalog.current, catalog.deprecations, ranks)
            self.models = sorted(self.index.models.values(), key=lambda m: str(m["id"]))
        else:
            # Loaded through the compact index (compact.py): the lookups come from it, and
            # each record is parsed from current.json when first read.
            self.index = CatalogIndex({}, catalog.deprecations, ranks)
            self.index.models = compact.records
            self.index.by_alias = compact.by_alias
            self.index.native_ids = compact.native_ids
            self.models = compact.models
        self._parsed: Mapping[str, dict[str, Any]] = (
            self.index.models if compact is None else compact.records.parsed
        )
        """The records already parsed (all of them without a compact index): ``get``'s one
        plain-dict lookup."""
        self.curated_models: dict[str, dict[str, Any]] = {
            str(m["id"]): m for m in curated.get("models", []) if isinstance(m, dict) and "id" in m
        }
        self.buckets: dict[str, list[dict[str, Any]]] = {
            str(name): [e for e in entries if isinstance(e, dict) and "id" in e]
            for name, entries in (curated.get("buckets") or {}).items()
            if isinstance(entries, list)
        }
        self.core_entries: list[dict[str, Any]] = [
            e for e in curated.get("core") or [] if isinstance(e, dict) and "id" in e
        ]
        # (bucket, id) of every core model pinned ahead of rank order in a bucket.
        self.pins: set[tuple[str, str]] = {
            (str(bucket), str(e["id"]))
            for e in self.core_entries
            for bucket in e.get("pinned") or []
        }
        self.state_counts: dict[str, int] = {}
        if compact is not None:
            self.state_counts = compact.state_counts()  # from the state bitsets
        else:
            for model in self.models:
                state = state_of(model)
                self.state_counts[state] = self.state_counts.get(state, 0) + 1
        self._memo: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._memo_bytes = 0
        self._memo_lock = threading.Lock()
        self.history: History | None = None
        """Loaded on first use by ``Registry.history()``."""
        self._search_index: SearchIndex | None = None
        self._index_lock = threading.Lock()

    @property
    def version(self) -> str:
        return self.set.version

    @property
    def run_id(self) -> str:
        return self.set.run_id

    @property
    def generated_at(self) -> str:
        return self.set.generated_at

    @property
    def data_as_of(self) -> str:
        return self.set.data_as_of

    def age_seconds(self, now: float) -> float | None:
        """Seconds since the catalog's data was observed upstream (its ``dataAsOf``), not
        since it was published: an embedded or replayed catalog is as old as its data."""
        try:
            return max(0.0, now - parse_iso(self.data_as_of).timestamp())
        except ValueError:
            return None

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """``build()`` once per snapshot and key (bounded: the oldest entries are dropped).

        The hit path is one dict lookup without a lock: this is every cached HTTP answer."""
        hit = self._memo.get(key)
        if hit is not None:
            return cast(T, hit[0])
        value = build()
        # Counted once, when kept: the same figure comes off when it is dropped, whatever the
        # value grew meanwhile (a body's gzip variant).
        size = approx_size(value) + approx_size(key)
        if size > MEMO_BYTES:
            return value  # bigger than the whole budget: answered, not kept
        with self._memo_lock:
            previous = self._memo.pop(key, None)
            if previous is not None:
                self._memo_bytes -= previous[1]
            self._memo[key] = (value, size)
            self._memo_bytes += size
            while len(self._memo) > MEMO_LIMIT or self._memo_bytes > MEMO_BYTES:
                _, (_, dropped) = self._memo.popitem(last=False)
                self._memo_bytes -= dropped
        return value

    # -- queries ---------------------------------------------------------------------------

    def get(self, ref: str) -> dict[str, Any] | None:
        """The current model with this exact id or alias, or None."""
        model = self._parsed.get(ref)
        if model is None:
            model = self.index.models.get(ref)
            if model is None and ref in self.index.by_alias:
                model = self.index.models[self.index.by_alias[ref]]
        return model

    def resolve(self, ref: str) -> Resolution:
        return resolve(ref, self.index)

    def resolved(self, ref: str) -> dict[str, Any] | None:
        """The model ``resolve(ref)`` reaches, or None. A current id or alias that no redirect
        sends on (every active model's) is answered from the dicts without building the
        resolution's hops: ``Registry.cost`` of a listed model pays two lookups."""
        index = self.index
        model = index.models.get(ref)
        if model is None:
            model_id = index.by_alias.get(ref)
            model = None if model_id is None else index.models[model_id]
        if model is not None and (
            model["id"] not in index.redirects or state_of(model) == "active"
        ):
            return model
        return resolve(ref, index).model

    def warm(self) -> int:
        """Parse every record not parsed yet (a set loaded through the compact index parses a
        record when first read); the number parsed. A server warms a new set in the
        background, so the first wide query (a table sorted by price) does not pay for it."""
        compact = self.set.compact
        if compact is None:
            return 0
        records = compact.records
        before = len(records.parsed)
        with gc_paused():
            for i in range(len(records)):
                records.at(i)
        return len(records.parsed) - before

    def search_index(self) -> SearchIndex:
        """The search indexes of this set, built on the first search (once: a lock)."""
        index = self._search_index
        if index is None:
            with self._index_lock:
                if self._search_index is None:
                    compact = self.set.compact
                    self._search_index = SearchIndex(
                        self.models,
                        self.buckets,
                        compact.columns if compact else None,
                        compact.records.ids if compact else None,
                        compact.records.slots if compact else None,
                    )
                index = self._search_index
        return index

    def select(
        self,
        *,
        capability: str | Iterable[str] | None = None,
        tier: str | Iterable[str] | None = None,
        bucket: str | None = None,
        state: str | Iterable[str] | None = None,
        provider: str | None = None,
        q: str | None = None,
        served_by: str | None = None,
        max_offer_price: float | None = None,
        quantization: str | None = None,
        open_weights: bool | None = None,
        knowledge_cutoff_after: str | None = None,
        kind: str | Iterable[str] | None = None,
        served: Collection[str] = (),
    ) -> Selection:
        """The models meeting the filters of ``search``, read page by page (``Selection``)."""
        return select(
            self.search_index(),
            capability=capability,
            tier=tier,
            bucket=bucket,
            state=state,
            provider=provider,
            q=q,
            served_by=served_by,
            max_offer_price=max_offer_price,
            quantization=quantization,
            open_weights=open_weights,
            knowledge_cutoff_after=knowledge_cutoff_after,
            kind=kind,
            served=served,
        )

    def search(
        self,
        *,
        capability: str | Iterable[str] | None = None,
        tier: str | Iterable[str] | None = None,
        bucket: str | None = None,
        state: str | Iterable[str] | None = None,
        provider: str | None = None,
        q: str | None = None,
        served_by: str | None = None,
        max_offer_price: float | None = None,
        quantization: str | None = None,
        open_weights: bool | None = None,
        knowledge_cutoff_after: str | None = None,
        kind: str | Iterable[str] | None = None,
        served: Collection[str] = (),
        after: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """See ``Registry.search``; ``served``: ids the ``provider`` serves per its list."""
        found = self.select(
            capability=capability,
            tier=tier,
            bucket=bucket,
            state=state,
            provider=provider,
            q=q,
            served_by=served_by,
            max_offer_price=max_offer_price,
            quantization=quantization,
            open_weights=open_weights,
            knowledge_cutoff_after=knowledge_cutoff_after,
            kind=kind,
            served=served,
        )
        return found.page(after, limit)

    def core(self, specialty: str | None = None) -> list[dict[str, Any]]:
        """The curated core in its published order (only ``specialty`` when given), each
        entry with the model's current record under ``model``."""
        wanted = specialty.strip() if specialty else None
        return [
            {**entry, "model": self.index.models.get(str(entry["id"]))}
            for entry in self.core_entries
            if wanted is None or entry.get("specialty") == wanted
        ]

    @overload
    def curated(self, bucket: None = None) -> dict[str, list[dict[str, Any]]]: ...
    @overload
    def curated(self, bucket: str) -> list[dict[str, Any]]: ...

    def curated(
        self, bucket: str | None = None
    ) -> dict[str, list[dict[str, Any]]] | list[dict[str, Any]]:
        """``bucket``'s curated entries (id, alias, rank, scores, the model's record, and
        ``pinned``: a core model placed ahead of rank order); without a bucket, every bucket →
        its entries."""
        if bucket is not None:
            values_of("bucket", bucket, BUCKETS)
            return self._bucket(bucket)
        return {name: self._bucket(name) for name in self.buckets}

    def _bucket(self, name: str) -> list[dict[str, Any]]:
        entries = []
        for entry in self.buckets.get(name, []):
            detail = self.curated_models.get(str(entry["id"]), {})
            entries.append(
                {
                    "id": entry["id"],
                    "alias": entry.get("alias") or detail.get("alias"),
                    "rank": detail.get("rank"),
                    "scores": detail.get("scores", {}),
                    "pinned": (name, str(entry["id"])) in self.pins,
                    "model": self.index.models.get(str(entry["id"])),
                }
            )
        return entries

    def close_matches(self, ref: str, limit: int = 5) -> list[str]:
        """Ids and aliases that look like ``ref`` (for a helpful 404)."""
        from pipeline.resolve import close_matches

        def build() -> list[str]:
            return sorted({*self.index.models, *self.index.by_alias})

        return close_matches(ref, self.memo(("close-match-names",), build), limit)


class RefreshResult(NamedTuple):
    """What one refresh did."""

    changed: bool
    """True when a new set was swapped in."""
    version: str | None
    """The version served after the refresh."""
    error: str | None = None
    """Why the store's set was not loaded (the old one is still served)."""


class Registry:
    """The published catalog in memory: ``Registry.open(store)``, then query; ``refresh()``
    to pick up a newer set."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        index_min_models: int = INDEX_MIN_MODELS,
        warm: bool = False,
    ) -> None:
        self.store = store
        self.clock = clock
        self.index_min_models = index_min_models
        """The smallest local catalog whose compact index this reader writes (compact.py)."""
        self.warm = warm
        """Parse the records of a set loaded through the compact index on a background thread
        after the swap (``Snapshot.warm``): what a long-running server wants; a CLI command
        or a gateway that looks up a few models does not."""
        self._snapshot: Snapshot | None = None
        self._refresh_lock = threading.Lock()
        self._token: PollToken | None = None
        """The poll token the served set was loaded under."""
        self._failed_token: PollToken | None = None
        self.error: str | None = None
        """The current problem with the store's set (None once a poll succeeds again)."""
        self.last_failure: tuple[float, str] | None = None
        """(when, message) of the most recent failed refresh, kept after recovery."""
        self.last_refresh_at: float | None = None
        self.refreshes = 0
        self.failures = 0
        self.swaps = 0
        self._history_lock = threading.Lock()
        self.listeners: list[Callable[[Snapshot], None]] = []
        """Called on the refreshing thread after each swap with the new snapshot, so overlays
        (runtime availability) catch up there instead of on a request thread."""
        self.provider_lists = ProviderLists(store)
        """The published provider lists (issue 30), read on first use."""
        self._serves: tuple[str, dict[str, frozenset[str]]] = ("", {})
        self._provider_history: tuple[str, History] | None = None

    @classmethod
    def open(
        cls,
        store: str | Store | None,
        *,
        clock: Callable[[], float] = time.time,
        index_min_models: int = INDEX_MIN_MODELS,
    ) -> Registry:
        """Load the published set from ``store`` (a URI or a Store); raise CatalogUnavailable
        when there is none or it is invalid. ``index_min_models``: see ``__init__``."""
        registry = cls(
            open_store(store) if store is None or isinstance(store, str) else store,
            index_min_models=index_min_models,
        )
        registry.clock = clock
        result = registry.refresh()
        if registry._snapshot is None:
            raise CatalogUnavailable(result.error or f"no catalog in {registry.store.uri}")
        return registry

    # -- state -----------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._snapshot is not None

    @property
    def snapshot(self) -> Snapshot:
        """The set being served; raises CatalogUnavailable before the first successful load."""
        snapshot = self._snapshot
        if snapshot is None:
            raise CatalogUnavailable(self.error or f"no catalog loaded from {self.store.uri}")
        return snapshot

    def refresh(self) -> RefreshResult:
        """Poll the store cheaply; load and swap in a changed set when it is complete and valid.

        Never raises: a failure keeps the served set and is recorded in ``error``.
        """
        with self._refresh_lock:
            self.refreshes += 1
            self.last_refresh_at = self.clock()
            current = self._snapshot
            try:
                token = poll(self.store)
                if current is not None and token == self._token:
                    self.error = None
                    return RefreshResult(False, current.version)
                if token == self._failed_token:
                    return RefreshResult(False, current.version if current else None, self.error)
                with gc_paused():
                    catalog = load_set(self.store, token, index_min_models=self.index_min_models)
            except Exception as exc:  # a reader never dies of a bad store; it reports
                return self._fail(str(exc) or type(exc).__name__, token=None)
            if current is not None and catalog.version == current.version:
                # Same bytes under a new marker (rewritten, touched): keep the built indexes.
                self._token = token
                self.error = None
                self._failed_token = None
                return RefreshResult(False, current.version)
            try:
                with gc_paused():
                    snapshot = Snapshot(catalog, self.clock())
            except Exception as exc:
                return self._fail(f"cannot index the set: {exc}", token=token)
            self._snapshot = snapshot
            self._token = token
            self.error = None
            self._failed_token = None
            self.swaps += 1
            if catalog.pending_index is not None:
                self._write_index(catalog, snapshot)
            if self.warm and catalog.compact is not None:
                threading.Thread(
                    target=_warm, args=(snapshot,), name="catalog-warm", daemon=True
                ).start()
            log().info(
                "catalog loaded",
                extra={"run_id": snapshot.run_id, "version": snapshot.version},
            )
            for listener in list(self.listeners):
                try:
                    listener(snapshot)
                except Exception:  # an overlay's failure never fails the refresh
                    log().exception("catalog listener failed")
            return RefreshResult(True, snapshot.version)

    def _write_index(self, catalog: CatalogSet, snapshot: Snapshot) -> None:
        """Write the compact index of the large catalog just loaded in full beside its JSON,
        so the next load (a restart, a CLI command) reads it instead; a failure (read-only
        store, full disk) only costs the next load its speed."""
        from pipeline.registry import compact

        pending = catalog.pending_index
        assert pending is not None
        try:
            with gc_paused():
                compact.write(self.store, pending, snapshot)
        except Exception as exc:
            log().info("compact index not written", extra={"error": str(exc)})
        finally:
            pending.release()

    def _fail(self, message: str, *, token: PollToken | None) -> RefreshResult:
        self.error = message
        self.last_failure = (self.clock(), message)
        self.failures += 1
        self._failed_token = token
        current = self._snapshot
        if current is not None:
            log().warning(
                "catalog refresh failed; serving the previous set", extra={"error": message}
            )
        elif self.refreshes > 1:
            log().warning("catalog load failed; nothing served yet", extra={"error": message})
        else:
            # The first load: the caller says it (Registry.open raises it, `catalog serve`
            # warns that it starts without a catalog).
            log().debug("catalog load failed", extra={"error": message})
        return RefreshResult(False, current.version if current else None, message)

    def state(self) -> dict[str, Any]:
        """The reader's own state, for admin status."""
        snapshot = self._snapshot
        now = self.clock()
        failure = self.last_failure
        return {
            "store": self.store.uri,
            "loaded": snapshot is not None,
            "runId": snapshot.run_id if snapshot else None,
            "version": snapshot.version if snapshot else None,
            "generatedAt": snapshot.generated_at if snapshot else None,
            "dataAsOf": snapshot.data_as_of if snapshot else None,
            "ageSeconds": snapshot.age_seconds(now) if snapshot else None,
            "loadedAt": _iso(snapshot.loaded_at) if snapshot else None,
            "viaManifest": bool(snapshot and snapshot.set.manifest is not None),
            "models": len(snapshot.models) if snapshot else 0,
            "lastRefreshAt": _iso(self.last_refresh_at),
            "error": self.error,
            "lastRefreshError": (
                {"at": _iso(failure[0]), "message": failure[1]} if failure else None
            ),
            "refreshes": self.refreshes,
            "failures": self.failures,
            "swaps": self.swaps,
        }

    def read_document(self, key: str) -> Any | None:
        """A published JSON document by key (status.json, run reports), or None."""
        return read_json(self.store, key)

    # -- queries (on the set being served) -------------------------------------------------

    def get(self, ref: str) -> dict[str, Any] | None:
        """The current model with this exact id or alias, or None."""
        return self.snapshot.get(ref)

    def resolve(self, ref: str) -> Resolution:
        """Resolve an id, alias, old id or old alias, with hops and a notice (DESIGN.md §5)."""
        return self.snapshot.resolve(ref)

    def search(
        self,
        *,
        capability: str | Iterable[str] | None = None,
        tier: str | Iterable[str] | None = None,
        bucket: str | None = None,
        state: str | Iterable[str] | None = None,
        provider: str | None = None,
        q: str | None = None,
        served_by: str | None = None,
        max_offer_price: float | None = None,
        quantization: str | None = None,
        open_weights: bool | None = None,
        knowledge_cutoff_after: str | None = None,
        kind: str | Iterable[str] | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Models matching every given filter, sorted by id. ``capability``: vision, tools,
        reasoning, structured-output, image-gen, free (several = all of them); ``tier``: price
        tier (several = any of them, as for ``state`` and ``kind``); ``kind``: chat, image,
        embedding, video, speech, transcription, rerank, router; ``bucket``: curated bucket;
        ``state``: lifecycle state; ``provider``: provider or
        family (vendor prefix); ``q``: substring of id, alias or name; ``open_weights``: True
        for models whose weights the feed names (``openWeights``), False for the others;
        ``knowledge_cutoff_after``: a date (YYYY-MM-DD or YYYY-MM), models whose training
        cutoff is later (models without a stated cutoff never match). Offer filters (one offer
        must meet all given): ``served_by`` provider name or tag, ``max_offer_price`` USD per
        1M input tokens, ``quantization`` (see ``offer_filter``). ``provider`` also matches a
        model that provider serves per its published list (issue 30). Paged: at most
        ``limit`` models, those after the id ``after`` (the last id of the previous page). The
        filters are answered from indexes built on the first search of a set
        (``registry/search.py``)."""
        return self.snapshot.search(
            capability=capability,
            tier=tier,
            bucket=bucket,
            state=state,
            provider=provider,
            q=q,
            served_by=served_by,
            max_offer_price=max_offer_price,
            quantization=quantization,
            open_weights=open_weights,
            knowledge_cutoff_after=knowledge_cutoff_after,
            kind=kind,
            served=self.serves(provider) if provider else (),
            after=after,
            limit=limit,
        )

    # -- provider lists (issue 30) -----------------------------------------------------------

    def providers(self, *, q: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
        """Every provider with a published list (name, display name, counts by state, the
        sources merged into it, when its data was observed), sorted by name. ``q``: substring
        of the name or display name; ``source``: only lists that source contributes to."""
        needle = q.strip().lower() if q else None
        out = []
        for entry in self.provider_lists.summaries():
            if needle and not any(
                needle in str(entry.get(k) or "").lower() for k in ("provider", "name")
            ):
                continue
            if source and source not in (entry.get("sources") or ()):
                continue
            out.append(entry)
        return out

    def provider(self, name: str) -> dict[str, Any]:
        """A provider's merged list as published; ProviderNotFound names close names."""
        return self.provider_lists.document(name)

    def provider_models(
        self,
        provider: str,
        *,
        capability: str | Iterable[str] | None = None,
        tier: str | Iterable[str] | None = None,
        state: str | Iterable[str] | None = None,
        q: str | None = None,
        source: str | None = None,
    ) -> list[dict[str, Any]]:
        """The records of ``provider``'s list meeting every given filter (as ``search``;
        ``state`` also takes ``stale`` and ``deprecated``; ``source``: a source that lists the
        model). A flag the list does not state (absent: unknown) never meets a capability."""
        document = self.provider(provider)
        capabilities = values_of("capability", capability, CAPABILITIES)
        checks = [CAPABILITIES[c] for c in sorted(capabilities)]
        found = filter_models(
            document.get("models") or [],
            capability=(lambda m: all(c(m) for c in checks)) if checks else None,
            tiers=values_of("tier", tier, TIERS),
            states=values_of("state", state, STATES),
            q=q,
            source=source,
        )
        return [dict(m) for m in found]

    def serves(self, provider: str) -> frozenset[str]:
        """OpenRouter ids of the catalog's models ``provider`` serves (per its list)."""
        version = self.provider_lists.version
        if self._serves[0] != version or not version:
            by_provider: dict[str, set[str]] = {}
            index = self.provider_lists.index() or {}
            for model_id, refs in (index.get("serving") or {}).items():
                for ref in refs:
                    by_provider.setdefault(str(ref["provider"]), set()).add(model_id)
            self._serves = (version, {k: frozenset(v) for k, v in by_provider.items()})
        return self._serves[1].get(provider.strip().lower(), frozenset())

    def model_providers(self, ref: str) -> list[dict[str, Any]]:
        """Every provider that serves the catalog's model ``ref``: per provider its record
        there and where each of its values comes from (``provenance``), by provider name."""
        model = self.get(ref)
        if model is None:
            resolution = self.resolve(ref)
            if resolution.model is None:
                raise ModelNotFound(f"no model matches {ref!r}")
            model = resolution.model
        out = []
        for provider, model_id in self.provider_lists.serving(str(model["id"])):
            try:
                document = self.provider(provider)
            except ProviderNotFound:
                continue
            record = next((m for m in document.get("models") or [] if m["id"] == model_id), None)
            if record is not None:
                out.append(
                    {
                        "provider": provider,
                        "name": document.get("name"),
                        "record": record,
                        "provenance": (document.get("provenance") or {}).get(model_id, {}),
                    }
                )
        return out

    def core(self, specialty: str | None = None) -> list[dict[str, Any]]:
        """The curated core (``curated.json`` ``core``): hand-maintained specialty, concise
        alias, summary, help and safe defaults with each model's rank, scores and record;
        empty when the published set has no core."""
        return self.snapshot.core(specialty)

    @overload
    def curated(self, bucket: None = None) -> dict[str, list[dict[str, Any]]]: ...
    @overload
    def curated(self, bucket: str) -> list[dict[str, Any]]: ...

    def curated(
        self, bucket: str | None = None
    ) -> dict[str, list[dict[str, Any]]] | list[dict[str, Any]]:
        """``curated("coding")``: that bucket's entries (id, alias, rank, scores, record), in
        the published order: the core models pinned to it first (``pinned: true``), then the
        others best rank first; ``curated()``: every bucket → its entries."""
        if bucket is None:
            return self.snapshot.curated()
        return self.snapshot.curated(bucket)

    def cost(
        self,
        model: str | Mapping[str, Any],
        input: int,
        output: int = 0,
        cached: int = 0,
        *,
        at: datetime.time | datetime.datetime | str | None = None,
    ) -> CostEstimate:
        """USD for a call to ``model`` (a ref or a record) at ``at`` (UTC time of day: a
        ``time``, a ``datetime`` or ``"HH:MM"``; applies time-of-day price windows). Without
        ``at`` a model with such windows is priced at its base price and the estimate's
        ``notes`` say so; see ``estimate_cost``."""
        if isinstance(model, str):
            found = self.snapshot.resolved(model)
            if found is None:
                raise ModelNotFound(f"no model matches {model!r}")
            record: Mapping[str, Any] = found
        else:
            record = model
        return estimate_cost(record, input, output, cached, at=at)

    # -- history (issue 19) ------------------------------------------------------------------

    def history(self) -> History:
        """The published history of the set being served (segments read on first use)."""
        snapshot = self.snapshot
        with self._history_lock:
            if snapshot.history is None:
                from pipeline.history.query import History

                snapshot.history = History.load(
                    snapshot.set.history, self._read_bytes, f"{self.store.uri}/"
                )
            return snapshot.history

    def _read_bytes(self, key: str) -> bytes | None:
        blob = self.store.get(key)
        return None if blob is None else blob.data

    def provider_history(self) -> History:
        """The provider lists' history (``models/providers/history.json``; events keyed
        ``<provider>/<model id>``), read again when the lists change."""
        from pipeline.history.query import History

        version = self.provider_lists.version
        with self._history_lock:
            if self._provider_history is None or self._provider_history[0] != version:
                from pipeline.publishing import keys

                index = read_json(self.store, keys.PROVIDERS_HISTORY)
                loaded = (
                    History.load(index, self._read_bytes, f"{self.store.uri}/")
                    if index
                    else History.empty()
                )
                self._provider_history = (version, loaded)
            return self._provider_history[1]

    def history_id(self, ref: str) -> str:
        """The model id a history question is about: an id the history knows (removed ones
        included), else what ``ref`` resolves to as an id or alias."""
        if self.history().known(ref):
            return ref
        model = self.get(ref)
        if model is None:
            resolution = self.resolve(ref)
            if resolution.model is None or not resolution.exact:
                raise ModelNotFound(f"no model {ref!r} in the catalog or its history")
            model = resolution.model
        return str(model["id"])

    def timeline(self, ref: str) -> list[dict[str, Any]]:
        """Every recorded change of one model, oldest first."""
        return self.history().timeline(self.history_id(ref))

    def price_at(self, ref: str, when: str) -> PriceAt | None:
        """The model's prices at ``when`` (a date = the end of that UTC day, or a UTC time),
        with the span they held; None when it had no record then."""
        return self.history().price_at(self.history_id(ref), when)

    def changes(
        self,
        since: str | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
        provider: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Changes observed after ``since`` (a date, a UTC time or a run id), oldest first;
        with ``provider``, the changes of that provider's list (ids ``<provider>/<model id>``,
        from the provider lists' history)."""
        if provider is None:
            return self.history().changes(since, offset=offset, limit=limit)
        prefix = f"{provider.strip().lower()}/"
        found, _ = self.provider_history().changes(since)
        mine = [e for e in found if str(e.get("id", "")).startswith(prefix)]
        end = len(mine) if limit is None else offset + limit
        return mine[offset:end], len(mine)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a set is parsed and indexed (and while the
    availability overlay re-keys its registrations against a new one).

    Parsing creates millions of small acyclic objects; each automatic generation-2 collection
    rescans all of them, which made loading a 100k-model catalog about three times slower
    (3.8 s → 1.3 s for json.loads alone). Reference counting still frees everything; the
    collector resumes afterwards (and stays on if something else had paused it).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _warm(snapshot: Snapshot) -> None:
    try:
        snapshot.warm()
    except Exception as exc:  # a record the index misplaces: its lookup says so, not this
        log().warning("catalog warm-up stopped", extra={"error": str(exc)})


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))
