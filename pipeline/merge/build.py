"""One provider's merged list: join the sources' models, decide every field, publish records.

Joining, per provider: the provider's own list first (its ids are the provider's ids), then each
independent catalog in precedence order, an entry joining the record of the same id (compared
case-insensitively) or starting its own; a catalog that prices by ``match`` rule (genai-prices)
joins every record its rule selects (the first rule in its file that selects an id wins), and an
entry selecting none starts its own record. Ids are never joined by resemblance: two spellings
of one model are two records unless a source says otherwise.

Then every field is decided (``decide``). A record the provider's own list carries keeps what
that list says beyond the merged fields (offers, supported parameters, evidence); a record only
catalogs carry is built from the decided values alone — ``kind``, vision and image output from
its stated modalities or LiteLLM's ``mode``, ``isFree`` from its prices; no name-pattern guess
is made for it, and a flag no source states is absent (unknown). The lifecycle moves: listed by
a source served live this run → seen; listed only by sources served from a fallback →
unchanged; listed by none → missing (stale → deprecated → removed, which leaves the list).
models.dev ``deprecated`` (or genai-prices ``deprecated``) forces ``deprecated`` while listed;
an announced retirement date (the provider's own, else LiteLLM ``deprecation_date``) is
``expiresAt``.

Records are plain mappings in the published shape (see ``observe``).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pipeline.config import LifecycleConfig, TierConfig
from pipeline.merge.decide import Decision, decide, decide_alone
from pipeline.merge.observe import (
    FLAG_FIELDS,
    PRICE_FIELDS,
    UNKNOWN,
    Observation,
    Record,
    from_catalog,
    from_openrouter_offer,
    from_provider_list,
)
from pipeline.merge.precedence import (
    AGREEMENT_FIELDS,
    HEURISTIC,
    MERGED_FIELDS,
    NATIVE,
    OPENROUTER,
    OVERRIDE,
    Precedence,
)
from pipeline.records.base import PriceTier
from pipeline.records.model import Lifecycle, Pricing, ProviderModelRecord
from pipeline.sources.genai_prices import RuleBook
from pipeline.stages import lifecycle, signals, tiers
from pipeline.stages.aliases import AliasCandidate, assign_aliases
from pipeline.stages.enrich import OpenRouterIndex, owner_offer
from pipeline.stages.normalize import family_of
from pipeline.timeutil import parse_iso

NOT_CATALOGS = frozenset({NATIVE, OPENROUTER, OVERRIDE, HEURISTIC})


def _published_keys(model: type[Any]) -> list[str]:
    return [
        info.serialization_alias or info.alias or name for name, info in model.model_fields.items()
    ]


RECORD_KEYS = _published_keys(ProviderModelRecord)
EMPTY_PRICING: dict[str, Any] = Pricing().model_dump(
    mode="python", by_alias=True, exclude_none=True
)
"""No price at all, as a record publishes it."""
"""A record's keys in the order the published schema (pydantic) writes them."""
PRICE_KEYS = _published_keys(Pricing)


@dataclass
class ProviderInputs:
    """Everything one provider's list is merged from (mappings as published)."""

    provider: str
    own: Mapping[str, Any] | None = None
    """The provider source's own list (``native.json``), if the provider has a source."""
    own_live: bool = False
    """That list was served by its API this run (or a fresh cache of it): it counts as seen."""
    vendors: tuple[str, ...] = ()
    """OpenRouter vendor prefixes of the provider's own models (its own offer on OpenRouter)."""
    catalogs: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Independent catalog source → its entries for this provider, in file order."""
    catalog_live: dict[str, bool] = field(default_factory=dict)
    """Catalog source → its snapshot was fetched live (or is a fresh cache)."""
    catalog_fetched: dict[str, str] = field(default_factory=dict)
    """Catalog source → when its snapshot was fetched (``lastSeen`` of what it lists)."""
    previous: Mapping[str, Any] | None = None
    """The list published before (aliases and lifecycle continue from it)."""


@dataclass
class MergeSettings:
    """What every provider's merge shares."""

    now: datetime
    precedence: Precedence
    catalog_order: tuple[str, ...]
    """Independent catalog sources in their default precedence."""
    field_keys: Mapping[str, Mapping[str, str]]
    """Catalog source → published field → the catalog's key (evidence)."""
    index: OpenRouterIndex | None = None
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    tiers: TierConfig = field(default_factory=TierConfig)
    priced: dict[tuple[Any, ...], tuple[bool | None, str, str, PriceTier]] = field(
        default_factory=dict, repr=False, compare=False
    )
    """What a price set gives (``isFree`` and why, ``cost``, ``priceTier``), figured once per
    distinct set: a first merge prices ~7,400 records from ~2,000 sets."""


