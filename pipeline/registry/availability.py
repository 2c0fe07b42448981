"""Runtime availability: which of a gateway's clients can serve each catalog model right now.

The catalog says what exists; a gateway also needs what it can *serve now*. ``Availability`` is
an overlay over a loaded ``Registry``: the gateway registers its clients (API keys, OAuth
accounts, local servers — by a name, never the secret itself) with a provider and the model ids
each one serves, then reports what happens to them (quota exceeded until T, suspended for a
reason, back again). Queries answer per model: a state with its reason and retry time, client
counts, providers ordered by availability, the first available model, the available list.

Rules (one client × one model is in exactly one of three conditions):

- *available*: registered, not cooling down, not suspended;
- *cooling*: quota exceeded until ``retry_at`` (it clears itself once the time has passed), or
  suspended with the reason ``quota`` (until resumed) — it will come back by itself;
- *blocked*: suspended for any other reason (auth revoked, provider error) — it will not.

A model's state follows: ``available`` (≥ 1 available client), else ``cooling_down`` (≥ 1
cooling client; ``retry_at`` is the earliest known return), else ``suspended`` (every client
blocked; ``reason`` lists why), else ``no_clients``. A model is *listed* while it is
``available`` or ``cooling_down``: a rate-limited model stays visible with its retry time
instead of vanishing (CLIProxyAPI #5181); only blocked or client-less models are hidden.

Keys come from the catalog's resolution, per client provider: a native id of that provider
(``sources[].nativeId``), an exact id or alias, ``<provider>/<ref>``, an old alias, or an old id
renamed to a new one all count for the model they name. A ref the catalog has *removed*
(tombstoned, or only reachable by a variant / override / family-fallback redirect to another
model) is not counted for anything: the registration reports it with the catalog's offered
target, and it is never listed or returned as available (CLIProxyAPI #414). Refs the catalog
does not know (a local server's model) are counted under the ref itself; they have states and
counts but no record, so they are never in the catalog lists.

A catalog refresh is followed on the refreshing thread (``Registry.listeners``): every distinct
(provider, ref) is resolved again outside the lock while requests keep the previous catalog,
then only the clients whose refs now name another model are reconciled, their quota and
suspension state carried to that model. A snapshot swapped in any other way is picked up by the
next call.

Complexity: a state change touches one client × model (or one client's models) and the
model's counters; a per-model query reads that model's counters (``retry_at`` and reasons look
at that model's cooling or suspended clients only). Expired cooldowns leave through one heap in
expiry order, checked at the start of every call, so nothing needs a cleanup call. ``first
available`` finds the lowest set bit of (available models ∧ a filter mask) in a bitset ordered
newest first; masks are built once per catalog version and filter.

Events: pass ``on_event`` to receive an ``AvailabilityEvent`` for each quota mark, suspension,
resumption, expiry and removed-model registration (called after the lock is released; errors
in the callback are logged and dropped). Its ``telemetry`` field names the telemetry outcome it
corresponds to (``rate_limited`` / ``provider_error``), for a telemetry sink to record.
"""

from __future__ import annotations

import heapq
import logging
import math
import re
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from pipeline.registry.core import (
    CAPABILITIES,
    STATES,
    QueryError,
    Registry,
    RegistryError,
    Snapshot,
    gc_paused,
)
from pipeline.resolve import CatalogIndex, resolve

log = logging.getLogger("pipeline.registry.availability")

T = TypeVar("T")

DEFAULT_COOLDOWN_SECONDS = 300.0
"""Cooldown after a quota error without a ``Retry-After`` (the seed registry's 5 minutes)."""
MAX_COOLDOWN_SECONDS = 86_400.0
"""Longest accepted cooldown: daily quotas reset within a day, and a far-future time sent by
mistake (or malice) must not park a client forever."""
MAX_REASON_CHARS = 200
MAX_MODELS_PER_CLIENT = 100_000
"""Bounds one registration (a hostile list must not make memory unbounded)."""
IDENTITY_REDIRECTS = frozenset({"rename"})
"""Redirect reasons that keep the model: a rename has the same canonical slug, so a client
serving the old id serves the new one. `variant`, `override` and `family-fallback` send callers
to a *different* model, which the client never said it serves."""

DATE_TAG = re.compile(r"-(\d{4}-\d{2}-\d{2}|(19|20)\d{6})$")
"""A trailing snapshot date (`-2024-08-06`, `-20240229`). The alias stage strips more tags
(revisions like `-0613`), but a revision can be a different model, and importing the stage
would load pydantic into the reader."""
AVAILABLE, COOLING, BLOCKED = 0, 1, 2
"""Condition of one client for one model."""
MODEL_STATES = ("available", "cooling_down", "suspended", "no_clients")
LISTED_STATES = frozenset({"available", "cooling_down"})
FORMAT_FAMILIES: dict[str, str | None] = {
    "openai": None,
    "anthropic": "anthropic",
    "gemini": "google",
}
"""``first_available(format=…)``: a request on the Anthropic or Gemini API without a model needs
a model of that vendor; an OpenAI-compatible endpoint serves every family."""


