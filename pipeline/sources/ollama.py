"""A local Ollama server's ``GET /api/tags`` (no key).

Quirks owned here: the envelope is ``{"models": [...]}``, the id is ``name`` (often a
``registry/namespace/model:tag`` path, the tag being the quantization), and there is no context
window, price or modality; ``modified_at`` is when the model was pulled, not released.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pipeline.records.model import Pricing
from pipeline.records.payloads import NativeModel
from pipeline.sources.native import Adapter, FetchContext, record, single_page_items, text


def fetch(ctx: FetchContext) -> list[bytes]:
    return [ctx.get("/api/tags")]


def translate(item: Any) -> NativeModel:
    entry = record(item, "ollama")
    model_id = text(entry, "name") or text(entry, "model")
    if model_id is None:
        raise ValueError("name is missing or empty")
    # No modalities in the tag list: they stay unknown (name heuristics decide: llava, embed).
    model = NativeModel(id=model_id)
    # A model on your own machine costs nothing per token: this adapter's rule, the tag list
    # has no price field.
    model.pricing = Pricing(input=Decimal(0), output=Decimal(0))
    model.rules["pricing"] = "ollama list rule (a model on your own machine costs nothing)"
    details = entry.get("details")
    if isinstance(details, dict) and details.get("family"):
        model.notes["family"] = str(details["family"])
    return model


ADAPTER = Adapter(fetch=fetch, parse=single_page_items, translate=translate)
