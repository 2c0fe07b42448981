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

import functools
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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
SAFE = re.compile(r"[a-z0-9.\-]*")
"""An alias with nothing for SEPARATORS or UNSAFE to replace."""
DOT_RUNS = re.compile(r"[.\-]*\.[.\-]*\.[.\-]*|-\.|\.-")
"""Two dots in a run of separators (`..`, `.-.`), or a dot beside a dash: one dash."""
MAX_ALIAS_CHARS = 64


@dataclass(frozen=True)
class AliasCandidate:
    """What alias assignment needs to know about one model."""

    id: str
    created: int | None = None


@functools.lru_cache(maxsize=4096)
def alias_base(model_id: str) -> tuple[str, bool]:
    """The bare alias for ``model_id`` and whether any noise was stripped to get it.

    Cached (a pure function of the id): a sync asks for each model's about five times, in
    the claims, the newcomers and the laws (issue 30). Bounded to a few catalogs of today's
    size (~0.7 MB): a 100k catalog only misses, and must not hold 100k entries."""
    rest = model_id.split("/", 1)[1] if "/" in model_id else model_id
    rest = rest.lstrip("~")
    stripped = False
    if ":" in rest:
        rest = rest.split(":", 1)[0]
        stripped = True
    # Every noise tag ends in a digit (before a final newline, where `$` also matches): an id
    # that does not skips the patterns (issue 29: they ran ~14 times per model per sync).
    changed = rest.rstrip("\n")[-1:].isdigit()
    while changed:
        changed = False
        for pattern in NOISE_SUFFIXES:
            shorter = pattern.sub("", rest)
            if shorter != rest and shorter:
                rest, changed, stripped = shorter, True, True
    alias = rest.lower()
    # Aliases end up in URLs and file names: only [a-z0-9.-] (no `%2e`, no U+202E), no run of
    # dots (`..`), and a bounded length (issue 12). Real ids never hit these rules. Each
    # substitution runs only where it has something to replace (the common case: none).
    if not SAFE.fullmatch(alias):
        alias = SEPARATORS.sub("-", alias)
        alias = UNSAFE.sub("-", alias)
    if "." in alias and ("-." in alias or ".-" in alias or ".." in alias):
        alias = DOT_RUNS.sub("-", alias)
    if "--" in alias:
        alias = REPEATED_DASH.sub("-", alias)
    alias = alias.strip("-.")
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


def is_tagged(model_id: str) -> bool:
    """True when the id carries a ``:variant``, date or revision tag (its natural alias is a
    stripped form of it): ``anthropic/claude-haiku-4.5:batch``, ``…/deepseek-v4-flash-0731``."""
    return alias_base(model_id)[1]


@dataclass
class Assigned:
    """The aliases of one run and why any published one moved."""

    aliases: dict[str, str]
    """Model id → its alias."""
    reasons: dict[str, str] = field(default_factory=dict)
    """Model id → why its alias differs from the previous one, for the moves this function
    decided (a natural alias returned to its base, a rename); overrides add none."""


def assign(
    models: Iterable[AliasCandidate],
    previous: Mapping[str, str],
    reserved: Mapping[str, str] | None = None,
    held: Mapping[str, str] | Iterable[str] = (),
    *,
    renamed: Mapping[str, str] | None = None,
) -> Assigned:
    """Alias for every model id, with the reason of every move it makes.

    ``previous``: id → alias already published (sticky). ``reserved``: id → alias from
    overrides, which win over everything. ``held``: aliases no new model may take (those of
    tombstoned models, old aliases from the history, the curated core's concise names), as a
    mapping to the id each one names where that is known. ``renamed``: new id → the id it
    was renamed from (a ``rename`` redirect).

    Two corrections move a published alias, both recorded with their reason:

    - **a natural alias belongs to its base model** (DESIGN.md §7): when a model whose id is
      its own natural alias (no tag stripped: ``anthropic/claude-haiku-4.5``) exists, a tagged
      sibling holding that name (``…:batch``, ``…:free``, a dated ``…-0731``, listed, carried
      or tombstoned) gives it up, and the base takes it; also when nobody holds it;
    - **a rename is the same model**: the new id takes the alias of the id it was renamed
      from (``reka/reka-edge`` → ``rekaai/reka-edge`` keeps ``reka-edge``).

    A name an override reserves, or one held by an unrelated model, is never taken.
    """
    reserved = dict(reserved or {})
    renamed = dict(renamed or {})
    reserved_names = set(reserved.values())
    holders: dict[str, str] = {}
    if isinstance(held, Mapping):
        holders.update(held)
        held_names = set(held)
    else:
        held_names = set(held)
    held_for = dict(holders)
    holders.update({alias: model_id for model_id, alias in sorted(previous.items())})
    # A set, not ``reserved.values()``: membership is then O(1) per model, which keeps the
    # whole pass linear instead of O(models × overrides).
    previous_names = set(previous.values())
    taken: set[str] = held_names | reserved_names | previous_names
    candidates = {m.id: m for m in models}
    claimed = _claims(candidates, previous, reserved, holders, renamed)

    result: dict[str, str] = {}
    reasons: dict[str, str] = {}
    newcomers: list[tuple[str, bool, AliasCandidate]] = []
    kept_by: dict[str, str] = {}
    given = {alias: model_id for model_id, (alias, _why) in claimed.items()}
    for model_id in sorted(candidates):
        model = candidates[model_id]
        if model_id in reserved:
            result[model_id] = reserved[model_id]
            continue
        if model_id in claimed:
            result[model_id], reasons[model_id] = claimed[model_id]
            taken.add(result[model_id])
            continue
        kept = previous.get(model_id)
        # A kept alias yields to an override, to a claim, or (corrupt memory) to the smallest
        # id already holding it; sorting by id above makes that choice order-independent.
        if (
            kept is not None
            and kept not in reserved_names
            and kept not in kept_by
            and given.get(kept, model_id) == model_id
        ):
            result[model_id] = kept
            kept_by[kept] = model_id
            taken.add(kept)
            continue
        if kept is not None and kept in given:
            winner = given[kept]
            reasons[model_id] = (
                f"{kept!r} went with the rename to {winner}"
                if renamed.get(winner) == model_id
                else f"{kept!r} is the natural alias of the base model {winner}; a tagged "
                "sibling never takes it"
            )
        base, stripped = alias_base(model_id)
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
            # A name held for this very model (its concise name is its natural alias) is its,
            # unless it was published as another model's alias.
            mine = held_for.get(base) == model.id and base not in previous_names
            if base not in taken or mine:
                alias = base
            else:
                length = 3
                alias = f"{base}-x{hash_suffix(model.id, length)}"
                while alias in taken:
                    length += 1
                    alias = f"{base}-x{hash_suffix(model.id, length)}"
            taken.add(alias)
            result[model.id] = alias
    return Assigned(result, reasons)