@dataclass
class Tally:
    """The run's crosscheck, counted while merging (the run report's ``crosscheck``)."""

    compared: Counter[str] = field(default_factory=Counter)
    """Field → records where two or more sources state it."""
    agreed: Counter[str] = field(default_factory=Counter)
    """Field → of those, records where every source agrees."""
    dissents: Counter[str] = field(default_factory=Counter)
    """Source → values it states that differ from the published one."""
    unconfirmed: Counter[str] = field(default_factory=Counter)
    """Field → records where one independent catalog alone states it."""

    def summary(self) -> dict[str, Any]:
        return {
            "fields": {
                name: {
                    "compared": self.compared[name],
                    "agree": self.agreed[name],
                    "disagree": self.compared[name] - self.agreed[name],
                    "unconfirmed": self.unconfirmed[name],
                }
                for name in AGREEMENT_FIELDS
            },
            "disagreementsBySource": dict(sorted(self.dissents.items())),
            "disagreements": sum(self.dissents.values()),
        }


@dataclass
class MergedList:
    """One provider's merged records and what the document around them needs."""

    records: list[Record]
    provenance: dict[str, dict[str, str]]
    counts: dict[str, int]
    """Source → how many of the provider's models it lists (contributors)."""
    removed: list[str]
    """Ids that became ``removed`` in this run (they leave the list)."""
    previous: dict[str, Record]


@dataclass
class _Group:
    id: str
    observations: list[Observation] = field(default_factory=list)
    own: Mapping[str, Any] | None = None
    provenance: Mapping[str, str] = field(default_factory=dict)
    """The provider list's provenance of its record (when it has one)."""
    refs: list[dict[str, str]] = field(default_factory=list)
    live: bool = False
    """Listed by a source served live this run (else only by fallbacks)."""
    seen_at: str = ""
    """When the latest live source listing it was fetched: its ``lastSeen`` (a cached list
    re-read by a later run is not a new sighting)."""


def _attach(target: _Group, observation: Observation, live: bool, fetched: str = "") -> None:
    target.observations.append(observation)
    if observation.ref is not None:
        target.refs.append(observation.ref)
    target.live = target.live or live
    if live:
        target.seen_at = max(target.seen_at, fetched)


