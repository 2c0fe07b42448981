"""What changed between the published catalog and this run, for the run report.

Sections: ``added``, ``removed``, ``renamed`` (rename redirects found this run), ``redirected``
(every new redirect), ``stateChanges``, ``aliasChanges`` and ``changed`` (price, context,
capability-flag and default-parameter changes of models listed in both runs).

Prices are compared as normalized decimals, not as upstream strings, and for the *sparse*
price keys an absent key equals 0. Around 2026-01-29 OpenRouter stopped sending zero-valued
surcharge keys (``request``, ``image``, ``web_search``, ``internal_reasoning``, and a few
``input_cache_read`` / ``input_cache_write``): compare
``../shared/fixtures/real/openrouter-models-2026-01-15T1831Z.json`` with ``…-01-29T0404Z.json``,
where ~250 models lose such keys with no price changing. For those keys "not sent" and "0"
bill the same, so a change between them is no change. ``input`` and ``output`` are not sparse:
the feed always sends them, and "0" (free) vs absent (not priced) is a real difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.records.catalog import AliasChange, Redirect
from pipeline.records.model import Lifecycle, ModelRecord, PriceFields, Pricing

# Every per-unit price field except the two the feed always sends (see the module docstring).
SPARSE_PRICE_FIELDS = frozenset(PriceFields.model_fields) - {"input", "output", "other"}

# Published record fields compared besides pricing: context sizes and capability flags.
WATCHED_FIELDS: dict[str, str] = {
    "max_context": "maxContext",
    "max_output": "maxOutput",
    "kind": "kind",
    "is_free": "isFree",
    "supports_vision": "supportsVision",
    "supports_tools": "supportsTools",
    "reasoning": "reasoning",
    "structured_output": "structuredOutput",
    "is_image_gen": "isImageGen",
    # A changed default is a changed behaviour for every caller that sends no value.
    "default_parameters": "defaultParameters",
}


# (field name, published key, sparse) of every per-unit price field, in declaration order.
_PRICE_FIELDS: tuple[tuple[str, str, bool], ...] = tuple(
    (name, info.alias or name, name in SPARSE_PRICE_FIELDS)
    for name, info in PriceFields.model_fields.items()
    if name != "other"
)


def price_view(pricing: Pricing) -> dict[str, Any]:
    """Prices as compared: camelCase key → value, with zero sparse keys left out."""
    # The field values straight from the instance (pydantic keeps them in __dict__): the
    # history builds a view of every model of a first sync, ~15 fields each (issue 29).
    values = pricing.__dict__
    view: dict[str, Any] = {}
    for name, key, sparse in _PRICE_FIELDS:
        value = values[name]
        if value is None or (sparse and value == 0):
            continue
        view[key] = value
    for key, value in values["other"].items():
        if value != 0:  # unknown upstream keys are surcharges too: sparse
            view[f"other.{key}"] = value
    if values["variable"]:
        view["variable"] = True
    if values["per_unit"] is not None:
        view["perUnit"] = values["per_unit"]
        view["unit"] = values["unit"]
    if values["tiers"]:
        view["tiers"] = [
            t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in values["tiers"]
        ]
    return view


def _change(model_id: str, field: str, before: Any, after: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": model_id, "field": field}
    if before is not None:
        entry["from"] = before
    if after is not None:
        entry["to"] = after
    return entry


def field_changes(before: ModelRecord, after: ModelRecord) -> list[dict[str, Any]]:
    """Price, context and flag changes of one model (``pricing.<key>``, ``maxContext``, ...)."""
    out: list[dict[str, Any]] = []
    old, new = price_view(before.pricing), price_view(after.pricing)
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a != b:
            out.append(_change(after.id, f"pricing.{key}", a, b))
    for name, published in WATCHED_FIELDS.items():
        a, b = getattr(before, name), getattr(after, name)
        if a != b:
            out.append(_change(after.id, published, a, b))
    return out


def build(
    previous: Mapping[str, ModelRecord],
    *,
    previous_states: Mapping[str, Lifecycle],
    records: Iterable[ModelRecord],
    listed: Iterable[str],
    removed: Iterable[str],
    new_redirects: Iterable[Redirect],
    alias_changes: Iterable[AliasChange],
) -> dict[str, Any]:
    """The ``changelog`` section of the run report (one pass over the catalog)."""
    listed_ids = set(listed)
    removed_ids = sorted(removed)
    changed: list[dict[str, Any]] = []
    states: list[dict[str, str]] = []
    for record in records:
        before_state = previous_states.get(record.id)
        if before_state is not None and before_state.state != record.lifecycle.state:
            states.append(
                {"id": record.id, "from": before_state.state, "to": record.lifecycle.state}
            )
        before = previous.get(record.id)
        if before is not None and record.id in listed_ids:
            changed.extend(field_changes(before, record))
    for model_id in removed_ids:
        before_state = previous_states.get(model_id)
        if before_state is not None:
            states.append({"id": model_id, "from": before_state.state, "to": "removed"})
    redirects = sorted(new_redirects, key=lambda r: r.from_id)
    return {
        "added": sorted(listed_ids - previous.keys()),
        "removed": removed_ids,
        "renamed": [{"from": r.from_id, "to": r.to} for r in redirects if r.reason == "rename"],
        "redirected": [
            {"from": r.from_id, "to": r.to, "reason": r.reason, "since": r.since} for r in redirects
        ],
        "stateChanges": sorted(states, key=lambda s: s["id"]),
        "aliasChanges": [c.model_dump(by_alias=True) for c in alias_changes],
        "changed": changed,
    }