def _claims(
    candidates: Mapping[str, AliasCandidate],
    previous: Mapping[str, str],
    reserved: Mapping[str, str],
    holders: Mapping[str, str],
    renamed: Mapping[str, str],
) -> dict[str, tuple[str, str]]:
    """Model id → (alias, reason) for the published aliases that move this run: natural
    aliases back to their base models, and aliases that follow a rename (see ``assign``)."""
    reserved_names = set(reserved.values())
    successor = {old: new for new, old in sorted(renamed.items()) if new in candidates}
    bases: dict[str, list[AliasCandidate]] = defaultdict(list)
    for model_id, model in candidates.items():
        name, stripped = alias_base(model_id)
        if not stripped and model_id not in reserved:
            bases[name].append(model)
    claims: dict[str, tuple[str, str]] = {}
    for name in sorted(bases):
        if name in reserved_names:
            continue
        group = {m.id for m in bases[name]}
        holder = holders.get(name)
        winner: str | None = None
        if holder is not None and successor.get(holder) in group:
            winner = successor[holder]
            why = f"renamed from {holder}: the alias follows the model"
        elif holder in group:
            continue  # a base model holds it: nothing to correct
        elif holder is None or is_tagged(holder):
            winner = min(
                bases[name],
                key=lambda m: (m.created if m.created is not None else float("inf"), m.id),
            ).id
            why = (
                f"natural alias of the base model, taken back from its tagged sibling {holder}"
                if holder is not None
                else "natural alias of the base model"
            )
        if winner is None or previous.get(winner) == name:
            continue
        if holder is None and winner not in previous:
            continue  # a newcomer takes a free name the ordinary way
        claims[winner] = (name, why)
    # A rename whose old alias is not the new id's natural one (a hash suffix, say) still
    # moves it, in the run that first names the new id (never again: the old id's next alias
    # must not follow it).
    for new, old in sorted(renamed.items()):
        if new not in candidates or new in claims or new in reserved or new in previous:
            continue
        alias = previous.get(old) or next((a for a, i in holders.items() if i == old), None)
        if alias is None or alias in reserved_names or previous.get(new) == alias:
            continue
        if holders.get(alias, old) in (old, new) and alias not in {a for a, _ in claims.values()}:
            claims[new] = (alias, f"renamed from {old}: the alias follows the model")
    return claims


def assign_aliases(
    models: Iterable[AliasCandidate],
    previous: Mapping[str, str],
    reserved: Mapping[str, str] | None = None,
    held: Mapping[str, str] | Iterable[str] = (),
    *,
    renamed: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Alias for every model id (``assign`` without the reasons)."""
    return assign(models, previous, reserved, held, renamed=renamed).aliases


def alias_changes(
    previous: Mapping[str, str],
    assigned: Mapping[str, str],
    since: str,
    reasons: Mapping[str, str] | None = None,
) -> list[AliasChange]:
    """Alias history entries for every model whose published alias changed (an override took
    it or reserved a new name for it, or ``assign`` corrected it: ``reasons`` says why),
    sorted by model id so the history is deterministic."""
    reasons = reasons or {}
    return [
        AliasChange(
            old_alias=previous[model_id],
            new_alias=alias,
            model_id=model_id,
            since=since,
            reason=reasons.get(model_id),
        )
        for model_id, alias in sorted(assigned.items())
        if model_id in previous and previous[model_id] != alias
    ]


def additional_names(names: Mapping[str, str], aliases: Mapping[str, str]) -> dict[str, list[str]]:
    """Model id → its additional names (``names``: the curated core's concise aliases), for
    the models in ``aliases``. A name that is some model's ``alias`` is left out: the alias
    wins, and ``catalog validate`` reports the entry."""
    primary = set(aliases.values())
    return {i: [n] for i, n in sorted(names.items()) if i in aliases and n not in primary}