def _join(inputs: ProviderInputs, settings: MergeSettings) -> list[_Group]:
    groups: dict[str, _Group] = {}

    def group(model_id: str) -> _Group:
        key = model_id.lower()
        found = groups.get(key)
        if found is None:
            found = groups[key] = _Group(model_id)
        return found

    own = inputs.own
    if own is not None:
        provenance = own.get("provenance") or {}
        for record in own["models"]:
            found = group(record["id"])
            found.own = record
            found.provenance = provenance.get(record["id"], {})
            split = from_provider_list(record, found.provenance)
            found.observations.extend(split.values())
            found.refs.extend(record.get("sources") or ())
            found.live = found.live or inputs.own_live
            if inputs.own_live:
                found.seen_at = max(found.seen_at, str(own.get("fetchedAt") or ""))
    for source in settings.catalog_order:
        entries = inputs.catalogs.get(source)
        if not entries:
            continue
        keys = settings.field_keys.get(source, {})
        live = inputs.catalog_live.get(source, False)
        fetched = inputs.catalog_fetched.get(source, "")
        ruled = [e for e in entries if e.get("match") is not None]
        for entry in entries:
            if entry.get("match") is None:
                _attach(group(entry["id"]), from_catalog(entry, source, keys), live, fetched)
        if ruled:
            book = RuleBook([e["match"] for e in ruled])
            used: set[int] = set()
            for existing in sorted(groups.values(), key=lambda g: g.id):
                position = book.first(existing.id)
                if position is not None:
                    entry = ruled[position]
                    _attach(existing, from_catalog(entry, source, keys), live, fetched)
                    used.add(position)
            for position, entry in enumerate(ruled):
                if position not in used and entry["id"].lower() not in groups:
                    _attach(group(entry["id"]), from_catalog(entry, source, keys), live, fetched)
    index = settings.index
    if index is not None:
        for found in groups.values():
            if found.own is not None:
                continue
            match = index.lookup(found.id, inputs.vendors).record
            if match is None:
                continue
            if inputs.vendors and owner_offer(
                match, inputs.vendors, index.is_open_weights(match.id)
            ):
                pricing = match.pricing.model_dump(mode="python", by_alias=True, exclude_none=True)
                limits = {"maxContext": match.max_context, "maxOutput": match.max_output}
                found.observations.append(from_openrouter_offer(match.id, pricing, limits))
            found.refs.append({"source": OPENROUTER, "nativeId": match.id})
    return sorted(groups.values(), key=lambda g: g.id)


def _pricing(decided: Mapping[str, Decision]) -> tuple[dict[str, Any], str | None]:
    """The published prices: the price set of the source that gave the input price (else the
    output price), with each token price as decided."""
    base_from = decided.get("input") or decided.get("output")
    base = base_from.winner.pricing if base_from is not None else None
    pricing = dict(base) if base else dict(EMPTY_PRICING)
    for name in PRICE_FIELDS:
        chosen = decided.get(name)
        if chosen is None:
            pricing.pop(name, None)
        else:
            pricing[name] = chosen.value
    ordered = {k: pricing[k] for k in PRICE_KEYS if k in pricing}
    return ordered, base_from.origin if base_from is not None else None


def _reasoning(decision: Decision) -> str:
    value = decision.value
    if isinstance(value, str):
        return value
    if not value:
        return "none"
    return "configurable" if decision.winner.controls else "fixed"


@dataclass(slots=True)
class _Figures:
    """The prices ``tiers`` reads, off a published pricing mapping (``tiers.Prices``). Not
    frozen: a frozen dataclass sets each field through ``object.__setattr__``, five times the
    cost of building one of these per priced record (7,000 in a first merge)."""

    variable: bool
    input: Decimal | None
    output: Decimal | None
    image_output: Decimal | None
    per_image: Decimal | None
    per_request: Decimal | None
    per_unit: Decimal | None
    unit: str | None

    @classmethod
    def of(cls, pricing: Mapping[str, Any]) -> _Figures:
        def number(key: str) -> Decimal | None:
            value = pricing.get(key)
            return None if value is None else Decimal(value)

        return cls(
            variable=bool(pricing.get("variable")),
            input=number("input"),
            output=number("output"),
            image_output=number("imageOutput"),
            per_image=number("perImage"),
            per_request=number("perRequest"),
            per_unit=number("perUnit"),
            unit=pricing.get("unit"),
        )


CATALOG_CITATION = re.compile(r"^(?:modelsdev|litellm|genai-prices):\S+ [A-Za-z_][\w.]*$")
"""A provenance that cites an independent catalog's entry and the field read from it."""
OPENROUTER_CITATION = re.compile(r"^openrouter:\S+$")
"""A provenance naming the OpenRouter record a value came from (its `pricing`, here)."""

_NOT_PRICES = frozenset(
    {"variable", "tiers", "other", "unit", "minPromptTokens", "utcStart", "utcEnd"}
)


def _paid(pricing: Mapping[str, Any]) -> list[str]:
    """Price components above 0 (``signals.positive_prices`` of a published mapping)."""
    found = [k for k, v in pricing.items() if k not in _NOT_PRICES and v is not None and v > 0]
    found += [f"other.{k}" for k, v in (pricing.get("other") or {}).items() if v > 0]
    for index, tier in enumerate(pricing.get("tiers") or ()):
        found += [
            f"tiers[{index}].{k}"
            for k, v in tier.items()
            if k not in _NOT_PRICES and v is not None and v > 0
        ]
    return found


