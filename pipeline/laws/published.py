"""A published set as the laws read it, and the raw records its evidence cites.

``read_set`` reads one from a store: OpenRouter's catalog and deprecations, every provider list
(unreadable ones are skipped, as the OpenRouter sync skips them), and lazily the raw snapshots.
A sync hands in the set it is about to publish instead (``PublishedSet`` built directly).
Raw snapshots are looked up by key and parsed once each:

- OpenRouter: the record of a listed model is in the catalog's ``rawKey``; a carried (missing)
  model's in the snapshot of the hour it was last seen (``lifecycle.lastSeen``);
- a provider list: its own ``rawKey``, parsed by the source type's adapter;
- an independent catalog a merged list cites (``modelsdev:<key>``, ``litellm:<key>``,
  ``genai-prices:<key>``): the file its ``models/catalogs/<source>/current.json`` was read from
  (``rawKey``), each entry under the key the catalog's adapter gives it.

A snapshot the store does not hold (the embedded catalog has none, an operator pruned it)
cannot be checked against: the laws then check the evidence's form only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ijson
import simplejson
from pydantic import BaseModel, ValidationError

from pipeline.publishing import keys
from pipeline.publishing.store import Store, StoreError
from pipeline.records.catalog import CurrentCatalog, Deprecations, ProviderCatalog
from pipeline.records.model import ModelRecord
from pipeline.records.payloads import PayloadError
from pipeline.timeutil import parse_iso

log = logging.getLogger("pipeline.laws")

NOT_HELD = object()
"""``RawRecords`` answer for a snapshot the store does not hold (nothing to check against)."""


@dataclass
class Listing:
    """One published list: OpenRouter's catalog or a provider's list."""

    source: str
    source_type: str
    models: Sequence[ModelRecord]
    provenance: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Provider lists: model id → field → origin (``ProviderCatalog.provenance``)."""
    raw_key: str | None = None
    served_by: str = "api"

    @property
    def is_openrouter(self) -> bool:
        return self.source == "openrouter"


class RawRecords:
    """Raw records by snapshot key, each snapshot read and parsed once (``get``)."""

    def __init__(
        self, fetch: Callable[[str], bytes | None], loaded: Mapping[str, bytes] | None = None
    ) -> None:
        self._fetch = fetch
        self._loaded = dict(loaded or {})
        self._parsed: dict[tuple[str, str], Mapping[str, Any] | None] = {}

    @classmethod
    def of(cls, store: Store, loaded: Mapping[str, bytes] | None = None) -> RawRecords:
        def fetch(key: str) -> bytes | None:
            try:
                blob = store.get(key)
            except StoreError as exc:
                log.warning("raw snapshot unreadable", extra={"key": key, "error": str(exc)})
                return None
            return blob.data if blob is not None else None

        return cls(fetch, loaded)

    def preload(self, key: str, data: bytes) -> None:
        """Read the snapshot at ``key`` from ``data`` (a run's payload, not yet stored)."""
        self._loaded[key] = data

    def preload_records(self, key: str, source_type: str, records: Mapping[str, Any]) -> None:
        """Take the records of the snapshot at ``key`` as already read (a sync reads its
        payload once, for normalize and the laws): native id → raw record, as ``get`` reads."""
        self._parsed[(key, source_type)] = records

    def get(self, key: str | None, source_type: str, model_id: str) -> Any:
        """The raw record of ``model_id`` in the snapshot at ``key`` (``None`` when the
        snapshot does not have it), or ``NOT_HELD`` when there is no snapshot to read."""
        if key is None:
            return NOT_HELD
        if (key, source_type) not in self._parsed:
            data = self._loaded.get(key)
            data = data if data is not None else self._fetch(key)
            self._parsed[(key, source_type)] = None if data is None else _records(data, source_type)
        records = self._parsed[(key, source_type)]
        if records is None:
            return NOT_HELD
        return records.get(model_id)


CATALOG_SOURCES = ("modelsdev", "litellm", "genai-prices")
"""The independent catalogs a merged provider list may cite as ``<source>:<key>``."""


