"""The provider lists as the reader serves them (issue 30): every provider, its models, and who
serves a model of the catalog.

In: the store's ``models/providers/index.json`` and the lists it names, read with the stdlib
``json`` on first use (no pydantic: the reader stays cheap to import) and again when the index
changes (one stat, or HEAD, per question at most every ``POLL_SECONDS``). Provider lists are
published by the providers job on their own cadence, apart from the OpenRouter set, so they
are not part of the snapshot a ``Registry`` swaps; a list is read when first asked for and kept
until the index changes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pipeline.publishing import keys
from pipeline.publishing.store import Store
from pipeline.registry.loader import marker
from pipeline.resolve import close_matches

POLL_SECONDS = 5.0
"""How long an answer may use the index it read without checking the store again."""


class ProviderNotFound(KeyError):
    """No published list for that provider; ``matches`` are close names."""

    def __init__(self, provider: str, matches: list[str]) -> None:
        super().__init__(provider)
        self.provider = provider
        self.matches = matches

    def __str__(self) -> str:
        return f"no provider {self.provider!r}"


class ProviderLists:
    """The published provider lists of one store."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._marker: Any = None
        self._checked = float("-inf")
        self._index: dict[str, Any] | None = None
        self._lists: dict[str, dict[str, Any]] = {}

    # -- reading ----------------------------------------------------------------------------

    def _read(self, key: str) -> dict[str, Any] | None:
        blob = self.store.get(key)
        if blob is None:
            return None
        # Floats, as the catalog reader reads prices (their shortest text is the published one).
        document = json.loads(blob.data)
        return document if isinstance(document, dict) else None

    def index(self) -> dict[str, Any] | None:
        """The providers index (None when no providers run has merged lists yet)."""
        with self._lock:
            now = self.clock()
            if now - self._checked >= POLL_SECONDS:
                self._checked = now
                found = marker(self.store, keys.PROVIDERS_INDEX)
                if found != self._marker or self._index is None:
                    self._marker = found
                    self._index = self._read(keys.PROVIDERS_INDEX) if found is not None else None
                    self._lists = {}
            return self._index

    @property
    def version(self) -> str:
        """Changes whenever the published lists change (the index's run id)."""
        index = self.index()
        return str(index.get("runId", "")) if index else ""

    def summaries(self) -> list[dict[str, Any]]:
        index = self.index()
        return list(index.get("providers") or []) if index else []

    def document(self, provider: str) -> dict[str, Any]:
        """A provider's merged list; ProviderNotFound (with close names) when there is none."""
        index = self.index()
        entries = {str(p["provider"]): p for p in (index or {}).get("providers") or []}
        entry = entries.get(provider)
        if entry is None:
            raise ProviderNotFound(provider, close_names(provider, entries))
        with self._lock:
            found = self._lists.get(provider)
        if found is None:
            found = self._read(str(entry["key"])) or {"models": [], "provenance": {}}
            with self._lock:
                self._lists[provider] = found
        return found

    def serving(self, model_id: str) -> list[tuple[str, str]]:
        """(provider, model id there) of every provider–model matched to OpenRouter's
        ``model_id``."""
        index = self.index() or {}
        return [
            (str(r["provider"]), str(r["id"])) for r in index.get("serving", {}).get(model_id, [])
        ]


def close_names(wanted: str, names: Iterable[str], limit: int = 5) -> list[str]:
    """Provider names that look like ``wanted`` (as the reader's 404s suggest model ids)."""
    return close_matches(wanted, sorted(names), limit)


def filter_models(
    models: Iterable[Mapping[str, Any]],
    *,
    capability: Callable[[Mapping[str, Any]], bool] | None = None,
    tiers: set[str] | None = None,
    states: set[str] | None = None,
    q: str | None = None,
    source: str | None = None,
) -> list[Mapping[str, Any]]:
    """The records meeting every given filter: ``capability`` a check, ``tiers`` / ``states``
    allowed values, ``q`` a substring of id, alias or name, ``source`` a source that lists the
    model (``modelsdev``, ``openrouter``, the provider's own)."""
    needle = q.strip().lower() if q else None
    out = []
    for model in models:
        if tiers and model.get("priceTier") not in tiers:
            continue
        if states and str((model.get("lifecycle") or {}).get("state")) not in states:
            continue
        if needle and not any(
            needle in str(model.get(f, "")).lower() for f in ("id", "alias", "name")
        ):
            continue
        if source and not any(r.get("source") == source for r in model.get("sources") or ()):
            continue
        if capability is not None and not capability(model):
            continue
        out.append(model)
    return out


def pricing_on(record: Mapping[str, Any], day: str) -> tuple[dict[str, Any], str | None]:
    """A provider record's prices on ``day`` (YYYY-MM-DD) as announced: the latest
    ``announcedPrices`` entry from ``day`` or before, over the current prices (its token
    prices replace theirs, tiers included); (the current prices, None) when nothing announced
    applies yet. The second value says which announcement was applied."""
    current = dict(record.get("pricing") or {})
    applied = [a for a in record.get("announcedPrices") or () if str(a.get("from")) <= day[:10]]
    if not applied:
        return current, None
    latest = max(applied, key=lambda a: str(a.get("from")))
    announced = {k: v for k, v in (latest.get("pricing") or {}).items() if v is not None}
    # An announced set states its own long-context rules, if any: the old ones do not carry.
    current.pop("tiers", None)
    return {
        **current,
        **announced,
    }, f"announced by {latest.get('source')}, from {latest.get('from')}"