def _unit_priced(pricing: Mapping[str, Any]) -> bool:
    """A price in a unit of its own (``perUnit`` with its ``unit``, ``perImage``)."""
    return pricing.get("perUnit") is not None or pricing.get("perImage") is not None


def _stated_price(pricing: Mapping[str, Any]) -> bool:
    """Some price component is stated (0 included), or the unit the model is billed in (a
    model not billed per token, its unit perhaps not stated upstream): a price, not an absence
    of one."""
    if pricing.get("unit") is not None:
        return True
    return any(k not in _NOT_PRICES and v is not None for k, v in pricing.items())


def _free(pricing: Mapping[str, Any]) -> tuple[bool | None, str]:
    if pricing.get("variable"):
        return False, "pricing -1: dynamic price, not free"
    paid = _paid(pricing)
    if paid:
        return False, f"priced: {', '.join(paid[:3])} > 0"
    if pricing.get("input") is None and pricing.get("output") is None:
        return None, signals.NO_TOKEN_PRICE  # a token price of 0 alone means free (the laws)
    return True, "every listed price is 0"


def _priced(
    record: Record, pricing: dict[str, Any], settings: MergeSettings, *, cited: str
) -> None:
    """Set ``pricing`` and what follows from it: ``isFree``, ``priceTier``, ``cost``.
    ``cited``: the pricing's provenance; a catalog's entry and field (``modelsdev:<key>
    cost.input``) is cited first in ``isFree``'s evidence, as every `api` flag cites its
    field."""
    key = tuple(pricing.items())
    try:
        known = settings.priced.get(key)
        kept = True
    except TypeError:  # tiers or `other` (a list, a mapping): figured each time
        known, kept = None, False
    if known is None:
        figures = _Figures.of(pricing)
        is_free, why = _free(pricing)
        known = (
            is_free,
            why,
            tiers.cost_label(figures, is_free=bool(is_free)),
            tiers.classify(figures, is_free=bool(is_free), config=settings.tiers),
        )
        if kept:
            settings.priced[key] = known
    is_free, why, cost, tier = known
    if CATALOG_CITATION.match(cited):
        why = f"{cited}: {why}"
    elif OPENROUTER_CITATION.match(cited):
        why = f"{cited} pricing: {why}"
    record["pricing"] = pricing
    record["cost"] = cost
    record["priceTier"] = tier
    layers, evidence = record["detectionSource"], record["evidence"]
    if is_free is None:
        record.pop("isFree", None)
        layers.pop("isFree", None)
        evidence["isFree"] = f"unknown: {why}"
    else:
        record["isFree"] = is_free
        layers["isFree"] = "api"
        evidence["isFree"] = why


def _announced(observations: list[Observation]) -> list[Mapping[str, Any]] | None:
    seen: dict[tuple[str, str], Mapping[str, Any]] = {}
    for obs in observations:
        for price in obs.announced:
            seen.setdefault((str(price["from"]), str(price["source"])), price)
    return [seen[k] for k in sorted(seen)] or None


def _kind(record: Record, decided: Mapping[str, Decision], outputs: list[str]) -> None:
    layers, evidence = record["detectionSource"], record["evidence"]
    stated = decided.get("kind")
    if stated is not None:
        record["kind"] = stated.value
        layers["kind"], evidence["kind"] = "api", f"{stated.origin} = {stated.value}"
        return
    if outputs:
        where = decided["modalities"].origin
        kind = "chat" if "text" in outputs else None
        for modality, named in signals.OUTPUT_KINDS:
            if kind is None and modality in outputs:
                kind = named
        record["kind"] = kind or "chat"
        layers["kind"], evidence["kind"] = "api", f"{where}: output modalities {sorted(outputs)}"
        return
    record["kind"] = "chat"
    layers["kind"] = "heuristic"
    evidence["kind"] = "default: no source states what the model is for"


