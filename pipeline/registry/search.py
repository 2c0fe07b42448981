"""Search over one loaded set from indexes built once: ``Snapshot.search`` without a full scan.

Every model has a position, its place in id order. Each value a filter can take (a capability,
a price tier, a lifecycle state, a kind, a provider or family name, a curated bucket, open
weights) maps to a bitset of positions: a Python int whose bit ``i`` is set when the model at
position ``i`` has that value. A query ORs the bitsets of one filter's values and ANDs the
filters; the result is read in position order, so a page of 50 reads about 50 positions.

Text (``q``: a substring of the id, alias or name, ignoring case) is found by ``str.find`` over
one packed column of those fields, lowercased, in position order: the scan runs in C and stops
when a page is full. The filters no index holds (the offer filters, the knowledge cutoff) are
checked on the candidates the others leave. Answers equal the full scan's, in the same order
(tests/test_search_index.py compares the two over real and synthetic catalogs).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from pipeline.registry.filters import (
    BUCKETS,
    CAPABILITIES,
    KINDS,
    STATES,
    TIERS,
    cutoff_after,
    has_open_weights,
    offer_filter,
    state_of,
    values_of,
)

Check = Callable[[Mapping[str, Any]], bool]

TEXT_FIELDS = ("id", "alias", "name")
FIELD_END = "\x00"
"""Ends each field in the packed text column: a needle without it cannot match across two."""


def bitset(positions: Iterable[int], size: int) -> int:
    """The bitset (an int) with the bits at ``positions`` set; ``size``: the number of models."""
    buffer = bytearray((size + 7) // 8)
    for position in positions:
        buffer[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(buffer, "little")


class Columns(NamedTuple):
    """What the search indexes hold per model, in position order: made from the records
    (``columns_of``) or read from the compact index beside ``current.json`` (``compact.py``)."""

    bits: dict[tuple[str, Any], int]
    """(filter, value) → bitset of the positions that have it."""
    text: str
    """The packed, lowercased id, alias and name of every model, each field ended by
    ``FIELD_END``."""
    starts: list[int]
    """Where each model's part of ``text`` starts."""


def columns_of(models: Sequence[Mapping[str, Any]]) -> Columns:
    """The search columns of ``models`` (sorted by id)."""
    size = len(models)
    postings: dict[tuple[str, Any], list[int]] = {}
    capability_checks = list(CAPABILITIES.items())
    for i, model in enumerate(models):
        keys: list[tuple[str, Any]] = [
            ("state", state_of(model)),
            ("tier", model.get("priceTier")),
            ("kind", model.get("kind")),
            ("provider", str(model.get("provider", "")).lower()),
            ("family", str(model.get("family", "")).lower()),
        ]
        keys.extend(("capability", name) for name, check in capability_checks if check(model))
        if has_open_weights(model):
            keys.append(("open-weights", True))
        for key in keys:
            postings.setdefault(key, []).append(i)
    bits = {key: bitset(found, size) for key, found in postings.items()}
    # One string of every model's fields, lowercased as the full scan lowers them, and
    # where each model's part starts (to map a hit back to its model).
    parts = []
    starts: list[int] = []
    offset = 0
    for model in models:
        text = "".join(str(model.get(name, "")).lower() + FIELD_END for name in TEXT_FIELDS)
        starts.append(offset)
        parts.append(text)
        offset += len(text)
    return Columns(bits, "".join(parts), starts)


class SearchIndex:
    """The bitsets and the packed text column of one set's models (sorted by id)."""

    def __init__(
        self,
        models: Sequence[dict[str, Any]],
        buckets: Mapping[str, Any],
        columns: Columns | None = None,
        ids: list[str] | None = None,
        position: dict[str, int] | None = None,
    ) -> None:
        """``columns``, ``ids`` and ``position`` (id → position), when given, are those of
        ``models`` (from the compact index): then no record is read to build the indexes."""
        self.models = models
        self.size = len(models)
        self.ids = ids if ids is not None else [str(m["id"]) for m in models]
        self.position = (
            position
            if position is not None
            else {model_id: i for i, model_id in enumerate(self.ids)}
        )
        self.everything = (1 << self.size) - 1
        if columns is None:
            columns = columns_of(models)
        self.bits: dict[tuple[str, Any], int] = columns.bits
        self.bucket_ids = {
            str(name): {str(e["id"]) for e in entries} for name, entries in buckets.items()
        }
        self._lock = threading.Lock()
        self._bucket_bits: dict[str, int] = {}
        self.text = columns.text
        self.starts = columns.starts

    def bits_of(self, kind: str, values: Iterable[Any]) -> int:
        """Positions whose ``kind`` is any of ``values``."""
        found = 0
        for value in values:
            found |= self.bits.get((kind, value), 0)
        return found

    def bucket_bits(self, bucket: str) -> int:
        found = self._bucket_bits.get(bucket)
        if found is None:
            members = self.bucket_ids.get(bucket, set())
            found = bitset((self.position[m] for m in members if m in self.position), self.size)
            with self._lock:
                self._bucket_bits[bucket] = found
        return found

    def served_bits(self, served: Collection[str]) -> int:
        return bitset((self.position[m] for m in served if m in self.position), self.size)

    def text_hits(self, needle: str, start: int) -> Iterator[int]:
        """Positions from ``start`` on whose id, alias or name holds ``needle`` (lowercase)."""
        if FIELD_END in needle:
            # Never in the packed column's fields' own text as a separator: check each field.
            for i in range(start, self.size):
                model = self.models[i]
                if any(needle in str(model.get(f, "")).lower() for f in TEXT_FIELDS):
                    yield i
            return
        text, starts, size = self.text, self.starts, self.size
        offset = starts[start] if start < size else len(text)
        while True:
            found = text.find(needle, offset)
            if found < 0:
                return
            i = bisect.bisect_right(starts, found) - 1
            yield i
            if i + 1 >= size:
                return
            offset = starts[i + 1]


