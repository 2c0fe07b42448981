"""Together AI's ``GET /v1/models``: a bare list with numeric prices per 1M tokens.

Quirks owned here:

- The body is a bare JSON array, not ``{"data": [...]}``.
- ``pricing.input`` / ``output`` / ``cached_input`` are already USD per 1M tokens, as JSON
  numbers. Models billed per image, per second of video or per hour report 0 for the token
  prices: that 0 means "not priced per token" and is dropped, except for Together's free
  endpoints (ids ending in ``-Free``), where 0 is the real price.
- ``type`` says what the model is (chat, language, code, image, video, audio, transcribe,
  embedding, rerank, moderation): the output side, and the input side only for non-chat types
  (a ``chat`` model may well take images); ``context_length`` is missing for a quarter of the
  list.
- Prices can carry binary-float noise (``1.0399999999999998``): cleaned (see
  ``normalize.clean_noise``); the raw snapshot keeps the original.
"""

from __future__ import annotations

from typing import Any

from pipeline.publishing.jsonio import to_decimal_number
from pipeline.records.model import Pricing
from pipeline.records.payloads import NativeModel
from pipeline.sources.native import (
    Adapter,
    epoch_of,
    per_million,
    positive_int,
    record,
    single_page_items,
    text,
)
from pipeline.sources.openai import fetch
from pipeline.stages.normalize import clean_noise

# type → (input, output) modalities. For chat, language, code and moderation models the type
# says what comes out (text) but nothing about what goes in: gemma-4-31B-it and Kimi-K2.6 are
# `chat` and take images. Their inputs stay unknown (None) for enrichment and heuristics. The
# same for image and video generators: `video` covers text-to-video (Wan-AI/wan2.7-t2v, no
# image in) as well as image-to-video (…-i2v), so `type` says nothing about image input.
MODALITIES_BY_TYPE: dict[str, tuple[list[str] | None, list[str]]] = {
    "chat": (None, ["text"]),
    "language": (None, ["text"]),
    "code": (None, ["text"]),
    "moderation": (None, ["text"]),
    "image": (None, ["image"]),
    "video": (None, ["video"]),
    "audio": (["text"], ["speech"]),
    "transcribe": (["audio"], ["transcription"]),
    "embedding": (["text"], ["embeddings"]),
    "rerank": (["text"], ["rerank"]),
}


def _pricing(model_id: str, prices: Any) -> Pricing | None:
    if not isinstance(prices, dict):
        return None
    free = model_id.endswith("-Free")
    fields = {"input": "input", "output": "output", "cached_input": "cache_read"}
    pricing = Pricing()
    for key, name in fields.items():
        price = per_million(prices.get(key))
        price = clean_noise(price) if price is not None else None
        if price is None or (price == 0 and not free):
            continue
        setattr(pricing, name, to_decimal_number(price))
    return pricing if pricing.input is not None or pricing.output is not None else None


def translate(item: Any) -> NativeModel:
    entry = record(item, "together")
    model_id = text(entry, "id")
    if model_id is None:
        raise ValueError("id is missing or empty")
    model = NativeModel(
        id=model_id,
        name=text(entry, "display_name"),
        created=epoch_of(entry.get("created")),
        max_context=positive_int(entry.get("context_length")),
        pricing=_pricing(model_id, entry.get("pricing")),
    )
    kind = entry.get("type")
    if isinstance(kind, str) and kind in MODALITIES_BY_TYPE:
        inputs, outputs = MODALITIES_BY_TYPE[kind]
        model.input_modalities = list(inputs) if inputs is not None else None
        model.output_modalities = list(outputs)
        model.cites["outputs"] = "type"
        if inputs is not None:
            model.cites["inputs"] = "type"
    if model.pricing is not None:
        model.cites["pricing"] = "pricing"
    return model


ADAPTER = Adapter(fetch=fetch, parse=single_page_items, translate=translate)