def _from_catalogs(provider: str, found: _Group, decided: Mapping[str, Decision]) -> Record:
    """A record no provider list carries: what the decided values say, nothing guessed."""
    modalities = decided["modalities"].value if "modalities" in decided else None
    inputs = list(modalities.get("input") or []) if modalities else []
    outputs = list(modalities.get("output") or []) if modalities else []
    record: Record = {
        "id": found.id,
        "name": decided["name"].value if "name" in decided else found.id,
        "alias": "",
        "provider": provider,
        "family": family_of(found.id) if "/" in found.id else provider,
        "modalities": {"input": inputs, "output": outputs},
        "detectionSource": {},
        "evidence": {},
        "supportedParameters": [],
        "sources": [],
    }
    _kind(record, decided, outputs)
    layers, evidence = record["detectionSource"], record["evidence"]
    if outputs:
        record["isImageGen"] = "image" in outputs
        layers["isImageGen"] = "api"
        evidence["isImageGen"] = f"{decided['modalities'].origin}: output modalities {outputs}"
    else:
        evidence["isImageGen"] = "unknown: no source states the output modalities"
    if inputs and "supportsVision" not in decided:
        record["supportsVision"] = "image" in inputs
        layers["supportsVision"] = "api"
        evidence["supportsVision"] = f"{decided['modalities'].origin}: input modalities {inputs}"
    for name in FLAG_FIELDS:
        evidence.setdefault(name, "unknown: no source states it")
    return record