class Selection:
    """The models of one query, read in id order on demand (``page``, ``total``)."""

    def __init__(
        self,
        index: SearchIndex,
        mask: int | None,
        needle: str | None,
        checks: list[Check],
    ) -> None:
        self.index = index
        self.mask = mask
        """Bitset of the indexed filters' answer; None when no indexed filter was given."""
        self.needle = needle
        self.checks = checks
        self._flags: str | None = None

    def _set(self) -> str:
        """The mask as a string of '0'/'1' by position (bit 0 first), made once."""
        if self._flags is None:
            assert self.mask is not None
            self._flags = format(self.mask, "b")[::-1]
        return self._flags

    def positions(self, start: int = 0) -> Iterator[int]:
        """Matching positions from ``start`` on, in order."""
        index, checks, models = self.index, self.checks, self.index.models
        if self.mask is not None:
            if self.mask == 0:
                return
            flags = self._set()
        if self.needle is not None:
            candidates: Iterable[int] = index.text_hits(self.needle, start)
            if self.mask is not None:
                candidates = (i for i in candidates if i < len(flags) and flags[i] == "1")
        elif self.mask is not None:
            candidates = _ones(flags, start)
        else:
            candidates = range(start, index.size)
        if not checks:
            yield from candidates
            return
        for i in candidates:
            model = models[i]
            if all(check(model) for check in checks):
                yield i

    def page(self, after: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """The matching models after the id ``after`` (a cursor), at most ``limit`` of them."""
        start = bisect.bisect_right(self.index.ids, after) if after is not None else 0
        models = self.index.models
        out: list[dict[str, Any]] = []
        if limit is not None and limit <= 0:
            return out
        for i in self.positions(start):
            out.append(models[i])
            if limit is not None and len(out) >= limit:
                break
        return out

    @property
    def total(self) -> int:
        """How many models match (counted from the bitset when it says it all)."""
        if self.needle is None and not self.checks:
            return self.index.size if self.mask is None else self.mask.bit_count()
        return sum(1 for _ in self.positions())


def _ones(flags: str, start: int) -> Iterator[int]:
    i = flags.find("1", start)
    while i >= 0:
        yield i
        i = flags.find("1", i + 1)


def select(
    index: SearchIndex,
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
    """The selection of ``Snapshot.search``'s filters (the same checks, the same errors)."""
    offers_ok = offer_filter(served_by, max_offer_price, quantization)
    capabilities = values_of("capability", capability, CAPABILITIES)
    cutoff = cutoff_after(knowledge_cutoff_after)
    tiers = values_of("tier", tier, TIERS)
    states = values_of("state", state, STATES)
    kinds = values_of("kind", kind, KINDS)
    if bucket:
        values_of("bucket", bucket, BUCKETS)
    masks: list[int] = []
    if bucket:
        masks.append(index.bucket_bits(bucket))
    if states:
        masks.append(index.bits_of("state", states))
    if tiers:
        masks.append(index.bits_of("tier", tiers))
    if kinds:
        masks.append(index.bits_of("kind", kinds))
    wanted_provider = provider.strip().lower() if provider else None
    if wanted_provider:
        found = index.bits_of("provider", [wanted_provider])
        found |= index.bits_of("family", [wanted_provider])
        if served:
            found |= index.served_bits(served)
        masks.append(found)
    for name in capabilities:
        masks.append(index.bits_of("capability", [name]))
    if open_weights is not None:
        weights = index.bits_of("open-weights", [True])
        masks.append(weights if open_weights else index.everything & ~weights)
    mask: int | None = None
    for found in sorted(masks, key=int.bit_count):
        mask = found if mask is None else mask & found
        if mask == 0:
            break
    checks: list[Check] = []
    if offers_ok is not None:
        checks.append(offers_ok)
    if cutoff is not None:
        checks.append(lambda m: str(m.get("knowledgeCutoff") or "")[:10] > cutoff)
    needle = q.strip().lower() if q else None
    return Selection(index, mask, needle or None, checks)
