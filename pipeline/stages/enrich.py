"""Enrichment both ways between provider-native lists and the OpenRouter catalog.

Native → OpenRouter id matching (``match``): vendor prefix dropped, ``:variant`` dropped,
lower-cased, dots and underscores as dashes, date suffixes stripped (``-20250929``,
``-2024-08-06``, ``-03-2025``, ``-0613``). So ``claude-sonnet-4-5-20250929`` meets
``anthropic/claude-sonnet-4.5`` and ``gemini-2.5-flash`` meets ``google/gemini-2.5-flash``.
Direct vendors only match records under their own vendor prefixes; hosts (Groq, Together, ...)
match records of the vendor their id names (``deepseek-ai/…`` → ``deepseek/…``), or, for ids
without a vendor, any record when the key is unambiguous.

- ``fill_from_openrouter``: native records take context window, output cap, prices, modalities
  and supported parameters from the match when the native API does not give them; native facts
  win (Anthropic's ``max_input_tokens``, Gemini's token limits), with provenance.
- ``link_direct_sources``: the hook ``sync.py`` calls so that OpenRouter records list, under
  ``sources``, the direct providers serving them with their native ids (read from the
  providers' published ``current.json``).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from pipeline.payloads import NativeModel
from pipeline.publishing.store import Store, StoreError
from pipeline.records import ModelRecord, ProviderCatalog, SourceRef
from pipeline.stages.normalize import Normalized

log = logging.getLogger("pipeline.stages.enrich")

PROVIDERS_PREFIX = "models/providers/"
# Hugging Face org (as hosts such as Together and Groq write it) → OpenRouter vendor prefix,
# where the two differ.
HF_ORG_TO_VENDOR = {
    "deepseek-ai": "deepseek",
    "zai-org": "z-ai",
    "minimaxai": "minimax",
    "xiaomimimo": "xiaomi",
    "mistral": "mistralai",
}
DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|\d{2}-\d{4}|\d{4})$")


def match_key(model_id: str) -> str:
    """The comparable core of an id (see the module docstring)."""
    bare = model_id.split("/", 1)[-1].split(":", 1)[0].lower()
    bare = bare.replace(".", "-").replace("_", "-")
    while True:
        shorter = DATE_SUFFIX.sub("", bare)
        if shorter == bare or not shorter:
            return bare
        bare = shorter


@dataclass
class OpenRouterIndex:
    """OpenRouter records by match key (base ids only: ``:free`` and other variants excluded)."""

    by_key: dict[str, list[ModelRecord]] = field(default_factory=dict)

    @classmethod
    def build(cls, records: Iterable[ModelRecord]) -> OpenRouterIndex:
        grouped: dict[str, list[ModelRecord]] = defaultdict(list)
        for rec in records:
            if ":" in rec.id or rec.id.startswith("~"):
                continue
            grouped[match_key(rec.id)].append(rec)
        return cls({k: sorted(v, key=lambda r: r.id) for k, v in grouped.items()})

    def match(self, native_id: str, vendors: tuple[str, ...]) -> ModelRecord | None:
        """The OpenRouter record for ``native_id``, or None (no match, or ambiguous)."""
        candidates = self.by_key.get(match_key(native_id), [])
        if vendors:
            candidates = [c for c in candidates if c.family in vendors]
        elif "/" in native_id:
            # Hosts name models by Hugging Face org; it must be the same vendor, or a
            # fine-tune (`pearl-ai/gemma-4-31b-it`) would take the base model's facts.
            org = native_id.split("/", 1)[0].lower()
            vendor = HF_ORG_TO_VENDOR.get(org, org)
            candidates = [c for c in candidates if c.family == vendor]
        if len(candidates) == 1:
            return candidates[0]
        exact = [c for c in candidates if c.id.split("/", 1)[-1] == native_id.lower()]
        return exact[0] if len(exact) == 1 else None


def fill_from_openrouter(
    native: NativeModel, normalized: Normalized, match: ModelRecord | None
) -> dict[str, str]:
    """Complete ``normalized`` from ``match`` where the native API is silent; return the
    provenance of each enrichable field."""
    origin = f"openrouter:{match.id}" if match is not None else None
    provenance: dict[str, str] = {}

    def pick(name: str, native_known: bool) -> bool:
        """True when the field should be taken from the OpenRouter match."""
        if native_known:
            provenance[name] = native.notes.get(name, "native")
            return False
        if origin is None:
            return False
        provenance[name] = origin
        return True

    if match is None:
        pick("maxContext", native.max_context is not None)
        pick("maxOutput", native.max_output is not None)
        pick("pricing", native.pricing is not None)
        pick("modalities", native.input_modalities is not None)
        pick("supportedParameters", native.supported_parameters is not None)
        return provenance
    if pick("maxContext", native.max_context is not None):
        normalized.max_context = match.max_context
    if pick("maxOutput", native.max_output is not None):
        normalized.max_output = match.max_output
    if pick("pricing", native.pricing is not None):
        normalized.pricing = match.pricing.model_copy(deep=True)
    if pick("modalities", native.input_modalities is not None):
        normalized.modalities = match.modalities.model_copy(deep=True)
    if pick("supportedParameters", native.supported_parameters is not None):
        normalized.supported_parameters = list(match.supported_parameters)
    if normalized.knowledge_cutoff is None:
        normalized.knowledge_cutoff = match.knowledge_cutoff
    normalized.sources.append(SourceRef(source="openrouter", native_id=match.id))
    return provenance


def published_provider_lists(store: Store) -> list[ProviderCatalog]:
    """Every readable ``models/providers/<source>/current.json``; unreadable ones are logged
    and skipped (they must never break the OpenRouter sync)."""
    out: list[ProviderCatalog] = []
    try:
        keys = [k for k in store.list(PROVIDERS_PREFIX) if k.endswith("/current.json")]
    except StoreError as exc:
        log.warning("cannot list provider lists", extra={"error": str(exc)})
        return out
    for key in keys:
        try:
            blob = store.get(key)
            if blob is None:
                continue
            out.append(ProviderCatalog.model_validate_json(blob.data))
        except (StoreError, ValidationError) as exc:
            log.warning("skipping unreadable provider list", extra={"key": key, "error": str(exc)})
    return out


def link_direct_sources(store: Store, models: list[Normalized]) -> dict[str, int]:
    """Add ``SourceRef(provider, native id)`` to each OpenRouter record a provider list matched.

    Only lists served by the provider's API (or a stale copy of it) count: a list built from
    the OpenRouter catalog itself is no evidence that the provider serves the model.
    Returns the number of links per source.
    """
    links: dict[str, list[SourceRef]] = defaultdict(list)
    counts: dict[str, int] = {}
    for provider_list in published_provider_lists(store):
        if provider_list.served_by == "catalog":
            continue
        counts[provider_list.source] = 0
        for rec in provider_list.models:
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
