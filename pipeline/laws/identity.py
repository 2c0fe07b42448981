"""Laws of identity: names resolve to one model, natural aliases stay with base models, and
nothing leads to a removed model."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping

from pipeline.laws.published import Listing, PublishedSet
from pipeline.laws.violation import Violation
from pipeline.records.catalog import Deprecations
from pipeline.records.model import ModelRecord
from pipeline.stages.aliases import alias_base


def _names(listing: Listing) -> dict[str, list[str]]:
    """Every name (alias or additional name) → the ids holding it."""
    held: dict[str, list[str]] = defaultdict(list)
    for model in listing.models:
        for name in dict.fromkeys([model.alias, *(model.aliases or ())]):
            held[name].append(model.id)
    return held


def alias_unique(published: PublishedSet) -> Iterator[Violation]:
    """Every alias resolves to exactly one model: within a list, no name is the `alias` or
    one of the `aliases` of two models."""
    for listing in published.lists:
        for name, holders in sorted(_names(listing).items()):
            if len(holders) > 1:
                yield Violation(
                    "alias-unique",
                    listing.source,
                    name,
                    f"the name {name!r} is held by {len(holders)} models: {', '.join(holders)}",
                )


def natural_alias(published: PublishedSet) -> Iterator[Violation]:
    """A natural alias belongs to the base model when it exists: the name an id gives without
    vendor and tags (`claude-haiku-4.5` for `anthropic/claude-haiku-4.5`), when some model
    holds it, is held by a model whose id gives that name untagged — a base model — unless
    `alias-overrides.json` reserves it for its holder."""
    for listing, name, holder, bases, _tagged in _natural_names(published):
        if holder in bases or published.reserved.get(holder) == name:
            continue
        yield Violation(
            "natural-alias",
            listing.source,
            holder,
            f"holds {name!r}, the natural alias of the base model {', '.join(sorted(bases))}",
        )


def tagged_sibling(published: PublishedSet) -> Iterator[Violation]:
    """A tagged sibling never takes its base's name: a model whose id carries a `:variant`,
    date or revision tag (`…:batch`, `…:free`, `…-0731`) holds no name that is the natural
    alias of a base model in the same list."""
    for listing, name, holder, bases, tagged in _natural_names(published):
        if tagged and published.reserved.get(holder) != name:
            yield Violation(
                "tagged-sibling",
                listing.source,
                holder,
                f"a tagged id holds {name!r}, which belongs to {', '.join(sorted(bases))}",
            )


NaturalName = tuple[Listing, str, str, set[str], bool]


def _natural_names(published: PublishedSet) -> list[NaturalName]:
    """(list, natural alias of a base model, a model holding it, the base models, whether the
    holder's id is tagged) for every base model's natural alias some model holds. Two laws
    read them: found once per set."""
    found: list[NaturalName] | None = published.derived.get("natural-names")
    if found is not None:
        return found
    found = []
    for listing in published.lists:
        bases: dict[str, set[str]] = defaultdict(set)
        tagged: dict[str, bool] = {}
        for model in listing.models:
            name, stripped = alias_base(model.id)
            tagged[model.id] = stripped
            if not stripped:
                bases[name].add(model.id)
        held = _names(listing)
        for name in sorted(bases):
            for holder in held.get(name, ()):
                found.append((listing, name, holder, bases[name], tagged[holder]))
    published.derived["natural-names"] = found
    return found


def nothing_resolves_to_removed(published: PublishedSet) -> Iterator[Violation]:
    """Nothing resolves to a removed model: no record of `current.json` is `removed`; every
    redirect, followed to its end, lands on a model `current.json` holds or on a removed
    model's tombstone (there the reader serves a live model of its family, with a notice) —
    never on an id nobody knows; and every name the reader resolves — ids, aliases,
    additional names, old aliases, aliases of tombstones — leads to a model of
    `current.json`, or to nothing."""
    listing = published.openrouter
    if listing is None:
        return
    current = {m.id: m for m in listing.models}
    for model in listing.models:
        if model.lifecycle.state == "removed":
            yield Violation(
                "nothing-resolves-to-removed", "openrouter", model.id, "published as removed"
            )
    deprecations = published.deprecations
    if deprecations is None:
        return
    redirects = {r.from_id: r.to for r in deprecations.redirects}
    tombstones = {t.id for t in deprecations.tombstones}
    for start in sorted(redirects):
        target, seen = redirects[start], {start}
        while target in redirects and target not in seen and target not in current:
            seen.add(target)
            target = redirects[target]
        if target not in current and target not in tombstones:
            yield Violation(
                "nothing-resolves-to-removed",
                "openrouter",
                start,
                f"redirected to {redirects[start]}, which leads to {target}: neither a model of "
                "current.json nor a removed model's tombstone",
            )
    yield from _resolutions(published, current)


RESOLVED_FIELDS = {
    "id",
    "alias",
    "aliases",
    "canonical_slug",
    "sources",
    "lifecycle",
    "family",
    "kind",
    "supports_vision",
    "supports_tools",
    "reasoning",
    "created",
    "max_context",
}
"""What the reader's resolution reads of a model (``pipeline.resolve``: names, state, and the
family fallback's profile and rank). Only these are dumped for the index: a whole record
(prices, offers, evidence, description) is about 4 kB of plain JSON, 400 MB at 100k models."""


def indirect_names(deprecations: Deprecations, current: Mapping[str, ModelRecord]) -> list[str]:
    """The names the reader resolves (``resolve.CatalogIndex``: aliases and additional names,
    redirected ids, old aliases, tombstones' aliases) that do not lead straight to a model of
    ``current``, sorted. The others are a current model's id or name, and that model is active
    or has no redirect: ``resolve`` stops at it on its first hop, so they resolve to a model of
    current.json by construction (and need no index: a sync without redirects builds none,
    issue 29). tests/test_laws.py checks this against ``resolve`` on a replayed store."""
    redirected = {r.from_id for r in deprecations.redirects}
    # The index's dicts: additional names first, a model's own alias winning; one tombstone
    # per id, the last.
    by_alias = {name: m.id for m in current.values() for name in m.aliases or ()}
    by_alias.update({m.alias: m.id for m in current.values() if m.alias})
    tombstones = {t.id: t for t in deprecations.tombstones}
    names = set(by_alias) | redirected | {c.old_alias for c in deprecations.alias_history}
    names |= {t.alias for t in tombstones.values() if t.alias}
    out: list[str] = []
    for name in sorted(names):
        model = current.get(name)
        if model is None and name in by_alias:
            model = current[by_alias[name]]
        if model is None or (model.id in redirected and model.lifecycle.state != "active"):
            out.append(name)
    return out


def _resolutions(
    published: PublishedSet, current: Mapping[str, ModelRecord]
) -> Iterator[Violation]:
    listing, deprecations = published.openrouter, published.deprecations
    assert listing is not None and deprecations is not None
    names = indirect_names(deprecations, current)
    if not names:
        return
    from pipeline.resolve import CatalogIndex, resolve
    from pipeline.stages.core import plain

    models = [
        m.model_dump(mode="json", by_alias=True, exclude_none=True, include=RESOLVED_FIELDS)
        for m in listing.models
    ]
    index = CatalogIndex({"models": models}, plain(deprecations), ranks=None)
    for name in names:
        found = resolve(name, index).model_id
        if found is not None and found not in current:
            yield Violation(
                "nothing-resolves-to-removed",
                "openrouter",
                name,
                f"resolves to {found}, which current.json does not hold",
            )
