"""A provider-native list enriched from that same provider's OpenRouter offer.

A host's own model list (Groq, Together, Cerebras, DeepInfra, ...) often lacks prices and
limits. OpenRouter's offers say what *this* host charges and allows, so where the native API
is silent the record takes them from the offer whose provider is the source itself, with
provenance ``openrouter-endpoint:<tag>``. Never another host's: the model-level OpenRouter
price is some other provider's (often the cheapest), which is why ``stages.enrich`` no longer
hands it to hosts.

Matching is by name: the source's instance name and type, and the offer's provider name and
the first part of its tag (``deepinfra/fp8`` → ``deepinfra``), compared lower-case with
everything but letters and digits removed. ``OFFER_NAMES`` lists the few sources OpenRouter
names otherwise. When one provider has several offers for a model (quantizations), the first
in the published order is used, so the result is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping

from pipeline.records.model import ModelRecord, Offer, Pricing
from pipeline.stages.normalize import Normalized

# Source type → OpenRouter's own name for that provider, where it differs.
OFFER_NAMES: dict[str, tuple[str, ...]] = {
    "gemini": ("googleaistudio",),
    "dashscope": ("alibaba",),
    "moonshot": ("moonshotai",),
}
# Generic source types whose type name says nothing about who serves the model.
GENERIC_TYPES = frozenset({"openai-compatible", "ollama", "lmstudio"})
PROVENANCE = "openrouter-endpoint"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def source_names(source: str, type_name: str) -> set[str]:
    """The names an offer of this source's provider may carry (normalised)."""
    names = {_norm(source)}
    if type_name not in GENERIC_TYPES:
        names.add(_norm(type_name))
        names.update(OFFER_NAMES.get(type_name, ()))
    names.update(OFFER_NAMES.get(source, ()))
    names.discard("")
    return names


def offer_for(source: str, type_name: str, offers: Iterable[Offer] | None) -> Offer | None:
    """This source's own offer among ``offers`` (first in published order), or None."""
    wanted = source_names(source, type_name)
    for offer in offers or ():
        tag_head = (offer.tag or "").split("/", 1)[0]
        if _norm(offer.provider) in wanted or (tag_head and _norm(tag_head) in wanted):
            return offer
    return None


def _native(provenance: MutableMapping[str, str], name: str) -> bool:
    """True when the native API (or a note standing for it) gave the field."""
    origin = provenance.get(name)
    return origin is not None and origin != "unknown" and not origin.startswith("openrouter")


def fill_from_offer(
    source: str,
    type_name: str,
    model: Normalized,
    match: ModelRecord | None,
    provenance: MutableMapping[str, str],
) -> Offer | None:
    """Fill ``model``'s price, context window and output cap from the source's own offer on
    ``match`` where the native API did not give them; update ``provenance``. Returns the
    offer used, or None."""
    offer = offer_for(source, type_name, match.offers if match is not None else None)
    if offer is None:
        return None
    origin = f"{PROVENANCE}:{offer.tag or _norm(offer.provider)}"
    priced = any(v is not None for k, v in offer.pricing if k != "other") or offer.pricing.other
    if priced and not _native(provenance, "pricing"):
        model.pricing = Pricing.model_validate(offer.pricing.model_dump())
        provenance["pricing"] = origin
    if offer.max_context is not None and not _native(provenance, "maxContext"):
        model.max_context = offer.max_context
        provenance["maxContext"] = origin
    if offer.max_output is not None and not _native(provenance, "maxOutput"):
        model.max_output = offer.max_output
        provenance["maxOutput"] = origin
    return offer
