"""Stable short names for models.

Deterministic (DESIGN.md §5): take the part after ``/``; strip noise (``:free`` and other
``:variant`` tags, date tags such as ``-20240229`` / ``-2024-08-06``, vendor revision tags such
as ``-0613``); lower-case; separators to ``-``. On a collision the most canonical claimant (no
noise stripped, then oldest ``created``, then id) keeps the bare alias and the others get a
stable base36 suffix derived from their full id.

Sticky: the previous ``current.json`` is the memory. A model that already has an alias keeps
it, whatever order models arrive in; only new models are named, and they never take a name
that is held. Cost: one pass over the catalog with set/dict lookups, plus sorts (n log n);
no step compares models pairwise, and the hash-suffix retry loop only runs on a suffix
collision, so the whole assignment is effectively linear in the catalog size.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipeline.records.catalog import AliasChange

# Trailing date and revision tags, tried repeatedly until none matches. Each row is a tag
# shape seen in real ids.
NOISE_SUFFIXES = (
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),  # gpt-4o-2024-08-06
    re.compile(r"-(19|20)\d{6}$"),  # claude-3-opus-20240229
    re.compile(r"-\d{2}-(19|20)\d{2}$"),  # gemini-2.5-flash-preview-09-2025 (MM-YYYY)
    re.compile(r"-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"),  # gemini-2.5-pro-preview-05-06
    re.compile(r"-\d{4}$"),  # gpt-4-0613, mistral-large-2411, deepseek-r1-0528 (revision)
)
SEPARATORS = re.compile(r"[\s_/:]+")
REPEATED_DASH = re.compile(r"-{2,}")
UNSAFE = re.compile(r"[^a-z0-9.\-]")
DOT_RUNS = re.compile(r"[.\-]*\.[.\-]*\.[.\-]*|-\.|\.-")
"""Two dots in a run of separators (`..`, `.-.`), or a dot beside a dash: one dash."""
MAX_ALIAS_CHARS = 64


@dataclass(frozen=True)
class AliasCandidate:
    """What alias assignment needs to know about one model."""

    id: str
    created: int | None = None


def alias_base(model_id: str) -> tuple[str, bool]:
    """The bare alias for ``model_id`` and whether any noise was stripped to get it."""
    rest = model_id.split("/", 1)[1] if "/" in model_id else model_id
    rest = rest.lstrip("~")
    stripped = False
    if ":" in rest:
        rest = rest.split(":", 1)[0]
        stripped = True
    changed = True
    while changed:
        changed = False
        for pattern in NOISE_SUFFIXES:
            shorter = pattern.sub("", rest)
            if shorter != rest and shorter:
                rest, changed, stripped = shorter, True, True
    alias = SEPARATORS.sub("-", rest.lower())
    # Aliases end up in URLs and file names: only [a-z0-9.-] (no `%2e`, no U+202E), no run of
    # dots (`..`), and a bounded length (issue 12). Real ids never hit these rules.
    alias = UNSAFE.sub("-", alias)
    alias = DOT_RUNS.sub("-", alias)
    alias = REPEATED_DASH.sub("-", alias).strip("-.")
    if len(alias) > MAX_ALIAS_CHARS:
        alias = alias[:MAX_ALIAS_CHARS].rstrip("-.")
        stripped = True
    return alias or hash_suffix(model_id, 6), stripped


def hash_suffix(model_id: str, length: int = 3) -> str:
    """A stable base36 tag of ``model_id`` (same id, same tag, on every machine)."""
    number = int.from_bytes(hashlib.sha256(model_id.encode("utf-8")).digest()[:8], "big")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out: list[str] = []
    while len(out) < length:
        number, rem = divmod(number, 36)
        out.append(digits[rem])
    return "".join(out)


def assign_aliases(
    models: Iterable[AliasCandidate],
    previous: Mapping[str, str],
    reserved: Mapping[str, str] | None = None,
    held: Iterable[str] = (),
) -> dict[str, str]:
    """Alias for every model id.

    ``previous``: id → alias already published (sticky; none of these names is given to
    another model, whether or not its holder is among ``models``). ``reserved``: id → alias from
    overrides, which win over everything. ``held``: aliases no new model may take (for
    example those of tombstoned models, which resolution still maps to their redirect).
    """
    reserved = dict(reserved or {})
    # A set, not ``reserved.values()``: membership is then O(1) per model, which keeps the
    # whole pass linear instead of O(models × overrides).
    reserved_names = set(reserved.values())
    # Every published alias stays taken, also for ids not offered this time: a name never
    # moves to another model without an override.
    taken: set[str] = set(held) | reserved_names | set(previous.values())
    result: dict[str, str] = {}
    newcomers: list[tuple[str, bool, AliasCandidate]] = []
    kept_by: dict[str, str] = {}
    for model in sorted(models, key=lambda m: m.id):
        if model.id in reserved:
            result[model.id] = reserved[model.id]
            continue
        kept = previous.get(model.id)
        # A kept alias yields only to an override, or (corrupt memory) to the smallest id
        # already holding it; sorting by id above makes that choice order-independent.
        if kept is not None and kept not in reserved_names and kept not in kept_by:
            result[model.id] = kept
            kept_by[kept] = model.id
            taken.add(kept)
            continue
        base, stripped = alias_base(model.id)
        newcomers.append((base, stripped, model))

    groups: dict[str, list[tuple[bool, AliasCandidate]]] = defaultdict(list)
    for base, stripped, model in newcomers:
        groups[base].append((stripped, model))
    for base in sorted(groups):
        claimants = sorted(
            groups[base],
            key=lambda item: (
                item[0],
                item[1].created if item[1].created is not None else float("inf"),
                item[1].id,
            ),
        )
        for _stripped, model in claimants:
            if base not in taken:
                alias = base
            else:
                length = 3
                alias = f"{base}-x{hash_suffix(model.id, length)}"
                while alias in taken:
                    length += 1
                    alias = f"{base}-x{hash_suffix(model.id, length)}"
            taken.add(alias)
            result[model.id] = alias
    return result


def alias_changes(
    previous: Mapping[str, str], assigned: Mapping[str, str], since: str
) -> list[AliasChange]:
    """Alias history entries for every model whose published alias changed (an override took
    it, or reserved a new name for it), sorted by model id so the history is deterministic."""
    return [
        AliasChange(old_alias=previous[model_id], new_alias=alias, model_id=model_id, since=since)
        for model_id, alias in sorted(assigned.items())
        if model_id in previous and previous[model_id] != alias
    ]
