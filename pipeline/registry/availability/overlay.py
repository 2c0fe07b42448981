"""``Availability``: the runtime availability overlay over a loaded ``Registry``, the one
object a gateway (or ``pipeline.service.runtime_routes``) talks to. Every method is thread-safe.

It validates what callers send, holds the lock around the ``Roster`` (clients) and the
``Ledger`` (counts), follows the Registry's catalog (re-keying prepared outside the lock),
delivers events once the lock is released, and keeps serializations of the available list
until availability changes. The rules are in the package docstring.
"""

from __future__ import annotations

import logging
import math
import threading
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pipeline.registry.availability.catalog_view import CatalogView, Changes, Located, changes
from pipeline.registry.availability.ledger import AVAILABLE, COOLING, Ledger
from pipeline.registry.availability.roster import Roster
from pipeline.registry.availability.values import (
    DEFAULT_COOLDOWN_SECONDS,
    MAX_COOLDOWN_SECONDS,
    MAX_MODELS_PER_CLIENT,
    MAX_REASON_CHARS,
    AvailabilityEvent,
    ClientModel,
    ModelState,
    ProviderCount,
    Registration,
)
from pipeline.registry.core import Registry, Snapshot, gc_paused
from pipeline.registry.filters import CAPABILITIES, STATES, QueryError

log = logging.getLogger("pipeline.registry.availability")

T = TypeVar("T")

FORMAT_FAMILIES: dict[str, str | None] = {
    "openai": None,
    "anthropic": "anthropic",
    "gemini": "google",
}
"""``first_available(format=…)``: a request on the Anthropic or Gemini API without a model needs
a model of that vendor; an OpenAI-compatible endpoint serves every family."""

GATEWAY_COUNTS = ("clients", "refs", "unknown")
"""What ``summary()["gateways"]`` counts per gateway identity (``Roster.owned``)."""

_ATTACHED: weakref.WeakKeyDictionary[Registry, Availability] = weakref.WeakKeyDictionary()
_ATTACH_LOCK = threading.Lock()