class AvailabilityError(RegistryError, KeyError):
    """An unknown client, or a model the client does not serve; the message names both."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "availability error"


# ── results ──────────────────────────────────────────────────────────────────────────────


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment))
    return f"{whole}Z"


@dataclass(frozen=True)
class ModelState:
    """A model's availability now."""

    model_id: str
    """The catalog id (or the ref itself for a model the catalog does not know)."""
    state: str
    """`available`, `cooling_down`, `suspended`, `no_clients` — or `removed` for a ref the
    catalog has removed (never counted)."""
    clients: int = 0
    """Registered clients."""
    available: int = 0
    """Clients that can serve it now."""
    cooling_down: int = 0
    """Clients over quota (or suspended for `quota`)."""
    suspended: int = 0
    """Clients suspended for another reason."""
    retry_at: float | None = None
    """`cooling_down`: the earliest time a cooling client is back (None: only `quota`
    suspensions, which last until resumed)."""
    reason: str | None = None
    """`suspended`: the reasons; `removed`: what the catalog says."""
    redirect_to: str | None = None
    """`removed`: where the catalog sends callers instead (offered, never used silently)."""
    in_catalog: bool = True
    """False for a ref the catalog does not know."""

    @property
    def listed(self) -> bool:
        return self.state in LISTED_STATES

    def as_dict(self) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "state": self.state,
            "retryAt": _iso(self.retry_at),
            "reason": self.reason,
            "redirectTo": self.redirect_to,
            "clients": self.clients,
            "available": self.available,
            "coolingDown": self.cooling_down,
            "suspended": self.suspended,
            "inCatalog": self.in_catalog,
        }

    def badge(self) -> dict[str, Any]:
        """The short form attached to each item of an available list."""
        return {"state": self.state, "retryAt": _iso(self.retry_at), "reason": self.reason}


@dataclass(frozen=True)
class Removed:
    """A registered ref the catalog has removed: not counted; the catalog's target offered."""

    ref: str
    reason: str
    redirect_to: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "reason": self.reason, "redirectTo": self.redirect_to}


@dataclass
class Registration:
    """What a register call did."""

    client_id: str
    provider: str
    counted: dict[str, str] = field(default_factory=dict)
    """Ref as registered → the model it counts for."""
    removed: list[Removed] = field(default_factory=list)
    """Refs of removed models (with a warning each); counted for nothing."""
    unknown: list[str] = field(default_factory=list)
    """Refs the catalog does not know, counted under the ref itself."""
    added: list[str] = field(default_factory=list)
    """Models the client newly counts for."""
    dropped: list[str] = field(default_factory=list)
    """Models the client no longer counts for."""
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "provider": self.provider,
            "counted": self.counted,
            "removed": [r.as_dict() for r in self.removed],
            "unknown": self.unknown,
            "added": self.added,
            "dropped": self.dropped,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class ClientModel:
    """One model of a client, with that client's own condition for it."""

    model_id: str
    refs: tuple[str, ...]
    state: str
    """`available`, `cooling_down` or `suspended` (this client only)."""
    retry_at: float | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "refs": list(self.refs),
            "state": self.state,
            "retryAt": _iso(self.retry_at),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ProviderCount:
    provider: str
    available: int
    clients: int

    def as_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "available": self.available, "clients": self.clients}


@dataclass(frozen=True)
class AvailabilityEvent:
    """Something that happened to a client × model, for logs and telemetry."""

    kind: str
    """`quota_exceeded`, `quota_cleared`, `quota_expired`, `suspended`, `resumed`,
    `removed_model` (a client registers, or after a refresh holds, a removed model)."""
    client_id: str
    provider: str
    model_id: str
    at: float
    retry_at: float | None = None
    reason: str | None = None

    @property
    def telemetry(self) -> str | None:
        """The telemetry outcome this corresponds to, if any (`rate_limited`,
        `provider_error`), so reliability scores see it."""
        if self.kind == "quota_exceeded" or (self.kind == "suspended" and _is_quota(self.reason)):
            return "rate_limited"
        if self.kind == "suspended":
            return "provider_error"
        return None


# ── internal state ───────────────────────────────────────────────────────────────────────


def _is_quota(reason: str | None) -> bool:
    return reason is not None and reason.strip().lower() == "quota"


