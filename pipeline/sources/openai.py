"""OpenAI's ``GET /v1/models`` and the OpenAI-compatible lists that copy its shape
(Cerebras, DeepSeek, DashScope, Moonshot, LM Studio, vLLM and other named instances).

Quirks owned here:

- The list carries no modalities, context window or prices: only ``id``, ``created`` and
  ``owned_by``. OpenAI's own list mixes chat, embedding, speech, transcription and image
  models, so the kind is guessed from well-known id families (marked in ``notes``); everything
  else comes from OpenRouter enrichment.
- OpenAI added ``shutdown_date`` (a bare date) to models with an announced retirement.
- Cerebras answers ``created: 0`` and DeepSeek omits ``created``: both mean "unknown".
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.records.payloads import NativeModel
from pipeline.sources.native import (
    Adapter,
    FetchContext,
    epoch_of,
    iso_date,
    record,
    single_page_items,
    text,
)

# id family → (input, output) modalities, for lists that give no modalities at all.
KIND_BY_ID: tuple[tuple[re.Pattern[str], list[str], list[str]], ...] = (
    (re.compile(r"embed"), ["text"], ["embeddings"]),
    (re.compile(r"(^|-)tts($|-)"), ["text"], ["speech"]),
    (re.compile(r"whisper|transcribe"), ["audio"], ["transcription"]),
    (re.compile(r"^(dall-e|gpt-image|chatgpt-image)"), ["text", "image"], ["image"]),
    (re.compile(r"^sora"), ["text", "image"], ["video"]),
)


def fetch(ctx: FetchContext) -> list[bytes]:
    """One page; ``Authorization: Bearer`` when a key is configured."""
    return [ctx.get("/models", headers=ctx.bearer())]


def translate(item: Any) -> NativeModel:
    entry = record(item, "openai-compatible")
    model_id = text(entry, "id")
    if model_id is None:
        raise ValueError("id is missing or empty")
    model = NativeModel(
        id=model_id,
        created=epoch_of(entry.get("created")),
        expires_at=iso_date(entry.get("shutdown_date")),
    )
    for pattern, inputs, outputs in KIND_BY_ID:
        if pattern.search(model_id.lower()):
            model.input_modalities, model.output_modalities = list(inputs), list(outputs)
            model.notes["modalities"] = f"guessed from the id ({pattern.pattern})"
            break
    return model


ADAPTER = Adapter(fetch=fetch, parse=single_page_items, translate=translate)
