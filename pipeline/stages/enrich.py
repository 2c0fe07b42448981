"""Enrichment both ways between provider-native lists and the OpenRouter catalog.

Native → OpenRouter id matching (``OpenRouterIndex.lookup``), most specific evidence first:

1. **exact**: the id equals an OpenRouter id's model part (case-insensitive);
2. **canonical**: the id equals an OpenRouter ``canonical_slug``'s model part (it carries
   dated versions: ``anthropic/claude-4.5-sonnet-20250929``);
3. **date**: ids compared without date tags (``-20250929``, ``-2024-08-06``, ``-03-2025``),
   lower-cased, dots and underscores as dashes; when both sides carry a date (in the id or the
   canonical slug) the dates must be the same day/month. So ``claude-sonnet-4-5-20250929``
   meets ``anthropic/claude-sonnet-4.5`` but ``qwen3.5-plus-2026-02-15`` does not meet
   ``qwen/qwen3.5-plus-20260420``.

A four-digit version tag (``mistral-small-2506``, ``DeepSeek-V4-Pro-0813``) is part of the
identity and never stripped. Direct vendors only match records under their own vendor
prefixes; host ids with an org prefix (``deepseek-ai/…``, ``meta-llama/…``) match on their
model part among records of that vendor; ids without a vendor match any record. At each step
one candidate is a match, several are an *ambiguous* match — no match, listed in the run
report — and none moves on to the next step.

- ``fill_from_openrouter``: native records take modalities, supported parameters and the
  knowledge cutoff from the match when the native API does not give them. Prices and limits
  are the provider's own business: they are taken from the OpenRouter model record only when
  ``owner_offer`` says that record describes this provider's offer (see there); otherwise they
  stay absent and provenance says ``unknown``. Native facts always win, with provenance.
- ``link_direct_sources``: the hook ``sync.py`` calls so that OpenRouter records list, under
  ``sources``, the direct providers serving them with their native ids (read from the
  providers' published ``current.json``).
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import ValidationError

from pipeline.publishing.store import Store, StoreError
from pipeline.records.catalog import ProviderCatalog
from pipeline.records.model import ModelRecord, SourceRef
from pipeline.records.payloads import NativeModel
from pipeline.stages.normalize import Normalized

log = logging.getLogger("pipeline.stages.enrich")

PROVIDERS_PREFIX = "models/providers/"
UNKNOWN = "unknown"
"""Provenance of a field no source states for this provider (the field is absent)."""
# Hugging Face org (as hosts such as Together and Groq write it) → OpenRouter vendor prefix,
# where the two differ.
HF_ORG_TO_VENDOR = {
    "deepseek-ai": "deepseek",
    "zai-org": "z-ai",
    "minimaxai": "minimax",
    "xiaomimimo": "xiaomi",
    "mistral": "mistralai",
}
# Date tags only: YYYYMMDD, YYYY-MM-DD, MM-YYYY. Four-digit tags (-2506, -0613, -0813) are
# versions, part of the identity.
DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|\d{2}-\d{4})$")

How = Literal["exact", "canonical", "date"]


def _date_of(tag: str) -> str:
    """A date tag as ``YYYY-MM-DD`` (or ``YYYY-MM`` for ``MM-YYYY``), for comparing."""
    if len(tag) == 8:
        return f"{tag[:4]}-{tag[4:6]}-{tag[6:]}"
    if len(tag) == 7:  # MM-YYYY
        return f"{tag[3:]}-{tag[:2]}"
    return tag


def split_date(model_id: str) -> tuple[str, str | None]:
    """(comparable core, date or None): vendor prefix and ``:variant`` dropped, lower-cased,
    dots and underscores as dashes, trailing date tags removed (the last one is returned)."""
    bare = model_id.split("/", 1)[-1].split(":", 1)[0].lower()
    bare = bare.replace(".", "-").replace("_", "-")
    date: str | None = None
    while True:
        found = DATE_SUFFIX.search(bare)
        if found is None or found.start() == 0:
            return bare, date
        date = date or _date_of(found.group(1))
        bare = bare[: found.start()]


def match_key(model_id: str) -> str:
    """The comparable core of an id, without date tags (see the module docstring)."""
    return split_date(model_id)[0]


def _bare(model_id: str) -> str:
    return model_id.lstrip("~").split("/", 1)[-1].split(":", 1)[0].lower()


@dataclass(frozen=True)
class Match:
    """The outcome of one lookup: a record, or why there is none."""

    record: ModelRecord | None = None
    how: How | None = None
    ambiguous: tuple[str, ...] = ()
    """The candidates when several fit equally well (then ``record`` is None)."""


@dataclass
class OpenRouterIndex:
    """OpenRouter records by exact id, canonical slug and date-free key (base ids only:
    ``:free`` and other variants excluded; ``~`` aliases for exact matches only)."""

    by_id: dict[str, list[ModelRecord]] = field(default_factory=dict)
    by_slug: dict[str, list[ModelRecord]] = field(default_factory=dict)
    by_key: dict[str, list[ModelRecord]] = field(default_factory=dict)
    dates: dict[str, str | None] = field(default_factory=dict)
    """OpenRouter id → the date its id or canonical slug carries."""
    open_weights: dict[str, bool] = field(default_factory=dict)
    """OpenRouter id → whether the raw record names a Hugging Face repository (open weights);
    ids missing here are unknown (the raw snapshot was not readable)."""

    @classmethod
    def build(cls, records: Iterable[ModelRecord]) -> OpenRouterIndex:
        index = cls()
        grouped: dict[str, dict[str, list[ModelRecord]]] = {
            "id": defaultdict(list),
            "slug": defaultdict(list),
            "key": defaultdict(list),
        }
        for rec in sorted(records, key=lambda r: r.id):
            if ":" in rec.id:
                continue
            if rec.id.startswith("~"):
                # `~google/gemini-flash-latest` is OpenRouter's record for the very name
                # Google lists (`gemini-flash-latest`): exact matches only.
                grouped["id"][_bare(rec.id)].append(rec)
                continue
            grouped["id"][_bare(rec.id)].append(rec)
            if rec.canonical_slug and _bare(rec.canonical_slug) != _bare(rec.id):
                grouped["slug"][_bare(rec.canonical_slug)].append(rec)
            key, date = split_date(rec.id)
            grouped["key"][key].append(rec)
            if date is None and rec.canonical_slug:
                date = split_date(rec.canonical_slug)[1]
            index.dates[rec.id] = date
        index.by_id, index.by_slug, index.by_key = (
            dict(grouped["id"]),
            dict(grouped["slug"]),
            dict(grouped["key"]),
        )
        return index

    def is_open_weights(self, model_id: str) -> bool | None:
        """True/False from the raw record; None when it could not be read."""
        return self.open_weights.get(model_id)

    def lookup(self, native_id: str, vendors: tuple[str, ...]) -> Match:
        """The OpenRouter record for ``native_id`` (see the module docstring)."""
        allowed = _vendor_filter(native_id, vendors)
        key, date = split_date(native_id)
        steps: tuple[tuple[How, list[ModelRecord]], ...] = (
            ("exact", self.by_id.get(_bare(native_id), [])),
            ("canonical", self.by_slug.get(_bare(native_id), [])),
            ("date", self.by_key.get(key, [])),
        )
        for how, found in steps:
            candidates = [c for c in found if allowed(c)]
            if how == "date":
                # Two different dates are two different snapshots.
                candidates = [
                    c for c in candidates if date is None or self.dates[c.id] in (None, date)
                ]
                same_day = [c for c in candidates if date is not None and self.dates[c.id] == date]
                candidates = same_day or candidates
            if len(candidates) == 1:
                return Match(candidates[0], how)
            if candidates:
                return Match(ambiguous=tuple(c.id for c in candidates))
        return Match()

    def match(self, native_id: str, vendors: tuple[str, ...]) -> ModelRecord | None:
        """The OpenRouter record for ``native_id``, or None (no match, or ambiguous)."""
        return self.lookup(native_id, vendors).record


def _vendor_filter(native_id: str, vendors: tuple[str, ...]) -> Callable[[ModelRecord], bool]:
    if vendors:
        return lambda c: c.family in vendors
    if "/" in native_id:
        # Hosts name models by Hugging Face org; it must be the same vendor, or a
        # fine-tune (`pearl-ai/gemma-4-31b-it`) would take the base model's facts.
        org = native_id.split("/", 1)[0].lower()
        vendor = HF_ORG_TO_VENDOR.get(org, org)
        return lambda c: c.family == vendor
    return lambda c: True


def owner_offer(match: ModelRecord, vendors: tuple[str, ...], open_weights: bool | None) -> bool:
    """Whether the OpenRouter *model* record's prices and limits are this provider's own.

    OpenRouter prices a model at the cheapest of the hosts serving it, and its output cap is
    the top host's. That is the provider's own offer only when the provider is the model's
    vendor (``vendors``) and nobody else can serve the model: closed weights. For open-weight
    models (a Hugging Face id upstream) the figure may be any host's: DashScope's qwen3-32b
    is $0.70/$2.80 while OpenRouter lists $0.08/$0.28. ``open_weights`` None means the raw
    record could not be read, and then nothing is copied.

    This is the one place deciding it; per-provider offers (OpenRouter's endpoint data for
    this very provider) plug in beside it, before ``fill_from_openrouter`` runs.
    """
    return match.family in vendors and open_weights is False


def fill_from_openrouter(
    native: NativeModel,
    normalized: Normalized,
    match: ModelRecord | None,
    *,
    owner: bool = False,
) -> dict[str, str]:
    """Complete ``normalized`` from ``match`` where the native API is silent; return the
    provenance of each enrichable field (``native``, ``openrouter:<id>`` or ``unknown``).

    ``owner``: the match describes this provider's own offer (``owner_offer``), so its
    prices and limits may be copied; otherwise they stay absent (``unknown``).
    """
    origin = f"openrouter:{match.id}" if match is not None else None
    provenance: dict[str, str] = {}

    def pick(name: str, native_known: bool, allowed: bool = True) -> bool:
        """True when the field should be taken from the OpenRouter match."""
        if native_known:
            provenance[name] = native.notes.get(name, "native")
            return False
        if origin is None or not allowed:
            provenance[name] = UNKNOWN
            return False
        provenance[name] = origin
        return True

    # Modalities an adapter guessed from the id are no native fact: the match's statement wins.
    guessed = "modalities" in native.notes and match is not None
    if pick("maxContext", native.max_context is not None, owner) and match:
        normalized.max_context = match.max_context
    if pick("maxOutput", native.max_output is not None, owner) and match:
        normalized.max_output = match.max_output
    if pick("pricing", native.pricing is not None, owner) and match:
        normalized.pricing = match.pricing.model_copy(deep=True)
        normalized.cites["pricing"] = f"{origin} pricing"
        normalized.rules.pop("pricing", None)
    if pick("modalities", native.input_modalities is not None and not guessed) and match:
        # Inputs from the match; outputs the native list stated (Together's type) are kept.
        stated_outputs = None if guessed else native.output_modalities
        normalized.modalities = match.modalities.model_copy(deep=True)
        normalized.cites.update(
            _cited(match, origin, inputs="supportsVision", outputs="isImageGen")
        )
        if stated_outputs is not None:
            normalized.modalities.output = list(stated_outputs)
            provenance["modalities"] = f"input {provenance['modalities']}, output native"
            normalized.cites.pop("outputs", None)
            if "outputs" in native.cites:
                normalized.cites["outputs"] = native.cites["outputs"]
        for fact in ("inputs", "outputs"):
            if fact in normalized.cites:
                normalized.rules.pop(fact, None)
        normalized.modalities_given = bool(match.modalities.input or match.modalities.output)
        normalized.inputs_given = bool(match.modalities.input)
    elif provenance["modalities"] == UNKNOWN and native.output_modalities is not None:
        # Together's `type: video` says what comes out, nothing about what goes in.
        provenance["modalities"] = "input unknown, output native"
    if pick("supportedParameters", native.supported_parameters is not None) and match:
        normalized.supported_parameters = list(match.supported_parameters)
        normalized.cites.update(
            _cited(
                match,
                origin,
                tools="supportsTools",
                structured="structuredOutput",
                reasoning="reasoning",
            )
        )
    if match is None:
        return provenance
    if normalized.knowledge_cutoff is None:
        normalized.knowledge_cutoff = match.knowledge_cutoff
    normalized.sources.append(SourceRef(source="openrouter", native_id=match.id))
    return provenance


def _cited(match: ModelRecord, origin: str | None, **facts: str) -> dict[str, str]:
    """Fact → ``openrouter:<id> <path>`` for the facts taken from ``match``: the raw field its
    own flag (``facts[fact]``) cites, where the API decided that flag there. A flag OpenRouter
    decided by a heuristic or an override gives the fact no citation."""
    out: dict[str, str] = {}
    for fact, flag in facts.items():
        if match.detection_source.get(flag) != "api":
            continue
        path = match.evidence.get(flag, "").split(" ", 1)[0].rstrip(":,")
        # A catalog published before evidence cited fields ("input modalities [...]") names
        # no path: the field OpenRouter's current feed states the fact in.
        out[fact] = f"{origin} {path if path in OPENROUTER_FIELDS else OPENROUTER_FIELDS[fact]}"
    return out


OPENROUTER_FIELDS = {
    "inputs": "architecture.input_modalities",
    "outputs": "architecture.output_modalities",
    "tools": "supported_parameters",
    "structured": "supported_parameters",
    "reasoning": "supported_parameters",
    "architecture.input_modalities": "",
    "architecture.output_modalities": "",
    "architecture.modality": "",
    "supported_parameters": "",
}
"""OpenRouter's fields a provider list's enriched flag may cite: per fact the current feed's
field, and every field such a citation may name."""


def _independent_lists(store: Store) -> set[str]:
    """Keys of the lists only independent catalogs make (per ``models/providers/index.json``),
    which need not be parsed to link the catalog to the providers' own lists."""
    try:
        blob = store.get(f"{PROVIDERS_PREFIX}index.json")
        index = json.loads(blob.data) if blob is not None else {}
    except (StoreError, ValueError):
        return set()
    providers = index.get("providers") if isinstance(index, dict) else None
    return {
        str(p.get("key"))
        for p in providers or ()
        if isinstance(p, dict) and p.get("sourceType") == "independent"
    }


