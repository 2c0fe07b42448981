"""Google Gemini's ``GET /v1beta/models``: page tokens and generation methods.

Quirks owned here:

- Pages follow ``nextPageToken`` (passed back as ``pageToken``); ``pageSize`` is capped at 1000.
- Auth is the ``x-goog-api-key`` header (a ``key=`` query parameter also works, but would put
  the key in URLs and logs).
- Names carry a ``models/`` prefix that is not part of the id callers use.
- Token limits (``inputTokenLimit``, ``outputTokenLimit``) are Google's own and win over
  OpenRouter's. The kind follows ``supportedGenerationMethods``: ``embedContent`` → embedding,
  ``predict`` → image (Imagen), ``predictLongRunning`` → video (Veo).
"""

from __future__ import annotations

from typing import Any

from pipeline.sources.native import (
    Adapter,
    FetchContext,
    NativeModel,
    load_json,
    positive_int,
    record,
    text,
)
from pipeline.sources.openrouter import PayloadError

PAGE_SIZE = "1000"
MAX_PAGES = 100


def fetch(ctx: FetchContext) -> list[bytes]:
    headers = {"x-goog-api-key": ctx.api_key or ""}
    pages: list[bytes] = []
    params = {"pageSize": PAGE_SIZE}
    for _ in range(MAX_PAGES):
        body = ctx.get("/models", headers=headers, params=params)
        pages.append(body)
        page = load_json(body, ctx.source)
        token = page.get("nextPageToken") if isinstance(page, dict) else None
        if not isinstance(token, str) or not token:
            return pages
        params = {"pageSize": PAGE_SIZE, "pageToken": token}
    raise PayloadError(f"{ctx.source}: still a nextPageToken after {MAX_PAGES} pages")


def parse(pages: list[bytes]) -> list[Any]:
    items: list[Any] = []
    for number, body in enumerate(pages, 1):
        page = load_json(body, "gemini")
        if not isinstance(page, dict):
            raise PayloadError(f"gemini: page {number} is not an object")
        # The last page of an empty listing has no "models" key at all.
        data = page.get("models", [])
        if not isinstance(data, list):
            raise PayloadError(f"gemini: page {number}: 'models' is not a list")
        items.extend(data)
    return items


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
    elif "predictLongRunning" in methods:
        model.input_modalities, model.output_modalities = ["text", "image"], ["video"]
    elif "predict" in methods:
        model.input_modalities, model.output_modalities = ["text"], ["image"]
    if entry.get("thinking") is True:
        # Only a hint: the list says nothing about tools or structured output, so
        # supported_parameters stay unknown (None) and come from OpenRouter enrichment.
        model.notes["reasoning"] = "thinking: true"
    return model


ADAPTER = Adapter(fetch=fetch, parse=parse, translate=translate, paginated=True)
