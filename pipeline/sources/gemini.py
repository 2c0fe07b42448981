"""Google Gemini's ``GET /v1beta/models``: page tokens and generation methods.

Quirks owned here:

- Pages follow ``nextPageToken`` (passed back as ``pageToken``); ``pageSize`` is capped at 1000.
- Auth is the ``x-goog-api-key`` header (a ``key=`` query parameter also works, but would put
  the key in URLs and logs).
- Names carry a ``models/`` prefix that is not part of the id callers use.
- Token limits (``inputTokenLimit``, ``outputTokenLimit``) are Google's own and win over
  OpenRouter's; embedders report ``outputTokenLimit: 1`` (one vector, not a token cap), which
  is dropped. The kind follows ``supportedGenerationMethods``: ``embedContent`` → embedding,
  ``predict`` → image (Imagen), ``predictLongRunning`` → video (Veo). ``generateContent`` and
  ``bidiGenerateContent`` say nothing about modalities (TTS, image and music models use them
  too), so those stay unknown for OpenRouter enrichment and the name heuristics.
- ``thinking: true`` is Google's statement that the model reasons: published as the API's
  reasoning signal (``configurable``: the thinking budget is a request setting).
- The generation method states the output; the inputs read from it (Veo: text and image) are
  this adapter's reading, so flags decided from them are heuristics (issue 26).
"""

from __future__ import annotations

from typing import Any

from pipeline.records.payloads import NativeModel
from pipeline.sources.native import (
    Adapter,
    FetchContext,
    fetch_pages,
    list_items,
    positive_int,
    record,
    text,
)

PAGE_SIZE = "1000"


def fetch(ctx: FetchContext) -> list[bytes]:
    headers = {"x-goog-api-key": ctx.api_key or ""}

    def following(page: Any) -> dict[str, str] | None:
        token = page.get("nextPageToken") if isinstance(page, dict) else None
        if not isinstance(token, str) or not token:
            return None
        return {"pageSize": PAGE_SIZE, "pageToken": token}

    return fetch_pages(ctx, headers, {"pageSize": PAGE_SIZE}, following)


def parse(pages: list[bytes]) -> list[Any]:
    # The last page of an empty listing has no "models" key at all.
    return list_items(pages, "gemini", "models", optional=True)


def translate(item: Any) -> NativeModel:
    entry = record(item, "gemini")
    name = text(entry, "name")
    if name is None:
        raise ValueError("name is missing or empty")
    model = NativeModel(
        id=name.removeprefix("models/"),
        name=text(entry, "displayName"),
        max_context=positive_int(entry.get("inputTokenLimit")),
        max_output=positive_int(entry.get("outputTokenLimit")),
    )
    methods = entry.get("supportedGenerationMethods") or []
    if "embedContent" in methods:
        model.input_modalities, model.output_modalities = ["text"], ["embeddings"]
        model.max_output = None
    elif "predictLongRunning" in methods:
        model.input_modalities, model.output_modalities = ["text", "image"], ["video"]
    elif "predict" in methods:
        model.input_modalities, model.output_modalities = ["text"], ["image"]
    if model.output_modalities is not None:
        # The method says what comes out; what goes in is this adapter's reading of it.
        model.cites["outputs"] = "supportedGenerationMethods"
        model.rules["inputs"] = (
            "gemini list rule (inputs read from the generation method, which does not state them)"
        )
    if entry.get("thinking") is True:
        # The list says nothing about tools or structured output: supported_parameters stay
        # unknown (None) and come from OpenRouter enrichment.
        model.reasoning = "thinking is true in the Gemini list: the model reasons"
    return model


ADAPTER = Adapter(fetch=fetch, parse=parse, translate=translate, paginated=True)