def published_provider_lists(store: Store, *, own_only: bool = False) -> list[ProviderCatalog]:
    """Every readable ``models/providers/<provider>/current.json`` (``own_only``: only those of
    providers with a source of their own, not those the independent catalogs alone make);
    unreadable ones are logged and skipped (they must never break the OpenRouter sync)."""
    out: list[ProviderCatalog] = []
    try:
        keys = [k for k in store.list(PROVIDERS_PREFIX) if k.endswith("/current.json")]
    except StoreError as exc:
        log.warning("cannot list provider lists", extra={"error": str(exc)})
        return out
    if own_only:
        skipped = _independent_lists(store)
        keys = [k for k in keys if k not in skipped]
    for key in keys:
        try:
            blob = store.get(key)
            if blob is None:
                continue
            out.append(ProviderCatalog.model_validate_json(blob.data))
        except (StoreError, ValidationError) as exc:
            log.warning("skipping unreadable provider list", extra={"key": key, "error": str(exc)})
    return out


def vendor_replacements(store: Store) -> dict[str, str]:
    """OpenRouter id → the OpenRouter id of the model its provider names as its replacement
    (``lifecycle.replacement`` in a provider list served by the provider's API), where both
    models of the list are linked to OpenRouter records."""
    out: dict[str, str] = {}
    for provider_list in published_provider_lists(store):
        if provider_list.served_by == "catalog":
            continue
        linked = {
            rec.id: [s.native_id for s in rec.sources if s.source == "openrouter"]
            for rec in provider_list.models
        }
        for rec in provider_list.models:
            target = rec.lifecycle.replacement
            if target is None or not linked.get(target):
                continue
            for origin in linked[rec.id]:
                out.setdefault(origin, linked[target][0])
    return out


