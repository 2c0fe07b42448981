"""The curated core: ``overrides/curated-core.json`` held against a catalog.

In: the file's entries (model id → ``CoreEntry``), the catalog's records and the published
redirects and tombstones. Out: for each entry, the record it applies to — itself, or where a
rename led — and what a maintainer should fix (``CoreIssue``); the safe defaults to publish,
with where each came from; and, for ``catalog validate``, the entries that cannot stand.

Hand metadata survives churn: an entry whose model was renamed follows the redirect (and says
so, so the file gets updated); one whose model is deprecated or removed is reported with the
replacement resolution would pick; an entry for an id nobody knows is reported (and refused by
``catalog validate``). None of these stops a run: the core is published without the entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.overrides.files import DEFAULT_NEEDS, CoreEntry
from pipeline.records.base import ParameterValue
from pipeline.records.catalog import Deprecations, Redirect
from pipeline.records.curated import CoreIssue, CoreSource
from pipeline.records.model import ModelRecord
from pipeline.stages.deprecations import by_slug, detect_redirects

MAX_HOPS = 8

Attached = Literal["listed", "renamed", "redirected", "stale", "deprecated", "removed", "unknown"]


@dataclass
class Attachment:
    """Where one entry lands in a catalog."""

    entry_id: str
    entry: CoreEntry
    how: Attached
    model: ModelRecord | None
    """The record the entry applies to (None: removed or unknown)."""
    redirect: Redirect | None = None
    """The redirect followed (renamed / redirected)."""
    issues: list[CoreIssue] = field(default_factory=list)


def _follow(start: str, redirects: Mapping[str, Redirect]) -> tuple[str, Redirect] | None:
    """The end of the redirect chain from ``start`` (the first hop's redirect), or None."""
    first = redirects.get(start)
    if first is None:
        return None
    current, seen = first.to, {start}
    for _ in range(MAX_HOPS):
        nxt = redirects.get(current)
        if nxt is None or current in seen:
            break
        seen.add(current)
        current = nxt.to
    return current, first


def attach(
    entries: Mapping[str, CoreEntry],
    models: Mapping[str, ModelRecord],
    deprecations: Deprecations | None,
    replacement: Callable[[str], str | None] = lambda _id: None,
) -> list[Attachment]:
    """Each entry against the catalog, in the file's order. ``replacement(id)`` names what
    resolution would serve for a deprecated or removed id (the reader's fallback rules)."""
    redirects = {r.from_id: r for r in deprecations.redirects} if deprecations else {}
    tombstones = {t.id for t in deprecations.tombstones} if deprecations else set()
    out: list[Attachment] = []
    for entry_id, entry in entries.items():
        record = models.get(entry_id)
        if record is not None and record.lifecycle.state == "active":
            out.append(Attachment(entry_id, entry, "listed", record))
            continue
        # Not served as it is: a redirect away from the id wins over its lingering record (a
        # renamed model stays in current.json as stale/deprecated for a while).
        followed = _follow(entry_id, redirects)
        if followed is not None and followed[0] in models:
            out.append(_followed(entry_id, entry, models[followed[0]], followed[1]))
        elif record is not None:
            out.append(_lingering(entry_id, entry, record, replacement))
        else:
            out.append(_gone(entry_id, entry, entry_id in tombstones, replacement))
    return out


def _followed(
    entry_id: str, entry: CoreEntry, target: ModelRecord, redirect: Redirect
) -> Attachment:
    how: Literal["renamed", "redirected"] = (
        "renamed" if redirect.reason == "rename" else "redirected"
    )
    issue = CoreIssue(
        entry=entry_id,
        problem=how,
        detail=f"{entry_id} was {how} to {target.id} ({redirect.reason} redirect since "
        f"{redirect.since}); the entry now applies to {target.id}: update curated-core.json",
        replacement=target.id,
    )
    return Attachment(entry_id, entry, how, target, redirect, [issue])


def _lingering(
    entry_id: str, entry: CoreEntry, record: ModelRecord, replacement: Callable[[str], str | None]
) -> Attachment:
    life = record.lifecycle
    if life.state == "stale":
        issue = CoreIssue(
            entry=entry_id,
            problem="stale",
            detail=f"{entry_id} is missing from the feed since {life.missing_since}; it is "
            "still served and keeps its core entry for now",
        )
        return Attachment(entry_id, entry, "stale", record, None, [issue])
    suggestion = replacement(entry_id)
    issue = CoreIssue(
        entry=entry_id,
        problem="deprecated",
        detail=f"{entry_id} is deprecated since {life.state_since}"
        + (
            f"; resolution now serves {suggestion}: move the entry there"
            if suggestion
            else "; pick a replacement"
        ),
        replacement=suggestion,
    )
    return Attachment(entry_id, entry, "deprecated", record, None, [issue])


def _gone(
    entry_id: str, entry: CoreEntry, removed: bool, replacement: Callable[[str], str | None]
) -> Attachment:
    if removed:
        suggestion = replacement(entry_id)
        issue = CoreIssue(
            entry=entry_id,
            problem="removed",
            detail=f"{entry_id} was removed"
            + (f"; resolution now serves {suggestion}: move the entry there" if suggestion else ""),
            replacement=suggestion,
        )
        return Attachment(entry_id, entry, "removed", None, None, [issue])
    issue = CoreIssue(
        entry=entry_id,
        problem="unknown",
        detail=f"no model, redirect or removed model has the id {entry_id}: fix or drop the entry",
    )
    return Attachment(entry_id, entry, "unknown", None, None, [issue])


def default_problems(entry: CoreEntry, record: ModelRecord) -> list[tuple[str, str]]:
    """(field, problem) for every safe default ``record`` cannot take."""
    out: list[tuple[str, str]] = []
    if entry.defaults is None:
        return out
    supported = set(record.supported_parameters)
    for name, value in entry.defaults.model_dump(exclude_none=True).items():
        needs = DEFAULT_NEEDS[name]
        if not supported.intersection(needs):
            out.append(
                (
                    f"defaults.{name}",
                    f"{record.id} does not support {' or '.join(needs)} "
                    f"(its supportedParameters: {', '.join(sorted(supported)) or 'none'})",
                )
            )
        elif name == "max_tokens" and record.max_output is not None and value > record.max_output:
            out.append(
                (
                    "defaults.max_tokens",
                    f"{value} is more than {record.id}'s maxOutput of {record.max_output}",
                )
            )
    return out


def safe_defaults(
    entry_id: str, entry: CoreEntry, record: ModelRecord
) -> tuple[dict[str, ParameterValue], dict[str, CoreSource], list[CoreIssue]]:
    """The defaults to publish for ``record``: the entry's (those it supports), then the feed's
    ``default_parameters`` for the rest; with each one's source and the refused ones."""
    refused = dict(default_problems(entry, record))
    values: dict[str, ParameterValue] = {}
    sources: dict[str, CoreSource] = {}
    for name, value in (record.default_parameters or {}).items():
        values[name], sources[f"defaults.{name}"] = value, "feed"
    issues = [
        CoreIssue(entry=record.id, problem="unsupported-default", field=where, detail=problem)
        for where, problem in refused.items()
    ]
    own = entry.defaults.model_dump(exclude_none=True) if entry.defaults else {}
    for name, value in own.items():
        if f"defaults.{name}" in refused:
            continue
        values[name], sources[f"defaults.{name}"] = value, "curated-core"
    return dict(sorted(values.items())), dict(sorted(sources.items())), issues


def reserved_aliases(
    entries: Mapping[str, CoreEntry],
    listed: Iterable[tuple[str, str | None]],
    previous: Mapping[str, ModelRecord],
    deprecations: Deprecations | None,
    since: str,
) -> dict[str, str]:
    """Entry id → the id its concise alias belongs to this run, for entries whose model is no
    longer listed but was renamed: by a published redirect, or by a rename this very run
    reveals (same canonical slug), so the alias moves with the model in the run that sees the
    rename, not one run later."""
    listed = list(listed)
    present = {model_id for model_id, _slug in listed}
    redirects = {r.from_id: r for r in deprecations.redirects} if deprecations else {}
    siblings: dict[str, list[str]] | None = None
    moved: dict[str, str] = {}
    for entry_id, entry in entries.items():
        if entry.alias is None or entry_id in present:
            continue
        followed = _follow(entry_id, redirects)
        if followed is not None and followed[0] in present:
            moved[entry_id] = followed[0]
            continue
        before = previous.get(entry_id)
        if before is None or not before.canonical_slug:
            continue
        if siblings is None:
            siblings = by_slug(listed)
        found = detect_redirects({entry_id: before.canonical_slug}, siblings, since)
        if found:
            moved[entry_id] = found[0].to
    return moved


def move_aliases(reserved: Mapping[str, str], moved: Mapping[str, str]) -> dict[str, str]:
    """The reserved id → alias map with the moved entries' aliases on their new ids (unless
    the new id has a reservation of its own, which wins)."""
    out = dict(reserved)
    for old, new in moved.items():
        alias = out.get(old)
        if alias is None or new in out:
            continue
        del out[old]
        out[new] = alias
    return out


def describe(issues: Iterable[CoreIssue]) -> list[str]:
    """Run-report warnings for ``issues``."""
    return [
        f"curated-core.json: {issue.entry}"
        + (f" {issue.field}" if issue.field else "")
        + f": {issue.detail}"
        for issue in issues
    ]


def plain(document: Any) -> Any:
    """A published model as the plain JSON the reader's resolution works on."""
    return document.model_dump(mode="json", by_alias=True, exclude_none=True)


def check_against(
    entries: Mapping[str, CoreEntry],
    catalog: Iterable[ModelRecord],
    deprecations: Deprecations | None,
) -> tuple[list[tuple[str, str]], list[str]]:
    """``catalog validate``'s view of the core against a catalog: (JSON path, problem) for each
    entry that cannot stand — an id nobody knows, a default the model does not support, a
    concise alias another model is published under — and warnings for entries to update."""
    from pipeline.publishing.jsonpath import json_path

    models = {m.id: m for m in catalog}
    by_alias = {m.alias: m.id for m in models.values()}
    errors: list[tuple[str, str]] = []
    warnings: list[str] = []
    for attachment in attach(entries, models, deprecations):
        entry_id, entry, record = attachment.entry_id, attachment.entry, attachment.model
        where = ["models", entry_id]
        if attachment.how == "unknown":
            errors.append((json_path(where), attachment.issues[0].detail))
            continue
        warnings.extend(describe(attachment.issues))
        if record is None or entry.exclude:
            continue
        for field_name, problem in default_problems(entry, record):
            errors.append((json_path([*where, *field_name.split(".")]), problem))
        holder = by_alias.get(entry.alias or "")
        if holder is not None and holder not in (record.id, entry_id):
            errors.append(
                (
                    json_path([*where, "alias"]),
                    f"{entry.alias!r} is the published alias of {holder}: reserving it would "
                    "take it away from that model (choose another concise alias)",
                )
            )
    return errors, warnings
