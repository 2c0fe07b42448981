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
from decimal import Decimal
from typing import Any

from pipeline.records.base import trusted
from pipeline.records.history import HistoryEvent, HistoryEventKind
from pipeline.records.model import ModelRecord, PriceFields
from pipeline.stages.changelog import SPARSE_PRICE_FIELDS, WATCHED_FIELDS, price_view

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


_TRACKED_ITEMS = tuple(TRACKED.items())


def view(record: ModelRecord, redirect: Redirect | None = None) -> dict[str, Any]:
    """The tracked values of ``record`` (absent values left out)."""
    # Field values straight from the instance: a first sync views every model (issue 29).
    values = record.__dict__
    out: dict[str, Any] = {}
    for attr, name in _TRACKED_ITEMS:
        value = values[attr]
        if value is not None:
            out[name] = value
    out["state"] = values["lifecycle"].state
    if redirect is not None:
        out["redirectTo"], out["redirectReason"] = redirect
    for key, value in price_view(values["pricing"]).items():
        out["pricing." + key] = value
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
    if not before:  # a model added (thousands on a first merge): every value it has is new
        return {name: [None, value] for name in sorted(after) if (value := after[name]) is not None}
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
    # model_construct's instance without its per-field alias lookups (a first sync builds an
    # event per model); log.append validates each event's document as it encodes it.
    return trusted(
        HistoryEvent,
        {"at": at, "run_id": run_id, "id": model_id, "event": kind, "changes": changes},
    )


# -- the same events over records as published (the merged provider lists) -------------------

_PUBLISHED_TRACKED = tuple(TRACKED.values())
_PRICE_KEYS: tuple[tuple[str, str], ...] = tuple(
    (name, info.alias or name) for name, info in PriceFields.model_fields.items() if name != "other"
)


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def published_price_view(pricing: Mapping[str, Any]) -> dict[str, Any]:
    """``changelog.price_view`` of a pricing mapping as published (camelCase)."""
    view: dict[str, Any] = {}
    for name, key in _PRICE_KEYS:
        value = pricing.get(key)
        if value is None or (name in SPARSE_PRICE_FIELDS and value == 0):
            continue
        view[key] = value
    for key, value in (pricing.get("other") or {}).items():
        if value != 0:
            view[f"other.{key}"] = value
    if pricing.get("variable"):
        view["variable"] = True
    if pricing.get("perUnit") is not None:
        view["perUnit"] = pricing["perUnit"]
        view["unit"] = pricing.get("unit")
    if pricing.get("tiers"):
        view["tiers"] = [
            {k: _json_value(v) for k, v in tier.items() if v is not None}
            for tier in pricing["tiers"]
        ]
    return view


def published_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """``view`` of a record as published (a mapping with camelCase keys)."""
    out: dict[str, Any] = {}
    for name in _PUBLISHED_TRACKED:
        value = record.get(name)
        if value is not None:
            out[name] = value
    out["state"] = (record.get("lifecycle") or {}).get("state")
    for key, value in published_price_view(record.get("pricing") or {}).items():
        out[f"pricing.{key}"] = value
    return out


def published_events(
    previous: Mapping[str, Mapping[str, Any]],
    records: Iterable[Mapping[str, Any]],
    removed: Collection[str],
    *,
    at: str,
    run_id: str,
    prefix: str = "",
) -> list[HistoryEvent]:
    """``events`` for records as published, without redirects; each event's id is
    ``prefix + id`` (``<provider>/`` for the provider lists' history)."""
    out: list[HistoryEvent] = []
    new_ids: set[str] = set()
    for record in records:
        model_id = str(record["id"])
        new_ids.add(model_id)
        old = previous.get(model_id)
        after = published_view(record)
        if old is None:
            out.append(_event(at, run_id, prefix + model_id, "added", _diff({}, after)))
            continue
        changes = _diff(published_view(old), after)
        if changes:
            out.append(_event(at, run_id, prefix + model_id, "changed", changes))
    for model_id in sorted(removed):
        old = previous.get(model_id)
        if old is None or model_id in new_ids:
            continue
        before = published_view(old)
        if before.get("state") != "removed":
            changes = {"state": [before.get("state"), "removed"]}
            out.append(_event(at, run_id, prefix + model_id, "removed", changes))
    out.sort(key=lambda e: e.id)
    return out


def published_baseline(
    previous: Mapping[str, Mapping[str, Any]], *, at: str, run_id: str, prefix: str = ""
) -> list[HistoryEvent]:
    """``baseline_events`` for records as published."""
    return [
        _event(at, run_id, prefix + model_id, "tracked", _diff({}, published_view(record)))
        for model_id, record in sorted(previous.items())
    ]
