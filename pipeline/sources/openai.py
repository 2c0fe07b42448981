"""OpenAI's ``GET /v1/models`` and the OpenAI-compatible lists that copy its shape
(Cerebras, DeepSeek, DashScope, Moonshot, LM Studio, vLLM and other named instances).

Quirks owned here:

- OpenAI's own list carries no modalities, context window or prices: only ``id``,
  ``created`` and ``owned_by``. It mixes chat, embedding, speech, transcription and image
  models, so the kind is guessed from well-known id families (marked in ``notes``, and a
  heuristic, never the API's word); everything else comes from OpenRouter enrichment.
- Some hosts (Baseten) add OpenRouter-style figures of their own: ``pricing`` (USD per token
  as decimal strings, zero-valued ``image``/``request`` keys meaning "not billed"),
  ``context_length``, ``max_completion_tokens``, ``supported_features`` (``tools``,
  ``json_mode``, ``structured_outputs``, ``reasoning``, ``reasoning_effort``),
  ``supported_sampling_parameters``, ``quantization`` and modalities. They are the host's own
  offer and are read (provenance ``native``), before any enrichment.
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
    positive_int,
    record,
    single_page_items,
    text,
)
from pipeline.stages.normalize import NormalizeError, normalize_pricing

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


# supported_features entry → the request parameters it stands for (OpenRouter's names).
FEATURE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "tools": ("tool_choice", "tools"),
    "json_mode": ("response_format",),
    "structured_outputs": ("response_format", "structured_outputs"),
    "reasoning": ("reasoning",),
    "reasoning_effort": ("reasoning_effort",),
}
TOKEN_PRICE_KEYS = ("prompt", "completion", "input_cache_read", "input_cache_write")


def translate(item: Any) -> NativeModel:
    entry = record(item, "openai-compatible")
    model_id = text(entry, "id")
    if model_id is None:
        raise ValueError("id is missing or empty")
    model = NativeModel(
        id=model_id,
        created=epoch_of(entry.get("created")),
        expires_at=iso_date(entry.get("shutdown_date")),
        max_context=positive_int(entry.get("context_length")),
        max_output=positive_int(entry.get("max_completion_tokens")),
        quantization=text(entry, "quantization"),
    )
    _host_figures(entry, model)
    if model.output_modalities is None:
        for pattern, inputs, outputs in KIND_BY_ID:
            if pattern.search(model_id.lower()):
                model.input_modalities, model.output_modalities = list(inputs), list(outputs)
                model.notes["modalities"] = f"guessed from the id ({pattern.pattern})"
                guess = f"id matches /{pattern.pattern}/ (guessed: the list states no modalities)"
                model.rules.update(inputs=guess, outputs=guess)
                break
    return model


def _host_figures(entry: dict[str, Any], model: NativeModel) -> None:
    """A host's own OpenRouter-style figures (Baseten), where its list carries them."""
    prices = entry.get("pricing")
    if isinstance(prices, dict):
        kept = {k: v for k, v in prices.items() if k in TOKEN_PRICE_KEYS and v is not None}
        try:
            model.pricing = normalize_pricing(kept) if kept else None
        except NormalizeError as exc:
            raise ValueError(str(exc)) from exc
        if model.pricing is not None:
            model.cites["pricing"] = "pricing"
    inputs, outputs = entry.get("input_modalities"), entry.get("output_modalities")
    if isinstance(inputs, list) and isinstance(outputs, list):
        model.input_modalities = [str(m) for m in inputs]
        model.output_modalities = [str(m) for m in outputs]
        model.cites.update(inputs="input_modalities", outputs="output_modalities")
    features = entry.get("supported_features")
    if isinstance(features, list):
        params = {str(p) for p in entry.get("supported_sampling_parameters") or ()}
        for feature in features:
            params.update(FEATURE_PARAMETERS.get(str(feature), ()))
        model.supported_parameters = sorted(params)
        model.cites.update(
            tools="supported_features",
            structured="supported_features",
            reasoning="supported_features",
        )


ADAPTER = Adapter(fetch=fetch, parse=single_page_items, translate=translate)