def _record(
    provider: str, found: _Group, settings: MergeSettings
) -> tuple[Record, dict[str, str], dict[str, Decision]]:
    rank = settings.precedence.rank
    decided: dict[str, Decision] = {}
    if len(found.observations) == 1:
        decided = decide_alone(found.observations[0])
    else:
        stated = set().union(*(o.values for o in found.observations))
        for name in MERGED_FIELDS:
            if name in stated:
                decision = decide(name, found.observations, rank)
                if decision is not None:
                    decided[name] = decision
    pricing, pricing_origin = _pricing(decided)
    own = found.own
    if own is not None and pricing_origin is None:
        pricing = dict(own.get("pricing") or EMPTY_PRICING)  # nothing priced it: as it was
    if pricing_origin is None and not _stated_price(pricing):
        # No token price anywhere: a source's price in another unit (LiteLLM's per pixel or
        # per query), by the input price's precedence.
        priced = [o for o in found.observations if o.pricing and _unit_priced(o.pricing)]
        if priced:
            unit_source = min(priced, key=lambda o: rank("input", o.label))
            unit_prices = unit_source.pricing or {}
            pricing = {k: unit_prices[k] for k in PRICE_KEYS if k in unit_prices}
            ref = unit_source.ref
            pricing_origin = f"{ref['source']}:{ref['nativeId']}" if ref else unit_source.label
            if unit_source.unit_key:
                pricing_origin += f" {unit_source.unit_key}"
    if own is None:
        record = _from_catalogs(provider, found, decided)
    else:
        record = dict(own)
        record["detectionSource"] = dict(own.get("detectionSource") or {})
        record["evidence"] = dict(own.get("evidence") or {})
    # The provider list's own provenance stays (supported parameters, unknown flags, the
    # `all` of a catalog-tier record); each decided field's source is written over it.
    provenance: dict[str, str] = dict(found.provenance)
    for name in ("maxContext", "maxOutput", "name", "created", "knowledgeCutoff", "modalities"):
        chosen = decided.get(name)
        if chosen is not None:
            record[name] = chosen.value
            provenance[name] = chosen.origin
        elif name in ("maxContext", "maxOutput"):
            provenance[name] = UNKNOWN  # absent: nobody states it
            record.pop(name, None)
        elif name == "modalities":
            modalities = record.get("modalities") or {}
            if not (modalities.get("input") or modalities.get("output")):
                provenance[name] = UNKNOWN
    if "kind" in decided:
        provenance["kind"] = decided["kind"].origin
    if pricing_origin is not None:
        provenance["pricing"] = pricing_origin
    elif "pricing" not in provenance or not _stated_price(pricing):
        provenance["pricing"] = UNKNOWN  # no price at all
    for name in PRICE_FIELDS:
        if name in decided:
            provenance[name] = decided[name].origin
    if own is None or pricing != (own.get("pricing") or {}):
        _priced(record, pricing, settings, cited=provenance["pricing"])
    layers, evidence = record["detectionSource"], record["evidence"]
    for name in FLAG_FIELDS:
        decision = decided.get(name)
        if decision is None:
            # Decided from the modalities (a catalog-only record's vision) or by a layer of the
            # provider's own list: its evidence names the source.
            layer = layers.get(name)
            why = evidence.get(name, "")
            if layer:
                provenance[name] = why if layer == "api" else f"{layer}: {why}"
            else:
                provenance.setdefault(name, UNKNOWN)
            continue
        provenance[name] = decision.origin
        if decision.winner.label in NOT_CATALOGS:
            continue  # the record's own value (own list, override, guess) stands
        record[name] = _reasoning(decision) if name == "reasoning" else decision.value
        layers[name] = "api"
        evidence[name] = f"{decision.origin} = {str(decision.value).lower()}"
    record["detectionSource"] = dict(sorted(layers.items()))
    record["evidence"] = dict(sorted(evidence.items()))
    for name in ("weights", "lastUpdated", "releaseStage"):
        if name in decided:
            record[name] = decided[name].value
            provenance[name] = decided[name].origin
    dissents = [d for name in AGREEMENT_FIELDS if name in decided for d in decided[name].dissents]
    if dissents:
        record["disagreements"] = sorted(dissents, key=lambda d: (d["field"], d["source"]))
    agreement = {
        n: decided[n].agreement for n in AGREEMENT_FIELDS if n in decided and decided[n].agreement
    }
    if agreement:
        record["agreement"] = agreement
    unconfirmed = [
        n
        for n in AGREEMENT_FIELDS
        if n in decided and decided[n].counted == 1 and decided[n].winner.label not in NOT_CATALOGS
    ]
    if unconfirmed:
        record["unconfirmed"] = unconfirmed
    announced = _announced(found.observations)
    if announced:
        record["announcedPrices"] = announced
    refs = list(record.get("sources") or ())
    known = {(r["source"], r["nativeId"]) for r in refs}
    for ref in found.refs:
        if (ref["source"], ref["nativeId"]) not in known:
            known.add((ref["source"], ref["nativeId"]))
            refs.append(ref)
    record["sources"] = refs
    # Every traced value says where it came from, `unknown` when it is absent (the law
    # `provider-provenance`, pipeline/laws).
    if not record.get("supportedParameters") and "all" not in provenance:
        provenance.setdefault("supportedParameters", UNKNOWN)
    for flag in (*FLAG_FIELDS, "kind", "isImageGen", "isFree"):
        if record.get(flag) is None:
            provenance[flag] = UNKNOWN
    return record, dict(sorted(provenance.items())), decided


def _dropped(old: Mapping[str, Any], inputs: ProviderInputs, settings: MergeSettings) -> bool:
    """Whether every source that listed ``old`` was served live this run (and so dropped it):
    only then is it missing. OpenRouter's own offer counts as live (its catalog is read as
    published); a source no longer configured dropped it too."""
    own = inputs.own["source"] if inputs.own else None
    for ref in old.get("sources") or ():
        source = ref.get("source")
        if source == own and not inputs.own_live:
            return False
        if source in settings.catalog_order and not inputs.catalog_live.get(source, False):
            return False
    return True


def _lifecycle(previous: Mapping[str, Any] | None) -> Lifecycle | None:
    return Lifecycle.model_validate(previous) if previous else None


def _dump(state: Lifecycle) -> dict[str, Any]:
    return state.model_dump(mode="python", by_alias=True, exclude_none=True)


@functools.lru_cache(maxsize=1024)
def _moment(stamp: str) -> datetime:
    """``parse_iso``, once per fetch time (thousands of records share a few)."""
    return parse_iso(stamp)


