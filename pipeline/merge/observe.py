"""What each source states about one provider–model, as ``Observation`` values.

One observation per source: the provider's own list (``native``; its values that came from the
matched OpenRouter record, by its ``provenance``, are the ``openrouter`` observation, and its
flags decided by an override or a name pattern are the ``override`` / ``heuristic`` ones), the
provider's own offer on OpenRouter for a model its own list does not carry, and each
independent catalog's entry. Values are in the published shape (camelCase, USD per 1M tokens as
``Decimal``, ISO dates); each carries its provenance string, which the merged list publishes for
the value it picks.

Records and entries are plain mappings as published (parsed with the stdlib ``json``): 8,000
provider–models are merged in a few seconds only because no record is validated or copied field
by field on the way (the merged lists are validated against their schema when written).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.merge.precedence import HEURISTIC, NATIVE, OPENROUTER, OVERRIDE

UNKNOWN = "unknown"
PRICE_FIELDS = ("input", "output", "cacheRead", "cacheWrite")
FLAG_FIELDS = ("supportsVision", "supportsTools", "reasoning", "structuredOutput")
# Which provenance entry of a provider list says where a flag's API signal came from.
FLAG_SIGNAL = {
    "supportsVision": "modalities",
    "supportsTools": "supportedParameters",
    "reasoning": "supportedParameters",
    "structuredOutput": "supportedParameters",
}
TOLERANCE = Decimal("1e-6")
# The OpenRouter part of a provider list's provenance (`input openrouter:x/y, output native`).
_OPENROUTER_REF = re.compile(r"openrouter(-endpoint)?:[^\s,]+")

Record = dict[str, Any]
"""A provider–model record as published (camelCase keys)."""


@dataclass
class Observation:
    """What one source states about one provider–model."""

    label: str
    """``native``, ``openrouter``, ``override``, ``heuristic`` or an independent catalog's name."""
    values: dict[str, Any] = field(default_factory=dict)
    """Merged field → value (only what the source states)."""
    origin: dict[str, str] = field(default_factory=dict)
    """Merged field → provenance string (``native``, ``openrouter:<id>``, ``modelsdev:<key>``)."""
    pricing: Mapping[str, Any] | None = None
    """The whole price set behind its token prices (tiers, per-unit prices), as published."""
    announced: list[Mapping[str, Any]] = field(default_factory=list)
    """Prices it announces for later dates (``AnnouncedPrice`` as published)."""
    ref: dict[str, str] | None = None
    """The model in that source (a ``SourceRef`` as published), for the record's ``sources``."""
    deprecated: bool = False
    """The source lists the model as deprecated."""
    controls: bool | None = None
    """Its reasoning can be set (catalogs: ``reasoningControls``)."""
    unit_key: str | None = None
    """The catalog's key its per-unit price was read from (catalogs: ``unitKey``)."""

    def put(self, name: str, value: Any, origin: str) -> None:
        if value is not None:
            self.values[name] = value
            self.origin[name] = origin


def _label(origin: str | None) -> str | None:
    """The observation a provider list's value belongs to, by its provenance string."""
    if origin is None or origin == UNKNOWN:
        return None
    if origin.startswith(("openrouter", "all: openrouter", "input openrouter")):
        return OPENROUTER
    return NATIVE


def from_provider_list(
    record: Mapping[str, Any], provenance: Mapping[str, str]
) -> dict[str, Observation]:
    """A provider list's record split by where each value came from (label → observation)."""
    out: dict[str, Observation] = {}
    whole = provenance.get("all")
    base = _label(whole) or NATIVE
    base_origin = whole or "native"

    def obs(label: str) -> Observation:
        found = out.get(label)
        if found is None:
            found = out[label] = Observation(label)
        return found

    def origin_of(name: str) -> str:
        return provenance.get(name) or base_origin

    pricing = record.get("pricing") or {}
    price_origin = origin_of("pricing")
    price_label = _label(price_origin)
    if price_label is not None and any(pricing.get(n) is not None for n in PRICE_FIELDS):
        target = obs(price_label)
        for name in PRICE_FIELDS:
            target.put(name, pricing.get(name), price_origin)
        target.pricing = pricing
    for name in ("maxContext", "maxOutput"):
        found = origin_of(name)
        label = _label(found)
        if label is not None:
            obs(label).put(name, record.get(name), found)
    modalities = record.get("modalities") or {}
    found = origin_of("modalities")
    label = _label(found)
    if label is not None and (modalities.get("input") or modalities.get("output")):
        obs(label).put("modalities", modalities, found)
    own = obs(base)
    own.put("name", record.get("name"), base_origin)
    own.put("created", record.get("created"), base_origin)
    own.put("kind", record.get("kind"), base_origin)
    own.put("expiresAt", (record.get("lifecycle") or {}).get("expiresAt"), base_origin)
    cutoff = record.get("knowledgeCutoff")
    if cutoff is not None:
        matched = next(
            (r["nativeId"] for r in record.get("sources") or () if r["source"] == OPENROUTER), None
        )
        if matched is not None:
            obs(OPENROUTER).put("knowledgeCutoff", cutoff, f"openrouter:{matched}")
        else:
            own.put("knowledgeCutoff", cutoff, base_origin)
    layers = record.get("detectionSource") or {}
    evidence = record.get("evidence") or {}
    for name in FLAG_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        layer = layers.get(name)
        why = evidence.get(name, "")
        if layer == "override":
            obs(OVERRIDE).put(name, value, f"override: {why}")
        elif layer == "heuristic":
            obs(HEURISTIC).put(name, value, f"heuristic: {why}")
        else:
            signal = origin_of(FLAG_SIGNAL[name])
            label = _label(signal) or base
            where = _OPENROUTER_REF.search(signal) if label == OPENROUTER else None
            obs(label).put(name, value, f"{where.group(0) if where else 'native'}: {why}")
    if OPENROUTER in out:
        out[OPENROUTER].ref = next(
            (dict(r) for r in record.get("sources") or () if r["source"] == OPENROUTER), None
        )
    return out