def link_direct_sources(store: Store, models: list[Normalized]) -> dict[str, int]:
    """Add ``SourceRef(provider, native id)`` to each OpenRouter record a provider list matched.

    Only lists served by the provider's API (or a stale copy of it) count: a list built from
    the OpenRouter catalog itself is no evidence that the provider serves the model, and
    neither is a model only the independent catalogs list for the provider (issue 30): only
    records the provider's own list carries link back. Returns the number of links per source.
    """
    links: dict[str, list[SourceRef]] = defaultdict(list)
    counts: dict[str, int] = {}
    for provider_list in published_provider_lists(store, own_only=True):
        if provider_list.served_by == "catalog" or provider_list.source_type == "independent":
            continue
        counts[provider_list.source] = 0
        for rec in provider_list.models:
            if not any(ref.source == provider_list.source for ref in rec.sources):
                continue
            for ref in rec.sources:
                if ref.source == "openrouter":
                    links[ref.native_id].append(
                        SourceRef(source=provider_list.source, native_id=rec.id)
                    )
                    counts[provider_list.source] += 1
    for model in models:
        extra = links.get(model.id)
        if extra:
            known = {(s.source, s.native_id) for s in model.sources}
            for ref in sorted(extra, key=lambda r: (r.source, r.native_id)):
                if (ref.source, ref.native_id) not in known:
                    model.sources.append(ref)
    return counts
