"""LiteLLM's ``model_prices_and_context_window.json`` (MIT): prices, limits and ``supports_*``
flags per model, keyed by model name, each entry naming its ``litellm_provider``.

Quirks owned here:

- Prices are USD **per token** (``input_cost_per_token: 2.5e-06``); they are scaled to per 1M
  exactly, through the number's decimal text.
- Keys carry the provider as a prefix for most providers (``gemini/gemini-2.5-pro``,
  ``vertex_ai/claude-…`` under ``vertex_ai-anthropic_models``) but not for OpenAI's
  (``gpt-4o``); the prefix is dropped when it is the provider's name or the part of it before
  a ``-``.
- ``sample_spec`` documents the format and ``last_updated`` is a string: neither is a model.
- ``mode: search`` entries are web-search APIs (Tavily, Exa, …) priced per query, not models;
  ``fireworks-ai-56b-to-176b`` and ``together-ai-21.1b-41b`` are size-bucket default prices,
  not models. All are left out.
- Long-context prices are separate keys (``input_cost_per_token_above_200k_tokens``): each
  threshold becomes a ``tiers`` rule.
- A model not billed per token states a unit price instead (``output_cost_per_image``,
  ``input_cost_per_second``, ``input_cost_per_character``): it is published as ``perUnit`` with
  its unit.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pipeline.records.base import Kind
from pipeline.records.independent import CatalogEntry
from pipeline.records.model import PriceTierRule, Pricing
from pipeline.records.payloads import PayloadError
from pipeline.sources.independent import (
    MILLION,
    CatalogAdapter,
    UpstreamItem,
    count,
    day,
    fetch_file,
    flag,
    load_document,
    modalities,
    price,
)
from pipeline.sources.native import iso_date

SOURCE = "litellm"
DEFAULT_URL = (
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
)

# per-token key → Pricing attribute.
TOKEN_PRICES = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_reasoning_token": "reasoning",
    "input_cost_per_audio_token": "audio_input",
    "output_cost_per_audio_token": "audio_output",
}
# Long-context keys: `<base key>_above_<N>k_tokens`.
ABOVE = re.compile(r"^(?P<base>[a-z_]+?)_above_(?P<k>\d+)k_tokens$")
# unit-price key → unit, for models not billed per token (first found wins).
UNIT_PRICES = (
    ("output_cost_per_image", "image"),
    ("input_cost_per_pixel", "pixel"),
    ("input_cost_per_query", "query"),
    ("input_cost_per_second", "second"),
    ("output_cost_per_second", "second"),
    ("input_cost_per_character", "character"),
    ("output_cost_per_character", "character"),
)
MODES: dict[str, Kind | None] = {
    "chat": "chat",
    "completion": "chat",
    "responses": "chat",
    "realtime": "chat",
    "embedding": "embedding",
    "image_generation": "image",
    "image_edit": "image",
    "video_generation": "video",
    "audio_transcription": "transcription",
    "audio_speech": "speech",
    "rerank": "rerank",
    "moderation": None,
    "ocr": None,
}
NOT_MODELS = frozenset({"search", "vector_store"})
SIZE_BUCKET = re.compile(r"^(fireworks-ai|together-ai)-[\d.]+b?-")
FIELD_KEYS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cacheRead": "cache_read_input_token_cost",
    "cacheWrite": "cache_creation_input_token_cost",
    "maxContext": "max_input_tokens",
    "maxOutput": "max_output_tokens",
    "modalities": "supported_modalities",
    "supportsVision": "supports_vision",
    "supportsTools": "supports_function_calling",
    "reasoning": "supports_reasoning",
    "structuredOutput": "supports_response_schema",
    "kind": "mode",
    "expiresAt": "deprecation_date",
}


def _document(body: bytes) -> dict[str, Any]:
    document = load_document(body, SOURCE)
    if not isinstance(document, dict):
        raise PayloadError(f"{SOURCE}: expected a JSON object keyed by model name")
    if not any(isinstance(v, dict) and "litellm_provider" in v for v in document.values()):
        raise PayloadError(
            f"{SOURCE}: no entry names a `litellm_provider`; is this the price file?"
        )
    return document


def model_id(key: str, upstream: str) -> str:
    """The model id under its provider: the key without a provider prefix."""
    if "/" in key:
        head, rest = key.split("/", 1)
        if head == upstream or upstream.startswith(f"{head}-"):
            return rest
    return key


def parse(body: bytes) -> list[UpstreamItem]:
    items = []
    for key, entry in _document(body).items():
        if key == "sample_spec" or not isinstance(entry, dict):
            continue
        upstream = entry.get("litellm_provider")
        if not isinstance(upstream, str) or entry.get("mode") in NOT_MODELS:
            continue
        if SIZE_BUCKET.match(key):
            continue
        items.append(UpstreamItem(upstream, key, entry))
    return items


def provider_names(body: bytes) -> dict[str, str]:
    return {}  # the file names no provider beyond its key


def _pricing(entry: dict[str, Any]) -> Pricing | None:
    pricing = Pricing()
    for key, attr in TOKEN_PRICES.items():
        setattr(pricing, attr, price(entry.get(key), MILLION))
    rules: dict[int, PriceTierRule] = {}
    for key, value in entry.items():
        found = ABOVE.match(key)
        if found is None or found.group("base") not in TOKEN_PRICES:
            continue
        amount = price(value, MILLION)
        if amount is None:
            continue
        tokens = int(found.group("k")) * 1000
        rule = rules.setdefault(tokens, PriceTierRule(min_prompt_tokens=tokens))
        setattr(rule, TOKEN_PRICES[found.group("base")], amount)
    pricing.tiers = [rules[k] for k in sorted(rules)]
    per_image = price(entry.get("input_cost_per_image"))
    if per_image is not None:
        pricing.per_image = per_image
    if _zero_tokens(pricing) and any((price(entry.get(k)) or 0) > 0 for k, _ in UNIT_PRICES):
        # A model billed per image, pixel, query, second or character lists token prices of 0
        # (`azure/hd/1024-x-1024/dall-e-3`, rerankers): not free, and not priced per token.
        for attr in TOKEN_PRICES.values():
            setattr(pricing, attr, None)
        pricing.tiers = []
    if pricing.input is None and pricing.output is None:
        for key, unit in UNIT_PRICES:
            amount = price(entry.get(key))
            if amount is not None:
                pricing.per_unit, pricing.unit = amount, unit
                break
    if (
        pricing.input is None
        and pricing.output is None
        and pricing.per_unit is None
        and pricing.per_image is None
    ):
        return None
    return pricing


def _zero_tokens(pricing: Pricing) -> bool:
    """Some token price is stated and none is above 0."""
    stated = [v for v in (pricing.input, pricing.output) if v is not None]
    return bool(stated) and not any(stated)


def translate(item: UpstreamItem, provider: str, now: datetime) -> CatalogEntry:
    entry = item.entry
    name = model_id(item.key, item.upstream)
    if not name or any(ch.isspace() for ch in name):
        raise ValueError(f"{item.key}: not a usable model id")
    mode = entry.get("mode")
    efforts = [k for k in entry if k.startswith("supports_") and k.endswith("_reasoning_effort")]
    reasons = flag(entry, "supports_reasoning")
    pricing = _pricing(entry)
    unit_key = None
    if pricing is not None and pricing.per_unit is not None:
        unit_key = next(
            (
                k
                for k, unit in UNIT_PRICES
                if unit == pricing.unit and price(entry.get(k)) is not None
            ),
            None,
        )
    elif pricing is not None and pricing.per_image is not None:
        unit_key = "input_cost_per_image"
    return CatalogEntry(
        provider=provider,
        upstream=item.upstream,
        id=name,
        key=item.key,
        kind=MODES.get(mode) if isinstance(mode, str) else None,
        pricing=pricing,
        unit_key=unit_key,
        max_context=count(entry.get("max_input_tokens")),
        max_output=count(entry.get("max_output_tokens")),
        modalities=modalities(
            entry.get("supported_modalities"), entry.get("supported_output_modalities")
        ),
        supports_vision=flag(entry, "supports_vision"),
        supports_tools=flag(entry, "supports_function_calling"),
        reasoning=reasons,
        reasoning_controls=any(entry[k] is True for k in efforts) if reasons else None,
        structured_output=flag(entry, "supports_response_schema"),
        deprecation_date=iso_date(day(entry.get("deprecation_date"))),
    )


ADAPTER = CatalogAdapter(
    fetch=fetch_file,
    parse=parse,
    translate=translate,
    provider_names=provider_names,
    field_keys=FIELD_KEYS,
)
