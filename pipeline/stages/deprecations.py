"""Redirects, tombstones and alias history: ``models/openrouter/deprecations.json``.

The previously published document is the memory: every redirect, tombstone and alias change
it holds is carried into the next one. An entry leaves only when it stopped being true because
the feed lists that id again (a model back from a short outage, or a removed model that
returns): such an id is served directly, and a redirect away from it would send callers to
another model for no reason.

Where redirects come from (DESIGN.md §5):

- ``rename``: an id disappeared while another listed id has the same ``canonicalSlug``
  (``reka/reka-edge`` → ``rekaai/reka-edge``);
- ``variant``: a ``:variant`` id disappeared while its base id with the same slug remains
  (``z-ai/glm-4.6:exacto`` → ``z-ai/glm-4.6``);
- ``override``: ``overrides/deprecation-overrides.json`` forces it;
- ``replacement``: an id disappeared whose provider had named its replacement in its own list
  (Mistral's ``deprecation_replacement_model``, ``lifecycle.replacement`` of a provider list),
  and that replacement is listed.

A redirect must lead somewhere: one whose target is neither a model of the catalog nor a
removed model's tombstone (an override naming an id this feed never listed) is withheld
(``dangling``) and reported, never published.

Same-family fallbacks are not written here: the reader computes them at resolution time
(pipeline/resolve.py), so they follow the best model of the day instead of a frozen choice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime

from pipeline.overrides.files import DeprecationOverride
from pipeline.publishing import keys
from pipeline.publishing.publish import read_published
from pipeline.publishing.store import Store
from pipeline.records.catalog import AliasChange, Deprecations, Redirect, Tombstone
from pipeline.records.model import ModelRecord
from pipeline.stages.normalize import variant_base, variant_tag
from pipeline.timeutil import iso, parse_iso


def load_previous(store: Store) -> Deprecations | None:
    """The published deprecations.json, or None on a store that has none yet."""
    return read_published(
        store, keys.DEPRECATIONS, Deprecations, would_lose="redirects and tombstones"
    )


def by_slug(listed: Iterable[tuple[str, str | None]]) -> dict[str, list[str]]:
    """canonicalSlug → listed ids carrying it (one pass; ids without a slug are skipped)."""
    index: dict[str, list[str]] = defaultdict(list)
    for model_id, slug in listed:
        if slug:
            index[slug].append(model_id)
    return index


def detect_redirects(
    vanished: Mapping[str, str | None],
    siblings: Mapping[str, Sequence[str]],
    since: str,
) -> list[Redirect]:
    """Redirects for vanished ids (id → its last canonicalSlug) that have a listed sibling.

    A sibling qualifies when it is the vanished id's own base (``x:exacto`` → ``x``) or
    carries the same ``:tag`` (a renamed ``:free`` id stays free). A base never goes to a
    tagged sibling: in the real feed ``nvidia/nemotron-nano-9b-v2`` vanished while
    ``…:free`` stayed (2026-05-31 → 06-22) and ``openai/gpt-5-codex`` while ``…:batch``
    stayed (06-22 → 08-17); rate limits and the batch API make those different offers.
    Among several, the base wins, then the smallest id, so the choice never depends on feed
    order. Each vanished id looks only at its own slug group: linear overall.
    """
    out: list[Redirect] = []
    for model_id, slug in sorted(vanished.items()):
        base, tag = variant_base(model_id), variant_tag(model_id)
        candidates = [
            c
            for c in siblings.get(slug or "", ())
            if c != model_id and (c == base or variant_tag(c) == tag)
        ]
        if not candidates:
            continue
        target = min(candidates, key=lambda c: (c != base, c))
        reason = "variant" if target == base != model_id else "rename"
        out.append(Redirect(from_id=model_id, to=target, reason=reason, since=since))
    return out


def replacement_redirects(
    vanished: Iterable[str],
    replacements: Mapping[str, str],
    listed: Collection[str],
    since: str,
) -> list[Redirect]:
    """``replacement`` redirects for vanished ids whose provider named a listed replacement
    (``replacements``: id → the replacement's id, from the provider lists)."""
    return [
        Redirect(from_id=model_id, to=replacements[model_id], reason="replacement", since=since)
        for model_id in sorted(vanished)
        if replacements.get(model_id) in listed and replacements[model_id] != model_id
    ]


def dangling(redirects: Iterable[Redirect], known: Collection[str]) -> list[Redirect]:
    """The redirects whose chain ends outside ``known`` (the catalog's ids and the removed
    models' tombstones): they would send callers to an id nobody serves or remembers."""
    table = {r.from_id: r.to for r in redirects}
    out: list[Redirect] = []
    for redirect in redirects:
        target, seen = redirect.to, {redirect.from_id}
        while target in table and target not in known and target not in seen:
            seen.add(target)
            target = table[target]
        if target not in known:
            out.append(redirect)
    return out


def effective_overrides(
    overrides: Sequence[DeprecationOverride], now: datetime
) -> dict[str, Redirect]:
    """Deprecation overrides in force at ``now`` (no ``since``, or ``since`` reached)."""
    out: dict[str, Redirect] = {}
    for entry in overrides:
        start = parse_iso(entry.since) if entry.since else now
        if start > now:
            continue
        out[entry.id] = Redirect(
            from_id=entry.id, to=entry.redirect_to, reason="override", since=iso(start)
        )
    return out


def tombstone(record: ModelRecord, removed_at: str) -> Tombstone:
    """A removed model: its last published record, kept so resolution can still explain it."""
    return Tombstone(id=record.id, alias=record.alias, removed_at=removed_at, record=record)


def merge(
    previous: Deprecations | None,
    *,
    generated_at: str,
    run_id: str,
    listed: Collection[str],
    detected: Iterable[Redirect] = (),
    forced: Mapping[str, Redirect] | None = None,
    removed: Iterable[Tombstone] = (),
    alias_changes: Iterable[AliasChange] = (),
) -> Deprecations:
    """The next deprecations.json: the previous one, plus what this run found.

    ``listed``: ids the feed lists this run (their tombstones and non-override redirects are
    withdrawn). ``forced``: override redirects in force; they replace an older redirect of the
    same id when the target differs. ``detected`` only adds redirects for ids that have none.
    """
    forced = forced or {}
    redirects: dict[str, Redirect] = {}
    tombstones: dict[str, Tombstone] = {}
    history: list[AliasChange] = []
    if previous is not None:
        redirects = {r.from_id: r for r in previous.redirects}
        tombstones = {t.id: t for t in previous.tombstones}
        history = list(previous.alias_history)
    for model_id in listed:
        if model_id not in forced:
            redirects.pop(model_id, None)
        tombstones.pop(model_id, None)
    for model_id, redirect in forced.items():
        before = redirects.get(model_id)
        if before is None or (before.to, before.reason) != (redirect.to, redirect.reason):
            redirects[model_id] = redirect
    for redirect in detected:
        redirects.setdefault(redirect.from_id, redirect)
    for stone in removed:
        tombstones[stone.id] = stone
    history.extend(alias_changes)
    return Deprecations(
        generated_at=generated_at,
        run_id=run_id,
        redirects=[redirects[k] for k in sorted(redirects)],
        tombstones=[tombstones[k] for k in sorted(tombstones)],
        alias_history=history,
    )
