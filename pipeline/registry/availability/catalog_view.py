"""One catalog as the availability overlay sees it: where each (provider, ref) a client
registers leads, the newest-first order of the models, and the filter masks over that order.

``CatalogView.locate`` decides what a ref counts for: a native id of the client's provider
(``sources[].nativeId``), an exact id or alias, ``<provider>/<ref>``, an old alias, or an old
id renamed to a new one; a dated snapshot id of a model listed undated. A ref the catalog has
removed (tombstoned, or only reachable by a redirect to another model) counts for nothing and
carries the catalog's offered target; a ref the catalog does not know counts under itself.

``changes`` compares the refs located in one view with a new one, so a refresh re-keys only
the clients whose refs now lead elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from pipeline.registry.availability.values import Removed
from pipeline.registry.core import Snapshot
from pipeline.registry.filters import CAPABILITIES
from pipeline.resolve import CatalogIndex, resolve

IDENTITY_REDIRECTS = frozenset({"rename"})
"""Redirect reasons that keep the model: a rename has the same canonical slug, so a client
serving the old id serves the new one. `variant`, `override` and `family-fallback` send callers
to a *different* model, which the client never said it serves."""

DATE_TAG = re.compile(r"-(\d{4}-\d{2}-\d{2}|(19|20)\d{6})$")
"""A trailing snapshot date (`-2024-08-06`, `-20240229`). The alias stage strips more tags
(revisions like `-0613`), but a revision can be a different model, and importing the stage
would load pydantic into the reader."""


class Located(NamedTuple):
    """Where a (provider, ref) leads in one catalog. A tuple: tens of thousands are made per
    catalog refresh, and a frozen dataclass costs several times more to build."""

    key: str | None
    in_catalog: bool
    removed: Removed | None = None
    note: str | None = None


class CatalogView:
    """What availability needs from one snapshot: resolution of refs, order, filter masks."""

    def __init__(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot
        self.index: CatalogIndex | None = snapshot.index if snapshot else None
        self.native: dict[tuple[str, str], str] = {}
        self.native_any: dict[str, str] = {}  # native id → model, when only one model has it
        self.order: list[str] = []
        self.position: dict[str, int] = {}
        self.masks: dict[tuple[Any, ...], int] = {}
        self.located: dict[tuple[str, str], Located] = {}
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

    def locate(self, ref: str, provider: str) -> Located:
        cache_key = (provider, ref)
        hit = self.located.get(cache_key)
        if hit is None:
            if len(self.located) > 200_000:  # bounded: refs come from outside
                self.located.clear()
            hit = self.located[cache_key] = self._locate(ref, provider)
        return hit

    def _locate(self, ref: str, provider: str) -> Located:
        index = self.index
        if index is None:
            return Located(ref, False)
        native = self.native.get((provider, ref)) or self.native_any.get(ref)
        if native is not None:
            return Located(native, True)
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
                    return Located(found.key, True, note=note)
        return Located(ref, False)

    def _follow(self, index: CatalogIndex, ref: str) -> Located | None:
        """The current model ``ref`` names, through identity-keeping hops only."""
        current, notes = ref, []
        for _ in range(8):
            if current in index.models:
                model = index.models[current]
                state = model.get("lifecycle", {}).get("state")
                if state == "deprecated":
                    target = index.redirects.get(current, {}).get("to")
                    notes.append(f"{current} is deprecated" + (f"; use {target}" if target else ""))
                return Located(current, True, note="; ".join(notes) or None)
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

    def _removed(self, index: CatalogIndex, ref: str) -> Located | None:
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
        return Located(None, False, removed=Removed(ref, why, offered))

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


@dataclass
class Changes:
    """What a new catalog changes, worked out before the lock is taken to apply it."""

    checked: set[tuple[str, str]]
    """(provider, ref) pairs resolved in the old catalog when the work started."""
    moved: set[tuple[str, str]]
    """Those of them that resolve differently in the new catalog."""
    unchanged: dict[str, tuple[object, object, str]]
    """Client → (its refs, its removed refs, provider) as seen then, for clients none of whose
    refs moved: still the same objects at apply time (they are replaced, never mutated, on a
    change) means the client needs nothing."""


def changes(
    pairs: list[tuple[tuple[str, str], Located]],
    clients: list[tuple[str, dict[str, str | None], dict[str, Removed], str]],
    view: CatalogView,
) -> Changes:
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
    return Changes(checked, moved, unchanged)


__all__ = ["DATE_TAG", "IDENTITY_REDIRECTS", "CatalogView", "Changes", "Located", "changes"]