class _Slot:
    """One model's clients and counters."""

    __slots__ = (
        "avail_by_provider",
        "by_provider",
        "clients",
        "cooling",
        "in_catalog",
        "key",
        "n",
        "retry_at",
        "state",
        "suspended",
    )

    def __init__(self, key: str, in_catalog: bool) -> None:
        self.key = key
        self.in_catalog = in_catalog
        self.clients: dict[str, str] = {}  # client → provider
        self.cooling: dict[str, float] = {}  # client → retry_at (unexpired)
        self.suspended: dict[str, str] = {}  # client → reason
        self.n = [0, 0, 0]  # clients per condition: AVAILABLE, COOLING, BLOCKED
        self.by_provider: dict[str, int] = {}
        self.avail_by_provider: dict[str, int] = {}
        self.state = "no_clients"
        self.retry_at: float | None = None

    def condition(self, client: str) -> int:
        reason = self.suspended.get(client)
        if reason is not None:
            return COOLING if _is_quota(reason) else BLOCKED
        return COOLING if client in self.cooling else AVAILABLE

    def derive(self) -> tuple[str, float | None]:
        if self.n[AVAILABLE]:
            return "available", None
        if self.n[COOLING]:
            # Earliest return among the cooling clients that are not blocked otherwise.
            times = [t for c, t in self.cooling.items() if self.condition(c) == COOLING]
            return "cooling_down", (min(times) if times else None)
        if self.n[BLOCKED]:
            return "suspended", None
        return "no_clients", None

    def reasons(self) -> str | None:
        blocked = sorted({r for r in self.suspended.values() if not _is_quota(r)})
        return "; ".join(blocked) if blocked else None


@dataclass
class _Client:
    id: str
    provider: str
    refs: dict[str, str | None]
    """Ref as registered → key it counts for (None: removed, counted for nothing)."""
    removed: dict[str, Removed]


class _Located(NamedTuple):
    """Where a (provider, ref) leads in one catalog. A tuple: tens of thousands are made per
    catalog refresh, and a frozen dataclass costs several times more to build."""

    key: str | None
    in_catalog: bool
    removed: Removed | None = None
    note: str | None = None


