"""The availability overlay's clients: who registered which refs, and which model each ref
counts for in the current catalog.

A registration is reconciled against the current ``CatalogView``: refs that now name other
models are detached and attached in the ``Ledger``, and a provider change moves the client's
counts. When the catalog changes, ``rekey`` reconciles only the clients whose refs now lead
elsewhere, carrying their quota and suspension state to the model each ref names now. Not
thread-safe: the overlay calls it under its lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.registry.availability.catalog_view import CatalogView, Changes
from pipeline.registry.availability.ledger import Ledger, Slot
from pipeline.registry.availability.values import (
    MAX_CLIENTS_PER_OWNER,
    MAX_REFS_PER_OWNER,
    MAX_UNKNOWN_PER_CLIENT,
    MAX_UNKNOWN_PER_OWNER,
    AvailabilityError,
    Registration,
    Removed,
)
from pipeline.registry.core import Snapshot

# The package's logger: the lines are the overlay's, whichever module writes them.
log = logging.getLogger("pipeline.registry.availability")


@dataclass
class Client:
    id: str
    provider: str
    refs: dict[str, str | None]
    """Ref as registered → key it counts for (None: removed, counted for nothing)."""
    removed: dict[str, Removed]
    owner: str | None = None
    """The gateway identity that registered it over HTTP (None: the embedding library)."""
    unknown: int = 0
    """Refs the catalog does not know (each counted under the ref itself)."""

    @property
    def size(self) -> int:
        """Refs held, removed ones included (what the owner's limit counts)."""
        return len(self.refs) + len(self.removed)


class Roster:
    """The registered clients over one ledger, and the catalog view their refs resolve in."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.clients: dict[str, Client] = {}
        self.view = CatalogView(None)
        self.snapshot: Snapshot | None = None
        """The snapshot ``view`` was built from."""
        self._removed: list[tuple[str, Removed]] = []
        self.by_owner: dict[str, set[str]] = {}
        """Owner → its clients' ids, for the per-owner limits."""

    def owned(self, owner: str, but: str | None = None) -> tuple[int, int, int]:
        """(clients, refs, unknown refs) of ``owner``'s clients, ``but`` one left out."""
        clients = refs = unknown = 0
        for client_id in self.by_owner.get(owner, ()):
            if client_id != but:
                client = self.clients[client_id]
                clients, refs, unknown = clients + 1, refs + client.size, unknown + client.unknown
        return clients, refs, unknown

    def take_removed(self) -> list[tuple[str, Removed]]:
        """(client, ref) of the removed models clients newly hold since the last call, in
        order: the overlay reports each as a `removed_model` event."""
        taken, self._removed = self._removed, []
        return taken

    def client(self, client_id: str) -> Client:
        client = self.clients.get(client_id)
        if client is None:
            raise AvailabilityError(f"no client {client_id!r} is registered")
        return client

    def targets(self, client: Client, model: str | None) -> list[Slot]:
        """The slots a change of ``client`` applies to: one model (by any ref) or all."""
        slots = self.ledger.slots
        if model is None:
            keys = {key for key in client.refs.values() if key is not None}
            return [slots[key] for key in sorted(keys)]
        key = client.refs.get(model)
        if key is None:
            if model in client.removed:
                raise AvailabilityError(
                    f"client {client.id!r}: {client.removed[model].reason}; it counts for nothing"
                )
            located = self.view.locate(model, client.provider)
            key = located.key
        slot = slots.get(key) if key is not None else None
        if slot is None or client.id not in slot.clients:
            raise AvailabilityError(f"client {client.id!r} does not serve model {model!r}")
        return [slot]

    def register(
        self, client_id: str, provider: str, refs: Sequence[str], owner: str | None = None
    ) -> Registration:
        """Add ``client_id`` (of ``owner``) or reconcile it with its new provider and refs (an
        existing client keeps its first owner). Over a limit (unknown refs per client; an
        owner's clients, refs or unknown refs) it raises ValueError naming the limit, before
        anything changed."""
        client = self.clients.get(client_id)
        if client is None:
            fresh = Client(client_id, provider, {}, {}, owner)
            result = self.reconcile(fresh, provider, refs, check=True)  # raises before changes
            self.clients[client_id] = fresh
            if owner is not None:
                self.by_owner.setdefault(owner, set()).add(client_id)
            return result
        return self.reconcile(client, provider, refs, check=True)

    def _check(self, client: Client, mapped: int, unknown: int) -> None:
        """Raise ValueError when ``client`` holding ``mapped`` refs, ``unknown`` of them
        unknown to the catalog, would break a limit."""
        if unknown > MAX_UNKNOWN_PER_CLIENT:
            raise ValueError(
                f"client {client.id!r}: {unknown} refs the catalog does not know "
                f"(MAX_UNKNOWN_PER_CLIENT {MAX_UNKNOWN_PER_CLIENT}); register catalog ids"
            )
        owner = client.owner
        if owner is None:
            return
        clients, refs, unknowns = self.owned(owner, but=client.id)
        if client.id not in self.clients and clients >= MAX_CLIENTS_PER_OWNER:
            raise ValueError(
                f"gateway {owner!r} already has {clients} clients "
                f"(MAX_CLIENTS_PER_OWNER {MAX_CLIENTS_PER_OWNER}); unregister some first"
            )
        if refs + mapped > MAX_REFS_PER_OWNER:
            raise ValueError(
                f"gateway {owner!r} would hold {refs + mapped} model refs over its clients "
                f"(MAX_REFS_PER_OWNER {MAX_REFS_PER_OWNER})"
            )
        if unknowns + unknown > MAX_UNKNOWN_PER_OWNER:
            raise ValueError(
                f"gateway {owner!r} would hold {unknowns + unknown} refs the catalog does not "
                f"know (MAX_UNKNOWN_PER_OWNER {MAX_UNKNOWN_PER_OWNER})"
            )

    def unregister(self, client_id: str) -> bool:
        """Forget a client and its counts; False when it was unknown."""
        client = self.clients.get(client_id)
        if client is None:
            return False
        for key in sorted({key for key in client.refs.values() if key is not None}):
            self.ledger.detach(key, client_id)
        del self.clients[client_id]
        if client.owner is not None:
            mine = self.by_owner[client.owner]
            mine.discard(client_id)
            if not mine:
                del self.by_owner[client.owner]
        return True

    def reconcile(
        self, client: Client, provider: str, refs: Sequence[str], *, check: bool = False
    ) -> Registration:
        """Point ``client`` at ``refs`` (resolved now): detach what it no longer serves,
        attach what is new, move counts on a provider change; keep quota and suspension state
        of the models it still serves. With ``check``, a registration over a limit raises first."""
        ledger = self.ledger
        result = Registration(client.id, provider)
        mapped, removed = self._locate_all(client.id, provider, refs, result)
        if check:
            self._check(client, len(mapped) + len(removed), len(result.unknown))
        client.unknown = len(result.unknown)
        old_keys = {key for key in client.refs.values() if key is not None}
        new_keys = {key for key in mapped.values() if key is not None}
        in_catalog = {key: ref in result.counted for ref, key in mapped.items() if key}
        for key in sorted(old_keys - new_keys):
            ledger.detach(key, client.id)
            result.dropped.append(key)
        if provider != client.provider:
            for key in old_keys & new_keys:
                ledger.reprovider(key, client.id, provider)
        client.provider = provider
        for key in sorted(new_keys - old_keys):
            ledger.attach(key, in_catalog[key], client.id, provider)
            result.added.append(key)
        newly_removed = [r for ref, r in removed.items() if ref not in client.removed]
        client.refs, client.removed = mapped, removed
        for gone in newly_removed:
            log.warning(
                "client registers a model the catalog removed; not counted",
                extra={"client": client.id, "ref": gone.ref, "offered": gone.redirect_to},
            )
            self._removed.append((client.id, gone))
        return result

    def rekey(
        self, snapshot: Snapshot | None, new: CatalogView, changes: Changes, now: float
    ) -> None:
        """A new catalog: resolve every client's refs again. Clients whose refs still name the
        same models are left alone (the common case: a refresh that changed prices); for the
        others, the quota and suspension state of each ref moves to the model it now names.
        Catalog membership and the newest-first bitset are rebuilt for the new order."""
        ledger = self.ledger
        checked, moved = changes.checked, changes.moved
        self.view = new
        self.snapshot = snapshot
        ledger.position = new.position
        ledger.epoch += 1
        for client in list(self.clients.values()):
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
                slot = ledger.slots.get(key) if key is not None else None
                if slot is None or mapped.get(ref) == key:
                    continue
                state = (slot.cooling.get(client.id), slot.suspended.get(client.id))
                if state != (None, None):
                    carried[ref] = state
            self.reconcile(client, client.provider, refs)
            for ref, (retry_at, reason) in carried.items():
                key = client.refs.get(ref)
                if key is None:
                    continue
                slot = ledger.slots[key]
                if retry_at is not None and retry_at > max(now, slot.cooling.get(client.id, 0.0)):
                    ledger.set_cooling(slot, client.id, retry_at)
                if reason is not None and client.id not in slot.suspended:
                    ledger.suspend(slot, client.id, reason)
        ledger.rebuild(new)

    def _locate_all(
        self, client_id: str, provider: str, refs: Iterable[str], result: Registration
    ) -> tuple[dict[str, str | None], dict[str, Removed]]:
        mapped: dict[str, str | None] = {}
        removed: dict[str, Removed] = {}
        for ref in refs:
            if ref in mapped or ref in removed:
                continue  # a duplicate counts once
            located = self.view.locate(ref, provider)
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


__all__ = ["Client", "Roster"]