class Availability:
    """Runtime availability over ``registry``; every method is thread-safe.

    ``clock`` gives the time (seconds since the epoch); ``cooldown_seconds`` is the cooldown of
    a quota error without a retry time; ``on_event`` receives an ``AvailabilityEvent`` per
    quota / suspension change (see the package docstring)."""

    def __init__(
        self,
        registry: Registry,
        *,
        clock: Callable[[], float] | None = None,
        cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
        on_event: Callable[[AvailabilityEvent], None] | None = None,
    ) -> None:
        if not 0 < cooldown_seconds <= MAX_COOLDOWN_SECONDS:
            raise ValueError(
                f"cooldown_seconds: must be in (0, {MAX_COOLDOWN_SECONDS:.0f}], "
                f"got {cooldown_seconds}"
            )
        self.registry = registry
        self.clock = clock or registry.clock
        self.cooldown_seconds = float(cooldown_seconds)
        self.on_event = on_event
        self._lock = threading.Lock()
        self._ledger = Ledger()
        self._roster = Roster(self._ledger)
        self._prep_lock = threading.Lock()
        self._pending: tuple[Snapshot | None, Snapshot | None, CatalogView, Changes] | None = None
        """(new snapshot, the view's snapshot it was prepared against, its view, changes)."""
        self._events: list[AvailabilityEvent] = []
        self._list_cache: dict[Hashable, tuple[tuple[Any, ...], Any]] = {}
        registry.listeners.append(_follower(self))

    @classmethod
    def attach(cls, registry: Registry, **options: Any) -> Availability:
        """The availability overlay of ``registry``, created on first use: a gateway and the
        HTTP service over the same Registry share one state."""
        with _ATTACH_LOCK:
            found = _ATTACHED.get(registry)
            if found is None:
                found = _ATTACHED[registry] = cls(registry, **options)
            return found

    @staticmethod
    def attached(registry: Registry) -> Availability | None:
        return _ATTACHED.get(registry)

    @property
    def epoch(self) -> int:
        """Increments whenever a model's state, retry time or reason changes (or the catalog
        does): a serialization of the available list stays valid while it is unchanged."""
        return self._ledger.epoch

    @property
    def _expiry(self) -> list[tuple[float, int, str, str]]:
        """The cooldown heap; stale entries are compacted away, so its size stays bounded."""
        return self._ledger.expiry

    # -- plumbing ------------------------------------------------------------------------------

    def sync(self) -> None:
        """Catch up with the Registry's current catalog now. ``Registry.refresh`` calls this on
        the refreshing thread after a swap, so request threads never pay for re-keying; a
        snapshot swapped in any other way is picked up by the next call."""
        # The cyclic collector paused as for a catalog load: re-resolving allocates a tuple per
        # distinct ref, and a full collection over the registrations in the middle of it would
        # stop every thread for a second at 200k registrations (measured in the bench).
        with gc_paused():
            self._prepare(force=True)
            with self._lock:
                self._enter(force=True)
        self._leave()

    def _prepare(self, force: bool = False) -> None:
        """Before taking the lock: when the Registry swapped in a new catalog, resolve every
        distinct (provider, ref) against it here, so the lock is held only to apply the
        differences. One thread prepares; the others keep serving the current view."""
        snapshot = self.registry._snapshot
        pending = self._pending
        if snapshot is self._roster.snapshot or (pending is not None and pending[0] is snapshot):
            return
        if not force and self.registry._refresh_lock.locked():
            return  # a refresh is running: it will call sync() once it has swapped
        if not self._prep_lock.acquire(blocking=False):
            return
        try:
            with self._lock:
                base = self._roster.snapshot
                pairs = list(self._roster.view.located.items())
                clients = [
                    (c.id, c.refs, c.removed, c.provider) for c in self._roster.clients.values()
                ]
            if snapshot is not base:
                view = CatalogView(snapshot)
                self._pending = (snapshot, base, view, changes(pairs, clients, view))
        finally:
            self._prep_lock.release()

    def _enter(self, force: bool = False) -> float:
        """Under the lock: pick up a refreshed catalog, expire cooldowns; return now."""
        snapshot = self.registry._snapshot
        if snapshot is not self._roster.snapshot:
            pending = self._pending
            if (
                pending is not None
                and pending[0] is snapshot
                and pending[1] is self._roster.snapshot
            ):
                self._pending = None
                self._rekey(snapshot, pending[2], pending[3])
            elif force or not (self._prep_lock.locked() or self.registry._refresh_lock.locked()):
                # Nobody prepared it (a thread is not preparing either): do it here.
                with gc_paused():
                    view = CatalogView(snapshot)
                    pairs = list(self._roster.view.located.items())
                    self._rekey(snapshot, view, changes(pairs, [], view))
        now = self.clock()
        for client, key in self._ledger.expire(now):
            self._emit("quota_expired", client, key, now)
        return now

    def _rekey(self, snapshot: Snapshot | None, view: CatalogView, diff: Changes) -> None:
        """Under the lock: move every client over to the catalog of ``view``."""
        self._list_cache.clear()
        now = self.clock()
        self._roster.rekey(snapshot, view, diff, now)
        self._report_removed(now)

    def _leave(self) -> None:
        """After the lock is released: hand queued events to ``on_event``."""
        if not self._events:
            return
        with self._lock:
            events, self._events = self._events, []
        if self.on_event is None:
            return
        for event in events:
            try:
                self.on_event(event)
            except Exception:  # a broken sink must not break the gateway's call
                log.exception("availability on_event callback failed", extra={"kind": event.kind})

    def _emit(
        self,
        kind: str,
        client: str,
        key: str,
        now: float,
        *,
        retry_at: float | None = None,
        reason: str | None = None,
    ) -> None:
        """Under the lock: queue an event for ``_leave`` to deliver (when anyone listens)."""
        if self.on_event is None:
            return
        found = self._roster.clients.get(client)
        self._events.append(
            AvailabilityEvent(
                kind,
                client,
                found.provider if found is not None else "",
                key,
                now,
                retry_at=retry_at,
                reason=reason,
                owner=found.owner if found is not None else None,
            )
        )

    def _report_removed(self, now: float) -> None:
        for client, gone in self._roster.take_removed():
            self._emit("removed_model", client, gone.ref, now, reason=gone.reason)

    # -- state changes -------------------------------------------------------------------------

    def register(
        self,
        client_id: str,
        provider: str,
        models: Iterable[str],
        *,
        owner: str | None = None,
    ) -> Registration:
        """Register ``client_id`` (a name, not a secret) of ``provider`` serving ``models``, or
        reconcile an existing client with its new list. Duplicates and refs naming the same
        model count once. Returns what was counted, removed refs (with the catalog's offered
        target), unknown refs and the models added and dropped. ``owner``: the gateway
        identity registering it over HTTP, whose limits apply (see the package docstring); a
        registration over a limit raises ValueError and changes nothing."""
        client_id = _name("client_id", client_id)
        provider = _name("provider", provider).lower()
        refs = [_name("model", str(ref)) for ref in _bounded(models)]
        self._prepare()
        with self._lock:
            now = self._enter()
            result = self._roster.register(client_id, provider, refs, owner)
            self._report_removed(now)
        self._leave()
        return result

    def unregister(self, client_id: str) -> bool:
        """Forget a client and its quota and suspension state; False when it was unknown."""
        self._prepare()
        with self._lock:
            self._enter()
            if not self._roster.unregister(client_id):
                return False
        self._leave()
        return True

    def mark_quota(
        self,
        client_id: str,
        model: str | None = None,
        *,
        retry_at: float | None = None,
        retry_after: float | None = None,
    ) -> float:
        """Client over quota for ``model`` (every model of the client when None) until
        ``retry_at`` (epoch seconds), else now + ``retry_after`` (an upstream's Retry-After),
        else now + the default cooldown; capped at a day. A later mark wins only when it ends
        later. Returns the retry time set."""
        # Checked before anything changes: NaN slips through max() and comparisons.
        for name, value in (("retry_at", retry_at), ("retry_after", retry_after)):
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name}: not a finite time ({value!r})")
        self._prepare()
        with self._lock:
            now = self._enter()
            if retry_at is None:
                after = self.cooldown_seconds if retry_after is None else float(retry_after)
                retry_at = now + max(0.0, after)
            retry_at = min(float(retry_at), now + MAX_COOLDOWN_SECONDS)
            client = self._roster.client(client_id)
            for slot in self._roster.targets(client, model):
                if retry_at > now and retry_at > slot.cooling.get(client_id, 0.0):
                    self._ledger.set_cooling(slot, client_id, retry_at)
                    self._emit("quota_exceeded", client_id, slot.key, now, retry_at=retry_at)
        self._leave()
        return retry_at

    def clear_quota(self, client_id: str, model: str | None = None) -> None:
        """The client serves ``model`` (all its models when None) again before its retry time."""
        self._prepare()
        with self._lock:
            now = self._enter()
            for slot in self._roster.targets(self._roster.client(client_id), model):
                if client_id in slot.cooling:
                    self._ledger.clear_cooling(slot, client_id)
                    self._emit("quota_cleared", client_id, slot.key, now)
        self._leave()

    def suspend(self, client_id: str, model: str | None = None, reason: str = "") -> None:
        """Suspend the client for ``model`` (all its models when None) until ``resume``. The
        reason ``quota`` keeps the model listed as cooling down; any other hides it when no
        other client serves it."""
        reason = _reason(reason)
        self._prepare()
        with self._lock:
            now = self._enter()
            for slot in self._roster.targets(self._roster.client(client_id), model):
                if slot.suspended.get(client_id) != reason:
                    self._ledger.suspend(slot, client_id, reason)
                    self._emit("suspended", client_id, slot.key, now, reason=reason)
        self._leave()

    def resume(self, client_id: str, model: str | None = None) -> None:
        """End a suspension of the client for ``model`` (all its models when None)."""
        self._prepare()
        with self._lock:
            now = self._enter()
            for slot in self._roster.targets(self._roster.client(client_id), model):
                if client_id in slot.suspended:
                    self._ledger.resume(slot, client_id)
                    self._emit("resumed", client_id, slot.key, now)
        self._leave()

    # -- queries -------------------------------------------------------------------------------

    def _key(self, ref: str) -> tuple[str | None, Located | None]:
        if ref in self._ledger.slots:
            return ref, None
        located = self._roster.view.locate(ref, "")
        return located.key, located

    def state(self, ref: str) -> ModelState:
        """The state of the model ``ref`` names (id, alias, old id, native id): `available`,
        `cooling_down` with `retry_at`, `suspended` with the reasons, `no_clients`, or
        `removed` with the catalog's offered target."""
        self._prepare()
        with self._lock:
            self._enter()
            key, located = self._key(ref)
            slot = self._ledger.slots.get(key) if key is not None else None
            if slot is not None:
                result = slot.model_state()
            elif located is not None and located.removed is not None:
                gone = located.removed
                result = ModelState(
                    ref,
                    "removed",
                    reason=gone.reason,
                    redirect_to=gone.redirect_to,
                    in_catalog=False,
                )
            else:
                result = ModelState(
                    key or ref, "no_clients", in_catalog=bool(located and located.in_catalog)
                )
        self._leave()
        return result

    def count(self, ref: str) -> int:
        """Clients that can serve the model now."""
        self._prepare()
        with self._lock:
            self._enter()
            key, _ = self._key(ref)
            slot = self._ledger.slots.get(key) if key is not None else None
            available = slot.n[AVAILABLE] if slot is not None else 0
        self._leave()
        return available

    def available_clients(self, ref: str) -> list[str]:
        """The clients that can serve the model now, by name (pick one to route a request)."""
        self._prepare()
        with self._lock:
            self._enter()
            key, _ = self._key(ref)
            slot = self._ledger.slots.get(key) if key is not None else None
            names = (
                sorted(c for c in slot.clients if slot.condition(c) == AVAILABLE) if slot else []
            )
        self._leave()
        return names

    def providers(self, ref: str) -> list[ProviderCount]:
        """The model's providers, most available clients first (then most clients, name)."""
        self._prepare()
        with self._lock:
            self._enter()
            key, _ = self._key(ref)
            slot = self._ledger.slots.get(key) if key is not None else None
            rows = (
                [
                    ProviderCount(p, slot.avail_by_provider.get(p, 0), n)
                    for p, n in slot.by_provider.items()
                ]
                if slot
                else []
            )
        self._leave()
        return sorted(rows, key=lambda r: (-r.available, -r.clients, r.provider))

    def client_models(self, client_id: str) -> list[ClientModel]:
        """The models of a client with its own condition for each (raises for an unknown
        client); refs of removed models are in ``removed_refs``."""
        self._prepare()
        with self._lock:
            self._enter()
            client = self._roster.client(client_id)
            by_key: dict[str, list[str]] = {}
            for ref, key in client.refs.items():
                if key is not None:
                    by_key.setdefault(key, []).append(ref)
            out = []
            for key, refs in sorted(by_key.items()):
                slot = self._ledger.slots[key]
                condition = slot.condition(client_id)
                out.append(
                    ClientModel(
                        key,
                        tuple(refs),
                        ("available", "cooling_down", "suspended")[condition],
                        slot.cooling.get(client_id) if condition == COOLING else None,
                        slot.suspended.get(client_id),
                    )
                )
        self._leave()
        return out

    def client_info(self, client_id: str) -> dict[str, Any]:
        """A client's provider, models with conditions and removed refs (for the HTTP API)."""
        models = self.client_models(client_id)
        with self._lock:
            client = self._roster.client(client_id)
            removed = [r.as_dict() for r in client.removed.values()]
            provider = client.provider
        return {
            "clientId": client_id,
            "provider": provider,
            "models": [m.as_dict() for m in models],
            "removed": removed,
        }

    def clients(self) -> list[str]:
        with self._lock:
            return sorted(self._roster.clients)

    def has_client(self, client_id: str) -> bool:
        with self._lock:
            return client_id in self._roster.clients

    def first_available(
        self,
        format: str | None = None,
        *,
        capability: str | Iterable[str] | None = None,
        provider: str | None = None,
        states: Iterable[str] = ("active", "stale"),
    ) -> dict[str, Any] | None:
        """The newest catalog model (by ``created``) with an available client now, or None.
        ``format`` anthropic / gemini: that vendor's models only; ``capability``: as in
        search; ``provider``: an available client of that provider; ``states``: lifecycle
        states accepted. Removed models are never keys, so never returned."""
        family = None
        if format is not None:
            if format not in FORMAT_FAMILIES:
                raise QueryError(
                    f"format: unknown {format!r}; choose from {', '.join(FORMAT_FAMILIES)}"
                )
            family = FORMAT_FAMILIES[format]
        caps = _values(capability, CAPABILITIES, "capability")
        wanted_states = _values(list(states), STATES, "state")
        wanted_provider = provider.lower() if provider else None
        self._prepare()
        with self._lock:
            self._enter()
            view = self._roster.view
            if view.index is None:
                found = None
            else:
                bits = self._ledger.bits & view.mask(family, caps, wanted_states)
                found = None
                while bits:
                    low = bits & -bits
                    model_id = view.order[low.bit_length() - 1]
                    slot = self._ledger.slots[model_id]
                    if wanted_provider is None or slot.avail_by_provider.get(wanted_provider):
                        found = view.record(model_id)
                        break
                    bits ^= low
        self._leave()
        return found

    def filter_available(
        self, records: Iterable[Mapping[str, Any]]
    ) -> tuple[list[Mapping[str, Any]], dict[str, ModelState]]:
        """Of ``records`` (what a list would render, in its order), those with an available or
        cooling-down client, and each one's state by id."""
        self._prepare()
        with self._lock:
            self._enter()
            listed = self._ledger.listed
            kept = [record for record in records if record.get("id") in listed]
            states = {str(r["id"]): self._ledger.slots[str(r["id"])].model_state() for r in kept}
        self._leave()
        return kept, states

    def stamp(self) -> tuple[Any, ...]:
        """Changes whenever the available list may change (catalog version or availability),
        after expiring what is due: key a cached serialization on it."""
        self._prepare()
        with self._lock:
            self._enter()
            snapshot = self._roster.snapshot
            stamp = (snapshot.version if snapshot else None, self.epoch)
        self._leave()
        return stamp

    def available_list(
        self,
        records: Sequence[Mapping[str, Any]],
        render: Callable[[list[Mapping[str, Any]]], dict[str, Any]],
    ) -> dict[str, Any]:
        """``render`` (a native list builder) over the available ``records``, each item with
        its ``availability`` (state, retryAt, reason) in the catalog's own camelCase."""
        kept, states = self.filter_available(records)
        document = render(kept)
        attach_states(document, states)
        return document

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """``build()`` once per availability stamp and key: a serialization of the available
        list is rebuilt only after availability (or the catalog) changed. The stamp is taken
        before building, so a value is never kept past a change it did not see."""
        stamp = self.stamp()
        hit = self._list_cache.get(key)
        if hit is not None and hit[0] == stamp:
            value: T = hit[1]
            return value
        value = build()
        if len(self._list_cache) > 64:  # a handful of (format, include) keys in practice
            self._list_cache.clear()
        self._list_cache[key] = (stamp, value)
        return value

    def available_models(self, format: str = "openai", *, include_deprecated: bool = False) -> Any:
        """The available list in a native shape (``formats.LISTS``: openai, anthropic, gemini)
        — active and stale models, plus deprecated ones when asked — each item with its
        ``availability``; rebuilt only when the catalog or availability changed."""
        from pipeline.registry import formats

        if format not in formats.LISTS:
            raise QueryError(f"format: unknown {format!r}; choose from {', '.join(formats.LISTS)}")
        listed = {"active", "stale"} | ({"deprecated"} if include_deprecated else set())

        def build() -> Any:
            snapshot = self.registry.snapshot
            chosen = [m for m in snapshot.models if m.get("lifecycle", {}).get("state") in listed]
            return self.available_list(chosen, formats.LISTS[format])

        return self.memo(("library-list", format, include_deprecated), build)

    def summary(self) -> dict[str, Any]:
        """Counts for metrics and status: clients (and per gateway identity, with their refs),
        models by state."""
        self._prepare()
        with self._lock:
            self._enter()
            out = {
                "clients": len(self._roster.clients),
                "gateways": {
                    owner: dict(
                        zip(("clients", "refs", "unknown"), self._roster.owned(owner), strict=True)
                    )
                    for owner in sorted(self._roster.by_owner)
                },
                "models": dict(self._ledger.state_counts),
                "coolingEntries": self._ledger.cooling_entries,
                "epoch": self.epoch,
            }
        self._leave()
        return out


