"""Which fields the history tracks, and the events one run adds (a pure stage).

A model's *view* is a flat mapping of tracked field → value; a run's events are the differences
between the previous and the new view of every model. Prices are compared exactly as the run
report's changelog compares them (``changelog.price_view``): a sparse surcharge key that the
feed stopped sending equals 0, so OpenRouter's January 2026 switch to sparse pricing is no
change in the history either.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from pipeline.records.history import HistoryEvent, HistoryEventKind
from pipeline.records.model import ModelRecord
from pipeline.stages.changelog import WATCHED_FIELDS, price_view

# Tracked fields besides prices (``pricing.<key>``): record attribute → published name.
TRACKED: dict[str, str] = {
    "name": "name",
    "alias": "alias",
    **WATCHED_FIELDS,
    "price_tier": "priceTier",
}
FIELDS: tuple[str, ...] = (*TRACKED.values(), "state", "redirectTo", "redirectReason", "pricing.*")
"""What the index lists as tracked (``pricing.*``: every price component)."""


Redirect = tuple[str, str]
"""(target id, reason) of a redirect away from a model."""


def view(record: ModelRecord, redirect: Redirect | None = None) -> dict[str, Any]:
    """The tracked values of ``record`` (absent values left out)."""
    out: dict[str, Any] = {}
    for attr, name in TRACKED.items():
        value = getattr(record, attr)
        if value is not None:
            out[name] = value
    out["state"] = record.lifecycle.state
    if redirect is not None:
        out["redirectTo"], out["redirectReason"] = redirect
    for key, value in price_view(record.pricing).items():
        out[f"pricing.{key}"] = value
    return out


_TRACKED_VALUES = operator.attrgetter(*TRACKED)


def _same(old: ModelRecord, new: ModelRecord) -> bool:
    """A cheap "nothing tracked changed" (most models, most runs); False may still turn out
    to be no change once prices are compared the sparse way, which ``view`` does."""
    return (
        old.lifecycle.state == new.lifecycle.state
        and old.pricing.__dict__ == new.pricing.__dict__
        and _TRACKED_VALUES(old) == _TRACKED_VALUES(new)
    )


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = [old, new]
    return changes


def events(
    previous: Mapping[str, ModelRecord] | None,
    previous_redirects: Mapping[str, Redirect],
    records: Iterable[ModelRecord],
    redirects: Mapping[str, Redirect],
    removed: Collection[str],
    *,
    at: str,
    run_id: str,
) -> Iterator[HistoryEvent]:
    """The events of one run, sorted by model id.

    ``previous`` is the catalog the run built on (None on a fresh store: every model is
    ``added``). One view is built at a time: memory stays flat at 100k models.
    """
    prev = previous or {}
    new_ids: set[str] = set()
    out: list[HistoryEvent] = []
    for record in records:
        new_ids.add(record.id)
        old_record = prev.get(record.id)
        if old_record is None:
            after = view(record, redirects.get(record.id))
            out.append(_event(at, run_id, record.id, "added", _diff({}, after)))
            continue
        redirect = previous_redirects.get(record.id)
        if redirect == redirects.get(record.id) and _same(old_record, record):
            continue
        before = view(old_record, redirect)
        changes = _diff(before, view(record, redirects.get(record.id)))
        if changes:
            out.append(_event(at, run_id, record.id, "changed", changes))
    for model_id in sorted(removed):
        old_record = prev.get(model_id)
        if old_record is None or model_id in new_ids:
            continue
        before = view(old_record, previous_redirects.get(model_id))
        after = {"state": "removed"}
        if model_id in redirects:
            after["redirectTo"], after["redirectReason"] = redirects[model_id]
        changes = {
            name: [before.get(name), after.get(name)]
            for name in ("state", "redirectTo", "redirectReason")
            if before.get(name) != after.get(name)
        }
        out.append(_event(at, run_id, model_id, "removed", changes))
    out.sort(key=lambda e: e.id)
    return iter(out)


def baseline_events(
    previous: Mapping[str, ModelRecord],
    previous_redirects: Mapping[str, Redirect],
    *,
    at: str,
    run_id: str,
) -> list[HistoryEvent]:
    """``tracked`` events recording ``previous`` as it stood when history began."""
    return [
        _event(
            at,
            run_id,
            model_id,
            "tracked",
            _diff({}, view(record, previous_redirects.get(model_id))),
        )
        for model_id, record in sorted(previous.items())
    ]


def _event(
    at: str, run_id: str, model_id: str, kind: HistoryEventKind, changes: dict[str, list[Any]]
) -> HistoryEvent:
    return HistoryEvent.model_construct(
        at=at, run_id=run_id, id=model_id, event=kind, changes=changes
    )