class _CatalogView:
    """What availability needs from one snapshot: resolution of refs, order, filter masks."""

    def __init__(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot
        self.index: CatalogIndex | None = snapshot.index if snapshot else None
        self.native: dict[tuple[str, str], str] = {}
        self.native_any: dict[str, str] = {}  # native id → model, when only one model has it
        self.order: list[str] = []
        self.position: dict[str, int] = {}
        self.masks: dict[tuple[Any, ...], int] = {}
        self.located: dict[tuple[str, str], _Located] = {}
        if snapshot is None:
            return
        ambiguous: set[str] = set()
        for model in snapshot.models:
            for source in model.get("sources") or []:
                name, native = source.get("source"), source.get("nativeId")
                if name and native and name != "openrouter":
                    self.native.setdefault((str(name).lower(), str(native)), str(model["id"]))
                    seen = self.native_any.setdefault(str(native), str(model["id"]))
                    if seen != model["id"]:
                        ambiguous.add(str(native))
        for native in ambiguous:
            del self.native_any[native]
        # Newest first (`created`, unknown last), then id: bit i of the bitset is order[i].
        ranked = sorted(snapshot.models, key=lambda m: (-int(m.get("created") or 0), m["id"]))
        self.order = [str(m["id"]) for m in ranked]
        self.position = {model_id: i for i, model_id in enumerate(self.order)}

    def record(self, key: str) -> dict[str, Any] | None:
        return self.index.models.get(key) if self.index else None

    def locate(self, ref: str, provider: str) -> _Located:
        cache_key = (provider, ref)
        hit = self.located.get(cache_key)
        if hit is None:
            if len(self.located) > 200_000:  # bounded: refs come from outside
                self.located.clear()
            hit = self.located[cache_key] = self._locate(ref, provider)
        return hit

    def _locate(self, ref: str, provider: str) -> _Located:
        index = self.index
        if index is None:
            return _Located(ref, False)
        native = self.native.get((provider, ref)) or self.native_any.get(ref)
        if native is not None:
            return _Located(native, True)
        candidates = [ref]
        if provider and "/" not in ref:
            candidates.append(f"{provider}/{ref}")
        for candidate in candidates:
            found = self._follow(index, candidate)
            if found is not None:
                return found
        for candidate in candidates:
            gone = self._removed(index, candidate)
            if gone is not None:
                return gone
        # A dated snapshot id the catalog lists only undated (OpenRouter's
        # `anthropic/claude-3-opus` for `claude-3-opus-20240229`) is that model.
        undated = DATE_TAG.sub("", ref)
        if undated != ref:
            tries = [undated]
            if provider and "/" not in undated:
                tries.append(f"{provider}/{undated}")
            for candidate in tries:
                found = self._follow(index, candidate)
                if found is not None and found.key is not None:
                    note = f"{ref} is a dated id of {found.key}; counted for it"
                    return _Located(found.key, True, note=note)
        return _Located(ref, False)

    def _follow(self, index: CatalogIndex, ref: str) -> _Located | None:
        """The current model ``ref`` names, through identity-keeping hops only."""
        current, notes = ref, []
        for _ in range(8):
            if current in index.models:
                model = index.models[current]
                state = model.get("lifecycle", {}).get("state")
                if state == "deprecated":
                    target = index.redirects.get(current, {}).get("to")
                    notes.append(f"{current} is deprecated" + (f"; use {target}" if target else ""))
                return _Located(current, True, note="; ".join(notes) or None)
            if current in index.by_alias:
                current = index.by_alias[current]
                continue
            redirect = index.redirects.get(current)
            if redirect is not None and redirect.get("reason") in IDENTITY_REDIRECTS:
                notes.append(f"{current} was renamed to {redirect['to']}")
                current = str(redirect["to"])
                continue
            change = index.alias_history.get(current)
            if change is not None:
                current = str(change["modelId"])
                continue
            return None
        return None

    def _removed(self, index: CatalogIndex, ref: str) -> _Located | None:
        tomb_id = ref if ref in index.tombstones else index.tombstone_aliases.get(ref)
        redirect = index.redirects.get(ref)
        if tomb_id is None and redirect is None:
            return None
        target = resolve(ref, index).model_id
        if tomb_id is not None:
            when = str(index.tombstones[tomb_id].get("removedAt", ""))[:10]
            why = f"{ref} was removed from the catalog on {when}"
        else:
            assert redirect is not None
            why = f"{ref} is retired ({redirect.get('reason')} redirect)"
        offered = target if target and target != tomb_id else None
        why += f"; the catalog offers {offered}" if offered else "; the catalog offers no target"
        return _Located(None, False, removed=Removed(ref, why, offered))

    def mask(self, family: str | None, capabilities: frozenset[str], states: frozenset[str]) -> int:
        key = (family, capabilities, states)
        mask = self.masks.get(key)
        if mask is None:
            if len(self.masks) > 512:
                self.masks.clear()
            checks = [CAPABILITIES[c] for c in sorted(capabilities)]
            mask = 0
            assert self.index is not None
            for i, model_id in enumerate(self.order):
                model = self.index.models[model_id]
                if family is not None and model.get("family") != family:
                    continue
                if model.get("lifecycle", {}).get("state") not in states:
                    continue
                if all(check(model) for check in checks):
                    mask |= 1 << i
            self.masks[key] = mask
        return mask


_ATTACHED: weakref.WeakKeyDictionary[Registry, Availability] = weakref.WeakKeyDictionary()
_ATTACH_LOCK = threading.Lock()


class Availability:
    """Runtime availability over ``registry``; every method is thread-safe.

    ``clock`` gives the time (seconds since the epoch); ``cooldown_seconds`` is the cooldown of
    a quota error without a retry time; ``on_event`` receives an ``AvailabilityEvent`` per
    quota / suspension change (see the module docstring)."""

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
        self._view = _CatalogView(None)
        self._view_snapshot: Snapshot | None = None
        self._prep_lock = threading.Lock()
        self._pending: tuple[Snapshot | None, Snapshot | None, _CatalogView, _Changes] | None = None
        """(new snapshot, the view's snapshot it was prepared against, its view, changes)."""
        self._clients: dict[str, _Client] = {}
        self._slots: dict[str, _Slot] = {}
        self._expiry: list[tuple[float, int, str, str]] = []  # (retry_at, seq, key, client)
        self._seq = 0
        self._cooling_entries = 0  # live (client, model) cooldowns, to bound the heap
        self._bits = 0  # bit i set: view.order[i] is `available`
        self._listed: set[str] = set()  # in-catalog keys whose state is listed
        self._state_counts = dict.fromkeys(MODEL_STATES, 0)
        self._events: list[AvailabilityEvent] = []
        self.epoch = 0
        """Increments whenever a model's state, retry time or reason changes (or the catalog
        does): a serialization of the available list stays valid while it is unchanged."""
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
        if snapshot is self._view_snapshot or (pending is not None and pending[0] is snapshot):
            return
        if not force and self.registry._refresh_lock.locked():
            return  # a refresh is running: it will call sync() once it has swapped
        if not self._prep_lock.acquire(blocking=False):
            return
        try:
            with self._lock:
                base = self._view_snapshot
                pairs = list(self._view.located.items())
                clients = [(c.id, c.refs, c.removed, c.provider) for c in self._clients.values()]
            if snapshot is not base:
                view = _CatalogView(snapshot)
                self._pending = (snapshot, base, view, _changes(pairs, clients, view))
        finally:
            self._prep_lock.release()

    def _enter(self, force: bool = False) -> float:
        """Under the lock: pick up a refreshed catalog, expire cooldowns; return now."""
        snapshot = self.registry._snapshot
        if snapshot is not self._view_snapshot:
            pending = self._pending
            if pending is not None and pending[0] is snapshot and pending[1] is self._view_snapshot:
                self._pending = None
                self._rekey(snapshot, pending[2], pending[3])
            elif force or not (self._prep_lock.locked() or self.registry._refresh_lock.locked()):
                # Nobody prepared it (a thread is not preparing either): do it here.
                with gc_paused():
                    view = _CatalogView(snapshot)
                    pairs = list(self._view.located.items())
                    self._rekey(snapshot, view, _changes(pairs, [], view))
        now = self.clock()
        self._expire(now)
        return now

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

    def _emit(self, kind: str, client: str, key: str, now: float, **kw: Any) -> None:
        if self.on_event is None:
            return
        provider = self._clients[client].provider if client in self._clients else ""
        self._events.append(AvailabilityEvent(kind, client, provider, key, now, **kw))

    def _expire(self, now: float) -> None:
        heap = self._expiry
        while heap and heap[0][0] <= now:
            retry_at, _, key, client = heapq.heappop(heap)
            slot = self._slots.get(key)
            # Entries are never removed in place: a stale one (cleared, re-marked) is skipped.
            if slot is not None and slot.cooling.get(client) == retry_at:
                self._change(slot, client, partial_pop(slot.cooling, client))
                self._emit("quota_expired", client, key, now)

    def _push_expiry(self, retry_at: float, key: str, client: str) -> None:
        self._seq += 1
        heapq.heappush(self._expiry, (retry_at, self._seq, key, client))
        if len(self._expiry) > 4 * self._cooling_entries + 1024:
            # Re-marks leave stale entries behind; compact so repeats cannot grow the heap.
            self._expiry = [
                entry
                for entry in self._expiry
                if (slot := self._slots.get(entry[2])) is not None
                and slot.cooling.get(entry[3]) == entry[0]
            ]
            heapq.heapify(self._expiry)

    def _change(self, slot: _Slot, client: str, mutate: Callable[[], object]) -> None:
        """Apply ``mutate`` to one client × model and keep every counter exact."""
        before = slot.condition(client) if client in slot.clients else None
        had_cooling = client in slot.cooling
        mutate()
        self._cooling_entries += (client in slot.cooling) - had_cooling
        after = slot.condition(client) if client in slot.clients else None
        if before != after:
            if before is not None:
                slot.n[before] -= 1
                if before == AVAILABLE:
                    _dec(slot.avail_by_provider, self._provider_of(slot, client))
            if after is not None:
                slot.n[after] += 1
                if after == AVAILABLE:
                    _inc(slot.avail_by_provider, slot.clients[client])
        self._restate(slot)

    def _provider_of(self, slot: _Slot, client: str) -> str:
        # Called for a client being detached too: its provider is still on the client record.
        return slot.clients.get(client) or self._clients[client].provider

    def _restate(self, slot: _Slot) -> None:
        state, retry_at = slot.derive()
        if state == slot.state and retry_at == slot.retry_at and state != "suspended":
            return
        old = slot.state
        slot.state, slot.retry_at = state, retry_at
        # A suspended model's reasons may have changed: one more rebuild of a cached list is
        # cheaper than tracking them.
        self.epoch += 1
        if old == state:
            return
        self._state_counts[old] -= 1
        self._state_counts[state] += 1
        if slot.in_catalog:
            position = self._view.position.get(slot.key)
            if position is not None and (old == "available") != (state == "available"):
                self._bits ^= 1 << position
            if state in LISTED_STATES:
                self._listed.add(slot.key)
            else:
                self._listed.discard(slot.key)

    def _attach(self, key: str, in_catalog: bool, client: str, provider: str) -> None:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot(key, in_catalog)
            self._state_counts["no_clients"] += 1
        _inc(slot.by_provider, provider)
        self._change(slot, client, lambda: slot.clients.__setitem__(client, provider))

    def _detach(self, key: str, client: str) -> None:
        slot = self._slots[key]
        provider = slot.clients[client]

        def mutate() -> None:
            del slot.clients[client]
            slot.cooling.pop(client, None)
            slot.suspended.pop(client, None)

        self._change(slot, client, mutate)
        _dec(slot.by_provider, provider)
        if not slot.clients:
            self._state_counts[slot.state] -= 1
            self._listed.discard(slot.key)
            del self._slots[key]

    def _reprovider(self, key: str, client: str, provider: str) -> None:
        """Move a client's counts to its new provider, keeping its condition and state."""
        slot = self._slots[key]
        old = slot.clients[client]
        _dec(slot.by_provider, old)
        _inc(slot.by_provider, provider)
        if slot.condition(client) == AVAILABLE:
            _dec(slot.avail_by_provider, old)
            _inc(slot.avail_by_provider, provider)
        slot.clients[client] = provider

    def _set_cooling(self, slot: _Slot, client: str, retry_at: float) -> None:
        self._change(slot, client, lambda: slot.cooling.__setitem__(client, retry_at))
        self._push_expiry(retry_at, slot.key, client)

    def _locate_all(
        self, client_id: str, provider: str, refs: Iterable[str], result: Registration
    ) -> tuple[dict[str, str | None], dict[str, Removed]]:
        mapped: dict[str, str | None] = {}
        removed: dict[str, Removed] = {}
        for ref in refs:
            if ref in mapped or ref in removed:
                continue  # a duplicate counts once
            located = self._view.locate(ref, provider)
            if located.removed is not None:
                removed[ref] = located.removed
                result.removed.append(located.removed)
                result.warnings.append(f"client {client_id}: {located.removed.reason}")
                continue
            assert located.key is not None
            mapped[ref] = located.key
            if located.in_catalog:
                result.counted[ref] = located.key
            else:
                result.unknown.append(ref)
            if located.note:
                result.warnings.append(f"client {client_id}: {located.note}")
        return mapped, removed

    def _reconcile(
        self, client: _Client, provider: str, refs: Sequence[str], now: float
    ) -> Registration:
        """Point ``client`` at ``refs`` (resolved now): detach what it no longer serves,
        attach what is new, move counts on a provider change; keep quota and suspension state
        of the models it still serves."""
        result = Registration(client.id, provider)
        mapped, removed = self._locate_all(client.id, provider, refs, result)
        old_keys = {key for key in client.refs.values() if key is not None}
        new_keys = {key for key in mapped.values() if key is not None}
        in_catalog = {key: ref in result.counted for ref, key in mapped.items() if key}
        for key in sorted(old_keys - new_keys):
            self._detach(key, client.id)
            result.dropped.append(key)
        if provider != client.provider:
            for key in old_keys & new_keys:
                self._reprovider(key, client.id, provider)
        client.provider = provider
        for key in sorted(new_keys - old_keys):
            self._attach(key, in_catalog[key], client.id, provider)
            result.added.append(key)
        newly_removed = [r for ref, r in removed.items() if ref not in client.removed]
        client.refs, client.removed = mapped, removed
        for gone in newly_removed:
            log.warning(
                "client registers a model the catalog removed; not counted",
                extra={"client": client.id, "ref": gone.ref, "offered": gone.redirect_to},
            )
            self._emit("removed_model", client.id, gone.ref, now, reason=gone.reason)
        return result

    def _rekey(
        self,
        snapshot: Snapshot | None,
        new: _CatalogView,
        changes: _Changes,
    ) -> None:
        """A new catalog: resolve every client's refs again. Clients whose refs still name the
        same models are left alone (the common case: a refresh that changed prices); for the
        others, the quota and suspension state of each ref moves to the model it now names.
        Catalog membership and the newest-first bitset are rebuilt for the new order."""
        checked, moved = changes.checked, changes.moved
        self._view = new
        self._view_snapshot = snapshot
        self._list_cache.clear()
        self.epoch += 1
        now = self.clock()
        for client in list(self._clients.values()):
            seen = changes.unchanged.get(client.id)
            if (
                seen is not None
                and seen[0] is client.refs
                and seen[1] is client.removed
                and seen[2] == client.provider
            ):
                continue
            refs = [*client.refs, *client.removed]
            provider = client.provider
            if not any((provider, r) in moved or (provider, r) not in checked for r in refs):
                continue
            probe = Registration(client.id, client.provider)
            mapped, removed = self._locate_all(client.id, client.provider, refs, probe)
            if mapped == client.refs and removed.keys() == client.removed.keys():
                continue
            carried: dict[str, tuple[float | None, str | None]] = {}
            for ref, key in client.refs.items():
                slot = self._slots.get(key) if key is not None else None
                if slot is None or mapped.get(ref) == key:
                    continue
                state = (slot.cooling.get(client.id), slot.suspended.get(client.id))
                if state != (None, None):
                    carried[ref] = state
            self._reconcile(client, client.provider, refs, now)
            for ref, (retry_at, reason) in carried.items():
                key = client.refs.get(ref)
                if key is None:
                    continue
                slot = self._slots[key]
                if retry_at is not None and retry_at > max(now, slot.cooling.get(client.id, 0.0)):
                    self._set_cooling(slot, client.id, retry_at)
                if reason is not None and client.id not in slot.suspended:
                    self._change(slot, client.id, partial_set(slot.suspended, client.id, reason))
        index = self._view.index
        bits = bytearray((len(self._view.order) + 7) // 8)
        self._listed.clear()
        for slot in self._slots.values():
            slot.in_catalog = index is not None and slot.key in index.models
            if not slot.in_catalog:
                continue
            if slot.state in LISTED_STATES:
                self._listed.add(slot.key)
            position = self._view.position.get(slot.key)
            if slot.state == "available" and position is not None:
                bits[position >> 3] |= 1 << (position & 7)
        self._bits = int.from_bytes(bits, "little")

    def _client(self, client_id: str) -> _Client:
        client = self._clients.get(client_id)
        if client is None:
            raise AvailabilityError(f"no client {client_id!r} is registered")
        return client

    def _targets(self, client: _Client, model: str | None) -> list[_Slot]:
        """The slots a change of ``client`` applies to: one model (by any ref) or all."""
        if model is None:
            keys = {key for key in client.refs.values() if key is not None}
            return [self._slots[key] for key in sorted(keys)]
        key = client.refs.get(model)
        if key is None:
            if model in client.removed:
                raise AvailabilityError(
                    f"client {client.id!r}: {client.removed[model].reason}; it counts for nothing"
                )
            located = self._view.locate(model, client.provider)
            key = located.key
        slot = self._slots.get(key) if key is not None else None
        if slot is None or client.id not in slot.clients:
            raise AvailabilityError(f"client {client.id!r} does not serve model {model!r}")
        return [slot]

    # -- state changes -------------------------------------------------------------------------

    def register(self, client_id: str, provider: str, models: Iterable[str]) -> Registration:
        """Register ``client_id`` (a name, not a secret) of ``provider`` serving ``models``, or
        reconcile an existing client with its new list. Duplicates and refs naming the same
        model count once. Returns what was counted, removed refs (with the catalog's offered
        target), unknown refs and the models added and dropped."""
        client_id = _name("client_id", client_id)
        provider = _name("provider", provider).lower()
        refs = [_name("model", str(ref)) for ref in _bounded(models)]
        self._prepare()
        with self._lock:
            now = self._enter()
            client = self._clients.get(client_id)
            if client is None:
                client = self._clients[client_id] = _Client(client_id, provider, {}, {})
            result = self._reconcile(client, provider, refs, now)
        self._leave()
        return result

    def unregister(self, client_id: str) -> bool:
        """Forget a client and its quota and suspension state; False when it was unknown."""
        self._prepare()
        with self._lock:
            self._enter()
            client = self._clients.get(client_id)
            if client is None:
                return False
            for key in sorted({key for key in client.refs.values() if key is not None}):
                self._detach(key, client_id)
            del self._clients[client_id]
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
        self._prepare()
        with self._lock:
            now = self._enter()
            if retry_at is None:
                after = self.cooldown_seconds if retry_after is None else float(retry_after)
                retry_at = now + max(0.0, after)
            if not math.isfinite(retry_at):
                raise ValueError(f"retry_at: not a finite time ({retry_at!r})")
            retry_at = min(float(retry_at), now + MAX_COOLDOWN_SECONDS)
            client = self._client(client_id)
            for slot in self._targets(client, model):
                if retry_at > now and retry_at > slot.cooling.get(client_id, 0.0):
                    self._set_cooling(slot, client_id, retry_at)
                    self._emit("quota_exceeded", client_id, slot.key, now, retry_at=retry_at)
        self._leave()
        return retry_at

    def clear_quota(self, client_id: str, model: str | None = None) -> None:
        """The client serves ``model`` (all its models when None) again before its retry time."""
        self._prepare()
        with self._lock:
            now = self._enter()
            for slot in self._targets(self._client(client_id), model):
                if client_id in slot.cooling:
                    self._change(slot, client_id, partial_pop(slot.cooling, client_id))
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
            for slot in self._targets(self._client(client_id), model):
                if slot.suspended.get(client_id) != reason:
                    self._change(slot, client_id, partial_set(slot.suspended, client_id, reason))
                    self._emit("suspended", client_id, slot.key, now, reason=reason)
        self._leave()

    def resume(self, client_id: str, model: str | None = None) -> None:
        """End a suspension of the client for ``model`` (all its models when None)."""
        self._prepare()
        with self._lock:
            now = self._enter()
            for slot in self._targets(self._client(client_id), model):
                if client_id in slot.suspended:
                    self._change(slot, client_id, partial_pop(slot.suspended, client_id))
                    self._emit("resumed", client_id, slot.key, now)
        self._leave()

    # -- queries -------------------------------------------------------------------------------

    def _key(self, ref: str) -> tuple[str | None, _Located | None]:
        if ref in self._slots:
            return ref, None
        located = self._view.locate(ref, "")
        return located.key, located

    def _model_state(self, slot: _Slot) -> ModelState:
        return ModelState(
            model_id=slot.key,
            state=slot.state,
            clients=len(slot.clients),
            available=slot.n[AVAILABLE],
            cooling_down=slot.n[COOLING],
            suspended=slot.n[BLOCKED],
            retry_at=slot.retry_at,
            reason=slot.reasons() if slot.state == "suspended" else None,
            in_catalog=slot.in_catalog,
        )

    def state(self, ref: str) -> ModelState:
        """The state of the model ``ref`` names (id, alias, old id, native id): `available`,
        `cooling_down` with `retry_at`, `suspended` with the reasons, `no_clients`, or
        `removed` with the catalog's offered target."""
        self._prepare()
        with self._lock:
            self._enter()
            key, located = self._key(ref)
            slot = self._slots.get(key) if key is not None else None
            if slot is not None:
                result = self._model_state(slot)
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
            slot = self._slots.get(key) if key is not None else None
            available = slot.n[AVAILABLE] if slot is not None else 0
        self._leave()
        return available

    def available_clients(self, ref: str) -> list[str]:
        """The clients that can serve the model now, by name (pick one to route a request)."""
        self._prepare()
        with self._lock:
            self._enter()
            key, _ = self._key(ref)
            slot = self._slots.get(key) if key is not None else None
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
            slot = self._slots.get(key) if key is not None else None
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
            client = self._client(client_id)
            by_key: dict[str, list[str]] = {}
            for ref, key in client.refs.items():
                if key is not None:
                    by_key.setdefault(key, []).append(ref)
            out = []
            for key, refs in sorted(by_key.items()):
                slot = self._slots[key]
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
            client = self._client(client_id)
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
            return sorted(self._clients)

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
            view = self._view
            if view.index is None:
                found = None
            else:
                bits = self._bits & view.mask(family, caps, wanted_states)
                found = None
                while bits:
                    low = bits & -bits
                    model_id = view.order[low.bit_length() - 1]
                    slot = self._slots[model_id]
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
            listed = self._listed
            kept = [record for record in records if record.get("id") in listed]
            states = {str(r["id"]): self._model_state(self._slots[str(r["id"])]) for r in kept}
        self._leave()
        return kept, states

    def stamp(self) -> tuple[Any, ...]:
        """Changes whenever the available list may change (catalog version or availability),
        after expiring what is due: key a cached serialization on it."""
        self._prepare()
        with self._lock:
            self._enter()
            snapshot = self._view_snapshot
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
        """Counts for metrics and status: clients, models by state."""
        self._prepare()
        with self._lock:
            self._enter()
            out = {
                "clients": len(self._clients),
                "models": dict(self._state_counts),
                "coolingEntries": self._cooling_entries,
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


@dataclass
class _Changes:
    """What a new catalog changes, worked out before the lock is taken to apply it."""

    checked: set[tuple[str, str]]
    """(provider, ref) pairs resolved in the old catalog when the work started."""
    moved: set[tuple[str, str]]
    """Those of them that resolve differently in the new catalog."""
    unchanged: dict[str, tuple[object, object, str]]
    """Client → (its refs, its removed refs, provider) as seen then, for clients none of whose
    refs moved: still the same objects at apply time (they are replaced, never mutated, on a
    change) means the client needs nothing."""


def _changes(
    pairs: list[tuple[tuple[str, str], _Located]],
    clients: list[tuple[str, dict[str, str | None], dict[str, Removed], str]],
    view: _CatalogView,
) -> _Changes:
    checked = {pair for pair, _ in pairs}
    moved = set()
    for pair, before in pairs:
        after = view.locate(pair[1], pair[0])
        if after.key != before.key or after.removed != before.removed:
            moved.add(pair)
    unchanged: dict[str, tuple[object, object, str]] = {}
    for client_id, refs, removed, provider in clients:
        if all(
            (provider, ref) in checked and (provider, ref) not in moved for ref in (*refs, *removed)
        ):
            unchanged[client_id] = (refs, removed, provider)
    return _Changes(checked, moved, unchanged)


# ── helpers ──────────────────────────────────────────────────────────────────────────────


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


def _inc(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def _dec(counts: dict[str, int], key: str) -> None:
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]


def partial_set(target: dict[str, Any], key: str, value: Any) -> Callable[[], None]:
    def apply() -> None:
        target[key] = value

    return apply


def partial_pop(target: dict[str, Any], key: str) -> Callable[[], None]:
    def apply() -> None:
        target.pop(key, None)

    return apply


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


__all__ = [
    "DEFAULT_COOLDOWN_SECONDS",
    "MAX_COOLDOWN_SECONDS",
    "Availability",
    "AvailabilityError",
    "AvailabilityEvent",
    "ClientModel",
    "ModelState",
    "ProviderCount",
    "Registration",
    "Removed",
    "attach_states",
]
