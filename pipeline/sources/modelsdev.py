"""models.dev's ``api.json`` (MIT): every provider it lists and each provider's models.

Shape: ``{"<provider>": {"id", "name", "api", "doc", "env", "npm", "models": {"<model>": {...}}}}``.
A model states ``cost`` (USD per 1M tokens: ``input``, ``output``, ``cache_read``,
``cache_write``, ``reasoning``, ``input_audio``, ``output_audio``, long-context ``tiers``),
``limit`` (``context``, ``output``), ``modalities``, ``tool_call``, ``reasoning``,
``structured_output``, ``open_weights``, ``knowledge``, ``release_date``, ``last_updated`` and
``status`` (``alpha``, ``beta``, ``deprecated``).

Quirks owned here:

- ``cost.context_over_200k`` is the older spelling of a ``tiers`` entry at 200k tokens; it is
  read only when ``tiers`` is absent, so the same rule is never published twice.
- ``pdf`` is an input modality in models.dev and a ``file`` input here.
- ``experimental`` (per-mode prices such as a faster priority tier) is not a price of the model
  as listed, and is left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.records.independent import CatalogEntry
from pipeline.records.model import PriceTierRule, Pricing
from pipeline.records.payloads import PayloadError
from pipeline.sources.independent import (
    CatalogAdapter,
    UpstreamItem,
    count,
    day,
    fetch_file,
    flag,
    load_document,
    modalities,
    price,
    text,
)

SOURCE = "modelsdev"
DEFAULT_URL = "https://models.dev/api.json"

# cost key → Pricing attribute.
PRICES = {
    "input": "input",
    "output": "output",
    "cache_read": "cache_read",
    "cache_write": "cache_write",
    "reasoning": "reasoning",
    "input_audio": "audio_input",
    "output_audio": "audio_output",
}
FIELD_KEYS = {
    "name": "name",
    "input": "cost.input",
    "output": "cost.output",
    "cacheRead": "cost.cache_read",
    "cacheWrite": "cost.cache_write",
    "maxContext": "limit.context",
    "maxOutput": "limit.output",
    "modalities": "modalities",
    "supportsVision": "modalities.input",
    "supportsTools": "tool_call",
    "reasoning": "reasoning",
    "structuredOutput": "structured_output",
    "weights": "open_weights",
    "knowledgeCutoff": "knowledge",
    "created": "release_date",
    "lastUpdated": "last_updated",
    "releaseStage": "status",
    "kind": "modalities.output",
}


def _providers(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise PayloadError(f"{SOURCE}: expected a JSON object of providers")
    providers = {k: v for k, v in document.items() if isinstance(v, dict)}
    if not any(isinstance(v.get("models"), dict) for v in providers.values()):
        raise PayloadError(f"{SOURCE}: no provider has a `models` object; is this api.json?")
    return providers


def parse(body: bytes) -> list[UpstreamItem]:
    items = []
    for upstream, provider in _providers(load_document(body, SOURCE)).items():
        models = provider.get("models")
        if not isinstance(models, dict):
            continue
        for model_id, entry in models.items():
            items.append(UpstreamItem(str(upstream), f"{upstream}/{model_id}", entry))
    return items


def provider_names(body: bytes) -> dict[str, str]:
    providers = _providers(load_document(body, SOURCE))
    return {k: v["name"] for k, v in providers.items() if isinstance(v.get("name"), str)}


def _rule(values: dict[str, Any], min_tokens: int) -> PriceTierRule | None:
    rule = PriceTierRule(min_prompt_tokens=min_tokens)
    for key, attr in PRICES.items():
        setattr(rule, attr, price(values.get(key)))
    return rule if any(getattr(rule, a) is not None for a in PRICES.values()) else None


def _pricing(cost: Any) -> Pricing | None:
    if not isinstance(cost, dict):
        return None
    pricing = Pricing()
    for key, attr in PRICES.items():
        setattr(pricing, attr, price(cost.get(key)))
    tiers = cost.get("tiers")
    if isinstance(tiers, list):
        for tier in tiers:
            spec = tier.get("tier") if isinstance(tier, dict) else None
            if not isinstance(spec, dict) or spec.get("type") != "context":
                continue  # only context-size tiers are known; others are not guessed at
            size = count(spec.get("size"))
            if size is None:
                continue
            rule = _rule(tier, size)
            if rule is not None:
                pricing.tiers.append(rule)
    elif isinstance(cost.get("context_over_200k"), dict):
        rule = _rule(cost["context_over_200k"], 200_000)
        if rule is not None:
            pricing.tiers.append(rule)
    pricing.tiers.sort(key=lambda r: r.min_prompt_tokens or 0)
    if pricing.input is None and pricing.output is None and not pricing.tiers:
        return None
    return pricing


def _section(entry: dict[str, Any], key: str) -> dict[str, Any]:
    value = entry.get(key)
    return value if isinstance(value, dict) else {}


def translate(item: UpstreamItem, provider: str, now: datetime) -> CatalogEntry:
    entry = item.entry
    if not isinstance(entry, dict):
        raise ValueError(f"{item.key}: entry is {type(entry).__name__}, not an object")
    model_id = text(entry, "id") or item.key.split("/", 1)[1]
    if any(ch.isspace() for ch in model_id):
        raise ValueError(f"{item.key}: id contains whitespace")
    limit = _section(entry, "limit")
    mods = _section(entry, "modalities")
    stated = modalities(mods.get("input"), mods.get("output"))
    weights = flag(entry, "open_weights")
    status = entry.get("status")
    options = entry.get("reasoning_options")
    return CatalogEntry(
        provider=provider,
        upstream=item.upstream,
        id=model_id,
        key=item.key,
        name=text(entry, "name"),
        pricing=_pricing(entry.get("cost")),
        max_context=count(limit.get("context")),
        max_output=count(limit.get("output")),
        modalities=stated,
        supports_vision=("image" in stated.input) if stated and stated.input else None,
        supports_tools=flag(entry, "tool_call"),
        reasoning=flag(entry, "reasoning"),
        reasoning_controls=bool(options) if flag(entry, "reasoning") else None,
        structured_output=flag(entry, "structured_output"),
        weights=None if weights is None else ("open" if weights else "closed"),
        knowledge_cutoff=day(entry.get("knowledge")),
        release_date=day(entry.get("release_date")),
        last_updated=day(entry.get("last_updated")),
        status=status if status in ("alpha", "beta", "deprecated") else None,
    )


ADAPTER = CatalogAdapter(
    fetch=fetch_file,
    parse=parse,
    translate=translate,
    provider_names=provider_names,
    field_keys=FIELD_KEYS,
)