def _records(data: bytes, source_type: str) -> dict[str, Any] | None:
    """Native id → raw record (a mapping) of one snapshot; None when it cannot be parsed."""
    try:
        if source_type in CATALOG_SOURCES:
            return _catalog_records(simplejson.loads(data), source_type)
        if source_type == "openrouter":
            from pipeline.sources.openrouter import iter_items

            return {
                str(item.get("id")): item for item in iter_items(data) if isinstance(item, dict)
            }
        return _provider_records(data, source_type)
    except (PayloadError, ValueError, TypeError) as exc:
        log.warning("raw snapshot unparseable", extra={"type": source_type, "error": str(exc)})
        return None


def _catalog_records(data: Any, source: str) -> dict[str, Any]:
    """Key → raw entry of an independent catalog's file, keyed as its adapter keys entries:
    models.dev ``<provider>/<model>``, LiteLLM its own key, genai-prices
    ``<provider id>/<model id>``."""
    out: dict[str, Any] = {}
    if source == "litellm" and isinstance(data, dict):
        return {str(k): v for k, v in data.items() if isinstance(v, dict)}
    if source == "modelsdev" and isinstance(data, dict):
        for provider, entry in data.items():
            models = entry.get("models") if isinstance(entry, dict) else None
            for model_id, raw in (models or {}).items() if isinstance(models, dict) else ():
                out[f"{provider}/{model_id}"] = raw
    if source == "genai-prices" and isinstance(data, list):
        for provider in data:
            if not isinstance(provider, dict):
                continue
            for raw in provider.get("models") or ():
                if isinstance(raw, dict):
                    out[f"{provider.get('id')}/{raw.get('id')}"] = raw
    return out


def _provider_records(data: bytes, source_type: str) -> dict[str, Any] | None:
    from pipeline.sources.native import Adapter
    from pipeline.sources.registry import SOURCE_TYPES

    kind = SOURCE_TYPES.get(source_type)
    if kind is None or not isinstance(kind.adapter, Adapter):
        return None  # an independent catalog: not a provider list's raw form
    adapter = kind.adapter
    pages = [data]
    if adapter.paginated:
        # Stored as one JSON array of the pages' bytes (native.raw_snapshot).
        pages = [simplejson.dumps(page).encode() for page in simplejson.loads(data)]
    out: dict[str, Any] = {}
    for item in adapter.parse(pages):
        try:
            native_id = adapter.translate(item).id
        except (ValueError, TypeError):
            continue
        raw = item.model_dump(exclude_unset=True) if isinstance(item, BaseModel) else item
        out.setdefault(native_id, raw)
    return out


def openrouter_key(model: ModelRecord, catalog_key: str | None, generated_at: str) -> str | None:
    """The snapshot holding an OpenRouter record's raw form (see the module docstring)."""
    last_seen = model.lifecycle.last_seen
    if last_seen == generated_at:
        return catalog_key
    return keys.openrouter_raw(parse_iso(last_seen))


@dataclass
class PublishedSet:
    """Everything the laws look at."""

    lists: list[Listing]
    """OpenRouter's catalog first (when there is one), then every provider list."""
    raw: RawRecords
    deprecations: Deprecations | None = None
    catalog_key: str | None = None
    """OpenRouter's ``rawKey``: the snapshot of the models it lists."""
    generated_at: str = ""
    """OpenRouter's ``generatedAt``: a record last seen then is in ``catalog_key``."""
    reserved: Mapping[str, str] = field(default_factory=dict)
    """Model id → alias reserved by ``alias-overrides.json`` (the one way to give a natural
    alias to another model)."""
    catalog_keys: Mapping[str, str] = field(default_factory=dict)
    """Independent catalog → the ``rawKey`` of the file its merged entries were read from."""
    _records: dict[str, ModelRecord] | None = field(default=None, repr=False)
    derived: dict[str, Any] = field(default_factory=dict, repr=False)
    """What several laws derive from the set, found once (by the first law that needs it):
    the set is not to change once checked."""

    @property
    def openrouter(self) -> Listing | None:
        return next((listing for listing in self.lists if listing.is_openrouter), None)

    def openrouter_record(self, model_id: str) -> ModelRecord | None:
        """OpenRouter's published record of ``model_id`` (listed, carried or tombstoned)."""
        if self._records is None:
            listing = self.openrouter
            self._records = {m.id: m for m in listing.models} if listing else {}
            for stone in self.deprecations.tombstones if self.deprecations else ():
                self._records.setdefault(stone.id, stone.record)
        return self._records.get(model_id)

    def catalog_raw(self, source: str, key: str) -> Any:
        """An independent catalog's raw entry under ``key`` (None, or ``NOT_HELD``)."""
        return self.raw.get(self.catalog_keys.get(source), source, key)

    def openrouter_raw(self, model_id: str) -> Any:
        """The raw OpenRouter record of ``model_id`` (None, or ``NOT_HELD``: see RawRecords)."""
        record = self.openrouter_record(model_id)
        if record is None:
            return None
        key = openrouter_key(record, self.catalog_key, self.generated_at)
        return self.raw.get(key, "openrouter", model_id)


