"""Downstream bindings: which model ids some consumer still calls.

Each consumer writes ``models/bindings/<consumer>.json`` as ``{modelId: count}`` (how many of
its configurations name the model). A model with a positive count anywhere never becomes
``removed`` (DESIGN.md §5): it stays ``deprecated`` so its callers keep a record to resolve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.publishing import jsonio, keys
from pipeline.publishing.store import Store


@dataclass
class Bindings:
    """Every consumer's bindings, merged."""

    counts: dict[str, int] = field(default_factory=dict)
    """Model id → total count over all consumers (only positive counts are kept)."""
    consumers: dict[str, list[str]] = field(default_factory=dict)
    """Model id → consumers that bind it, sorted."""
    problems: list[str] = field(default_factory=list)
    """Unreadable files, each naming the key and what is wrong."""

    @property
    def complete(self) -> bool:
        """False when some file could not be read: the bound set may then be too small."""
        return not self.problems

    def bound(self) -> set[str]:
        return set(self.counts)


MAX_BINDINGS_BYTES = 16 * 1024 * 1024
"""Largest bindings file read (a consumer binding 100k models writes about 5 MB)."""


def parse_bindings(key: str, data: bytes) -> dict[str, int]:
    """One consumer's file; raises ValueError naming the key and entry when it is malformed
    (too big, too deeply nested and wrong types included: a warning, never a crash)."""
    try:
        document = jsonio.loads_bounded(data, max_bytes=MAX_BINDINGS_BYTES, max_depth=8)
    except ValueError as exc:
        raise ValueError(f"{key}: not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ValueError(f"{key}: expected an object {{modelId: count}}")
    out: dict[str, int] = {}
    for model_id, count in document.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{key}: {model_id[:100]!r}: count must be a non-negative integer")
        if count > 0:
            out[model_id] = count
    return out


def load_bindings(store: Store) -> Bindings:
    """Read every ``models/bindings/*.json``; a bad file is reported, never fatal."""
    result = Bindings()
    for key in store.list(keys.BINDINGS):
        if not key.endswith(".json"):
            continue
        consumer = key.removeprefix(keys.BINDINGS).removesuffix(".json")
        blob = store.get(key)
        if blob is None:  # deleted between list and get
            continue
        try:
            parsed = parse_bindings(key, blob.data)
        except ValueError as exc:
            result.problems.append(str(exc))
            continue
        for model_id, count in parsed.items():
            result.counts[model_id] = result.counts.get(model_id, 0) + count
            result.consumers.setdefault(model_id, []).append(consumer)
    for names in result.consumers.values():
        names.sort()
    return result
