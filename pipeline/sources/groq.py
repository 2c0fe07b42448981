"""Groq's ``GET /openai/v1/models``: OpenAI-shaped with context windows, later prices.

Quirks owned here:

- The base URL ends in ``/openai/v1``; the key is a Bearer token.
- ``context_window`` (and from 2026 ``context_length``) give the window; ``max_completion_tokens``
  the output cap.
- 2026 payloads add modalities and OpenRouter-style ``pricing`` (USD per token as decimal
  strings) with zero-valued keys for components that are not billed; a zero there is "not
  billed", so only prompt/completion/cache prices are taken.
"""

from __future__ import annotations

from typing import Any

from pipeline.records.payloads import NativeModel
from pipeline.sources.native import Adapter, epoch_of, positive_int, record, single_page_items, text
from pipeline.sources.openai import fetch
from pipeline.stages.normalize import normalize_pricing

TOKEN_PRICE_KEYS = ("prompt", "completion", "input_cache_read", "input_cache_write")


def translate(item: Any) -> NativeModel:
    entry = record(item, "groq")
    model_id = text(entry, "id")
    if model_id is None:
        raise ValueError("id is missing or empty")
    model = NativeModel(
        id=model_id,
        name=text(entry, "name"),
        created=epoch_of(entry.get("created")),
        max_context=positive_int(entry.get("context_window"))
        or positive_int(entry.get("context_length")),
        max_output=positive_int(entry.get("max_completion_tokens")),
    )
    inputs, outputs = entry.get("input_modalities"), entry.get("output_modalities")
    if isinstance(inputs, list) and isinstance(outputs, list):
        model.input_modalities = [str(m) for m in inputs]
        model.output_modalities = [str(m) for m in outputs]
        model.cites.update(inputs="input_modalities", outputs="output_modalities")
    prices = entry.get("pricing")
    if isinstance(prices, dict):
        kept = {k: v for k, v in prices.items() if k in TOKEN_PRICE_KEYS and v is not None}
        if kept:
            model.pricing = normalize_pricing(kept)
            model.cites["pricing"] = "pricing"
    return model


ADAPTER = Adapter(fetch=fetch, parse=single_page_items, translate=translate)