def _follower(live: Availability) -> Callable[[Snapshot], None]:
    """A Registry listener that brings ``live`` up to date after a swap, without keeping it
    alive (a Registry may outlive many overlays built over it)."""
    ref = weakref.ref(live)

    def follow(_: Snapshot) -> None:
        target = ref()
        if target is not None:
            target.sync()

    return follow


def attach_states(document: Mapping[str, Any], states: Mapping[str, ModelState]) -> None:
    """Add ``availability`` to each item of a native list document, matched by id (OpenAI,
    Anthropic: ``id``; Gemini: ``name`` = ``models/<id>``)."""
    for items in document.values():
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, dict):
                continue
            model_id = item.get("id") or str(item.get("name", "")).removeprefix("models/")
            state = states.get(str(model_id))
            if state is not None:
                item["availability"] = state.badge()


def _name(what: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: must be a non-empty string")
    value = value.strip()
    if len(value) > 256:
        raise ValueError(f"{what}: longer than 256 characters ({value[:40]!r}…)")
    return value


def _bounded(models: Iterable[str]) -> list[str]:
    if isinstance(models, str):
        raise ValueError("models: a list of model ids, not one string")
    out = []
    for i, ref in enumerate(models):
        if i >= MAX_MODELS_PER_CLIENT:
            raise ValueError(f"models: more than {MAX_MODELS_PER_CLIENT} in one registration")
        out.append(ref)
    return out


def _reason(reason: str) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in str(reason or "")).strip()
    return text[:MAX_REASON_CHARS] or "suspended"


def _values(value: str | Iterable[str] | None, allowed: Iterable[str], name: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else list(value)
    wanted = frozenset(item.strip() for item in items if item.strip())
    allowed = tuple(allowed)
    unknown = sorted(wanted - set(allowed))
    if unknown:
        raise QueryError(
            f"{name}: unknown value(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(allowed)}"
        )
    return wanted


__all__ = ["FORMAT_FAMILIES", "Availability", "attach_states"]