@functools.lru_cache(maxsize=1024)
def _first_seen(when: datetime, expires: str | None, forced: bool) -> Mapping[str, Any]:
    """The published lifecycle of a model seen for the first time at ``when``: it depends on
    nothing else, and a first merge builds thousands of them from a few fetch times."""
    return _dump(lifecycle.seen(None, when, expires_at=expires, forced=forced))


def _ordered(record: Record) -> Record:
    return {k: v for k in RECORD_KEYS if (v := record.get(k)) is not None}


def merge_provider(inputs: ProviderInputs, settings: MergeSettings, tally: Tally) -> MergedList:
    """The merged records of one provider (sorted by id), their provenance and lifecycle."""
    now = settings.now
    previous: dict[str, Record] = (
        {m["id"]: m for m in inputs.previous["models"]} if inputs.previous else {}
    )
    own_source = inputs.own["source"] if inputs.own else None
    built: dict[str, Record] = {}
    provenance: dict[str, dict[str, str]] = {}
    counts: Counter[str] = Counter()
    for found in _join(inputs, settings):
        record, where, decided = _record(inputs.provider, found, settings)
        for label in {o.label for o in found.observations} - {OVERRIDE, HEURISTIC}:
            counts[own_source if label == NATIVE and own_source else label] += 1
        for name, decision in decided.items():
            if decision.agreement is not None:
                tally.compared[name] += 1
                tally.agreed[name] += not decision.dissents
            for dissent in decision.dissents:
                tally.dissents[dissent["source"]] += 1
        for name in record.get("unconfirmed") or ():
            tally.unconfirmed[name] += 1
        prior = previous.get(record["id"]) or found.own
        before = _lifecycle(prior.get("lifecycle") if prior else None)
        forced = any(o.deprecated for o in found.observations)
        expires = decided["expiresAt"].value if "expiresAt" in decided else None
        # The replacement the provider's own list names (Mistral's
        # `deprecation_replacement_model`): the redirect target when the model goes.
        replacement = ((found.own or {}).get("lifecycle") or {}).get("replacement")
        when = min(_moment(found.seen_at), now) if found.seen_at else now
        if before is None and not replacement:
            record["lifecycle"] = dict(_first_seen(when, expires, forced))
        else:
            if found.live or before is None:
                state = lifecycle.seen(before, when, expires_at=expires, forced=forced)
            else:
                state = before  # a fallback never moves a model's lifecycle
            if replacement and state.replacement is None:
                state = state.model_copy(update={"replacement": str(replacement)})
            record["lifecycle"] = _dump(state)
        built[record["id"]] = record
        provenance[record["id"]] = where
    removed: list[str] = []
    kept = inputs.previous.get("provenance") or {} if inputs.previous else {}
    for model_id, old in previous.items():
        if model_id in built:
            continue
        if not _dropped(old, inputs, settings):
            # A source that listed it was served from a fallback this run (or did not run):
            # a fallback never moves a model's lifecycle.
            built[model_id] = dict(old)
            provenance[model_id] = kept.get(model_id, {})
            continue
        state = lifecycle.missing(
            Lifecycle.model_validate(old["lifecycle"]), now, config=settings.lifecycle
        )
        if state.state == "removed":
            removed.append(model_id)
            continue
        built[model_id] = {**old, "lifecycle": _dump(state)}
        provenance[model_id] = kept.get(model_id, {})
    held = {i: str(r["alias"]) for i, r in previous.items() if r.get("alias")}
    for record in inputs.own["models"] if inputs.own else ():
        if record["id"] not in held and record.get("alias"):
            held[record["id"]] = record["alias"]
    aliases = assign_aliases([AliasCandidate(i, r.get("created")) for i, r in built.items()], held)
    records = []
    for model_id in sorted(built):
        record = built[model_id]
        record["alias"] = aliases[model_id]
        records.append(_ordered(record))
    return MergedList(
        records=records,
        provenance={i: provenance[i] for i in sorted(provenance)},
        counts=dict(counts),
        removed=sorted(removed),
        previous=previous,
    )
