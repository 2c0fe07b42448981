"""The availability overlay's counts: per model, its clients and how many can serve it now.

One client × one model is in exactly one condition: *available*, *cooling* (quota exceeded
until a retry time, or suspended for `quota`) or *blocked* (suspended for another reason). A
``Slot`` holds one model's clients with their provider, cooldowns and suspensions, and counts
per condition and per provider; the model's state follows from the counts. The ``Ledger`` holds
the slots and what spans them: the newest-first bitset of available models, the set of listed
ones, the totals per state, the heap of cooldowns in expiry order, and an epoch that moves on
every change a cached list could show.

Every change goes through ``Ledger.change``, which keeps all of those exact, so a query reads
counters instead of scanning clients. Not thread-safe: the overlay calls it under its lock.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from typing import Any

from pipeline.registry.availability.catalog_view import CatalogView
from pipeline.registry.availability.values import LISTED_STATES, MODEL_STATES, ModelState, is_quota

AVAILABLE, COOLING, BLOCKED = 0, 1, 2
"""Condition of one client for one model."""


class Slot:
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
            return COOLING if is_quota(reason) else BLOCKED
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
        blocked = sorted({r for r in self.suspended.values() if not is_quota(r)})
        return "; ".join(blocked) if blocked else None

    def model_state(self) -> ModelState:
        return ModelState(
            model_id=self.key,
            state=self.state,
            clients=len(self.clients),
            available=self.n[AVAILABLE],
            cooling_down=self.n[COOLING],
            suspended=self.n[BLOCKED],
            retry_at=self.retry_at,
            reason=self.reasons() if self.state == "suspended" else None,
            in_catalog=self.in_catalog,
        )


class Ledger:
    """Every model's slot and the counters across them (see the module docstring)."""

    def __init__(self) -> None:
        self.slots: dict[str, Slot] = {}
        self.position: Mapping[str, int] = {}
        """Model id → its bit in ``bits`` (the catalog view's newest-first order)."""
        self.bits = 0
        """Bit i set: the model at position i is `available`."""
        self.listed: set[str] = set()
        """In-catalog models whose state is listed (available or cooling down)."""
        self.state_counts = dict.fromkeys(MODEL_STATES, 0)
        self.expiry: list[tuple[float, int, str, str]] = []
        """Cooldowns in expiry order: (retry_at, seq, model, client)."""
        self.seq = 0
        self.cooling_entries = 0
        """Live (client, model) cooldowns, to bound the heap."""
        self.epoch = 0
        """Increments whenever a model's state, retry time or reason changes (or the catalog
        does): a serialization of the available list stays valid while it is unchanged."""

    # -- one client × model ----------------------------------------------------------------

    def change(self, slot: Slot, client: str, mutate: Callable[[], object]) -> None:
        """Apply ``mutate`` to one client × model and keep every counter exact."""
        # The provider the client was counted under (a detached client is gone after mutate).
        provider = slot.clients.get(client)
        before = slot.condition(client) if provider is not None else None
        had_cooling = client in slot.cooling
        mutate()
        self.cooling_entries += (client in slot.cooling) - had_cooling
        after = slot.condition(client) if client in slot.clients else None
        if before != after:
            if before is not None:
                slot.n[before] -= 1
                if before == AVAILABLE:
                    assert provider is not None
                    _dec(slot.avail_by_provider, provider)
            if after is not None:
                slot.n[after] += 1
                if after == AVAILABLE:
                    _inc(slot.avail_by_provider, slot.clients[client])
        self._restate(slot)

    def set_cooling(self, slot: Slot, client: str, retry_at: float) -> None:
        self.change(slot, client, _setter(slot.cooling, client, retry_at))
        self._push_expiry(retry_at, slot.key, client)

    def clear_cooling(self, slot: Slot, client: str) -> None:
        self.change(slot, client, _popper(slot.cooling, client))

    def suspend(self, slot: Slot, client: str, reason: str) -> None:
        self.change(slot, client, _setter(slot.suspended, client, reason))

    def resume(self, slot: Slot, client: str) -> None:
        self.change(slot, client, _popper(slot.suspended, client))

    def attach(self, key: str, in_catalog: bool, client: str, provider: str) -> None:
        """Count ``client`` (of ``provider``) for the model ``key``, creating its slot."""
        slot = self.slots.get(key)
        if slot is None:
            slot = self.slots[key] = Slot(key, in_catalog)
            self.state_counts["no_clients"] += 1
        _inc(slot.by_provider, provider)
        self.change(slot, client, _setter(slot.clients, client, provider))

    def detach(self, key: str, client: str) -> None:
        """Stop counting ``client`` for ``key`` (its cooldown and suspension go too)."""
        slot = self.slots[key]
        provider = slot.clients[client]

        def mutate() -> None:
            del slot.clients[client]
            slot.cooling.pop(client, None)
            slot.suspended.pop(client, None)

        self.change(slot, client, mutate)
        _dec(slot.by_provider, provider)
        if not slot.clients:
            self.state_counts[slot.state] -= 1
            self.listed.discard(slot.key)
            del self.slots[key]

    def reprovider(self, key: str, client: str, provider: str) -> None:
        """Move a client's counts to its new provider, keeping its condition and state."""
        slot = self.slots[key]
        old = slot.clients[client]
        _dec(slot.by_provider, old)
        _inc(slot.by_provider, provider)
        if slot.condition(client) == AVAILABLE:
            _dec(slot.avail_by_provider, old)
            _inc(slot.avail_by_provider, provider)
        slot.clients[client] = provider

    # -- across models ---------------------------------------------------------------------

    def expire(self, now: float) -> list[tuple[str, str]]:
        """End the cooldowns due by ``now``; the (client, model) pairs that came back."""
        heap = self.expiry
        expired: list[tuple[str, str]] = []
        while heap and heap[0][0] <= now:
            retry_at, _, key, client = heapq.heappop(heap)
            slot = self.slots.get(key)
            # Entries are never removed in place: a stale one (cleared, re-marked) is skipped.
            if slot is not None and slot.cooling.get(client) == retry_at:
                self.change(slot, client, _popper(slot.cooling, client))
                expired.append((client, key))
        return expired

    def rebuild(self, view: CatalogView) -> None:
        """After a new catalog (``view``, whose order ``position`` already follows): each
        slot's membership, the listed set and the bitset of available models, from scratch."""
        index = view.index
        bits = bytearray((len(view.order) + 7) // 8)
        self.listed.clear()
        for slot in self.slots.values():
            slot.in_catalog = index is not None and slot.key in index.models
            if not slot.in_catalog:
                continue
            if slot.state in LISTED_STATES:
                self.listed.add(slot.key)
            position = self.position.get(slot.key)
            if slot.state == "available" and position is not None:
                bits[position >> 3] |= 1 << (position & 7)
        self.bits = int.from_bytes(bits, "little")

    def _push_expiry(self, retry_at: float, key: str, client: str) -> None:
        self.seq += 1
        heapq.heappush(self.expiry, (retry_at, self.seq, key, client))
        if len(self.expiry) > 4 * self.cooling_entries + 1024:
            # Re-marks leave stale entries behind; compact so repeats cannot grow the heap.
            self.expiry = [
                entry
                for entry in self.expiry
                if (slot := self.slots.get(entry[2])) is not None
                and slot.cooling.get(entry[3]) == entry[0]
            ]
            heapq.heapify(self.expiry)

    def _restate(self, slot: Slot) -> None:
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
        self.state_counts[old] -= 1
        self.state_counts[state] += 1
        if slot.in_catalog:
            position = self.position.get(slot.key)
            if position is not None and (old == "available") != (state == "available"):
                self.bits ^= 1 << position
            if state in LISTED_STATES:
                self.listed.add(slot.key)
            else:
                self.listed.discard(slot.key)


def _inc(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def _dec(counts: dict[str, int], key: str) -> None:
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]


def _setter(target: dict[str, Any], key: str, value: Any) -> Callable[[], None]:
    def apply() -> None:
        target[key] = value

    return apply


def _popper(target: dict[str, Any], key: str) -> Callable[[], None]:
    def apply() -> None:
        target.pop(key, None)

    return apply


__all__ = ["AVAILABLE", "BLOCKED", "COOLING", "Ledger", "Slot"]