def read_set(
    store: Store, reserved: Mapping[str, str] | None = None, *, provider_lists: bool = True
) -> PublishedSet:
    """The set published in ``store`` (raises StoreError / ValidationError when its catalog
    or deprecations cannot be read: there is nothing to hold the laws against then).
    ``provider_lists=False``: without the provider lists (a providers run checks the lists it
    has just written, already parsed; reading all of them again took a second)."""
    from pipeline.stages.enrich import published_provider_lists

    lists: list[Listing] = []
    catalog_key: str | None = None
    generated_at = ""
    blob = store.get(keys.CURRENT)
    if blob is not None:
        catalog = CurrentCatalog.model_validate_json(blob.data)
        lists.append(Listing("openrouter", "openrouter", catalog.models, raw_key=catalog.raw_key))
        catalog_key, generated_at = catalog.raw_key, catalog.generated_at
    deprecations = None
    blob = store.get(keys.DEPRECATIONS)
    if blob is not None:
        try:
            deprecations = Deprecations.model_validate_json(blob.data)
        except ValidationError:
            deprecations = None
    for provider in sorted(
        published_provider_lists(store) if provider_lists else (), key=lambda p: p.source
    ):
        lists.append(provider_listing(provider))
    return PublishedSet(
        lists=lists,
        raw=RawRecords.of(store),
        deprecations=deprecations,
        catalog_key=catalog_key,
        generated_at=generated_at,
        reserved=dict(reserved or {}),
        catalog_keys=catalog_raw_keys(store),
    )


def catalog_raw_keys(store: Store) -> dict[str, str]:
    """Independent catalog → the ``rawKey`` its published ``current.json`` names. Only the
    head of each file is parsed: ``rawKey`` comes before the entries (the snapshot's field
    order), and models.dev's file is 4 MB."""
    out: dict[str, str] = {}
    for source in CATALOG_SOURCES:
        try:
            blob = store.get(keys.catalog_current(source))
            raw_key = _head_value(blob.data, "rawKey") if blob is not None else None
        except (StoreError, ValueError, ijson.JSONError) as exc:
            log.warning("catalog unreadable", extra={"source": source, "error": str(exc)})
            continue
        if isinstance(raw_key, str):
            out[source] = raw_key
    return out


def _head_value(data: bytes, name: str) -> Any:
    """The top-level scalar ``name`` of the JSON object in ``data``, read up to it (None when
    the document is not an object, or ``name`` is not among its scalars)."""
    events = ijson.parse(data)
    first = next(events, None)
    if first is None or first[1] != "start_map":
        return None
    for prefix, event, value in events:
        if prefix == name and event in ("string", "number", "boolean", "null"):
            return value
    return None


def provider_listing(provider: ProviderCatalog) -> Listing:
    """A provider list as the laws read it."""
    return Listing(
        provider.source,
        provider.source_type,
        provider.models,
        provider.provenance,
        raw_key=provider.raw_key,
        served_by=provider.served_by,
    )