def from_openrouter_offer(
    model_id: str, pricing: Mapping[str, Any], limits: Mapping[str, Any]
) -> Observation:
    """The OpenRouter model record as the provider's own offer (``enrich.owner_offer`` said
    so): its prices and limits, for a model the provider's own list does not carry."""
    origin = f"openrouter:{model_id}"
    found = Observation(OPENROUTER, ref={"source": OPENROUTER, "nativeId": model_id})
    if pricing.get("input") is not None or pricing.get("output") is not None:
        for name in PRICE_FIELDS:
            found.put(name, pricing.get(name), origin)
        found.pricing = pricing
    found.put("maxContext", limits.get("maxContext"), origin)
    found.put("maxOutput", limits.get("maxOutput"), origin)
    return found


_EPOCH = dt.date(1970, 1, 1)


@functools.lru_cache(maxsize=4096)
def _epoch(day: str | None) -> int | None:
    """``2025-03-20`` → Unix seconds at midnight UTC (once per date: 8,000 catalog entries of
    a first merge carry a few hundred release dates)."""
    if day is None or len(day) != 10:
        return None
    try:
        return (dt.date.fromisoformat(day) - _EPOCH).days * 86400
    except ValueError:
        return None


# CatalogEntry key (as published in the snapshot) → merged field.
_ENTRY_FIELDS = (
    ("maxContext", "maxContext"),
    ("maxOutput", "maxOutput"),
    ("supportsVision", "supportsVision"),
    ("supportsTools", "supportsTools"),
    ("reasoning", "reasoning"),
    ("structuredOutput", "structuredOutput"),
    ("name", "name"),
    ("modalities", "modalities"),
    ("knowledgeCutoff", "knowledgeCutoff"),
    ("weights", "weights"),
    ("lastUpdated", "lastUpdated"),
    ("kind", "kind"),
    ("deprecationDate", "expiresAt"),
)


def from_catalog(entry: Mapping[str, Any], source: str, keys: Mapping[str, str]) -> Observation:
    """One independent catalog's entry (as its snapshot publishes it); provenance
    ``<source>:<key> <the catalog's field>`` per value."""
    origin = f"{source}:{entry['key']}"
    found = Observation(
        source,
        ref={"source": source, "nativeId": entry["key"]},
        deprecated=entry.get("status") == "deprecated",
        controls=entry.get("reasoningControls"),
        announced=list(entry.get("announcedPrices") or ()),
        unit_key=entry.get("unitKey"),
    )
    values = found.values
    pricing = entry.get("pricing")
    if pricing is not None:
        for name in PRICE_FIELDS:
            if pricing.get(name) is not None:
                values[name] = pricing[name]
        found.pricing = pricing
    for key, name in _ENTRY_FIELDS:
        value = entry.get(key)
        if value is not None:
            values[name] = value
    created = _epoch(entry.get("releaseDate"))
    if created is not None:
        values["created"] = created
    if entry.get("status") in ("alpha", "beta"):
        values["releaseStage"] = entry["status"]
    found.origin = {name: f"{origin} {keys[name]}" if name in keys else origin for name in values}
    return found


def same(name: str, ours: Any, theirs: Any) -> bool:
    """Whether two sources state the same value of field ``name``: prices within a millionth
    (the catalogs' figures are binary floats), reasoning as reasons-or-not, else equality."""
    if ours == theirs:
        return True
    if name in PRICE_FIELDS:
        a, b = Decimal(ours), Decimal(theirs)
        return abs(a - b) <= TOLERANCE * max(abs(a), abs(b))
    if name == "reasoning":
        return as_bool(ours) == as_bool(theirs)
    return False


def as_bool(value: Any) -> bool:
    """A reasoning value (``none``/``fixed``/``configurable`` or a catalog's boolean)."""
    if isinstance(value, str):
        return value != "none"
    return bool(value)


def comparable(name: str, value: Any) -> Any:
    """The value as a dissent publishes it (reasoning as a boolean)."""
    return as_bool(value) if name == "reasoning" else value
