"""Cohere's ``GET /v1/models``: page tokens, endpoints and nullable features.

Quirks owned here:

- Pages follow ``next_page_token`` (sent back as ``page_token``); ``page_size`` up to 1000.
- The envelope is ``{"models": [...]}`` and the id is ``name``.
- What a model is for is in ``endpoints`` (chat/generate, embed, embed_image, rerank,
  transcriptions); ``features`` (tools, json_schema, reasoning, vision, ...) may be null, which
  means "not reported", not "none".
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
    def following(page: Any) -> dict[str, str] | None:
        token = page.get("next_page_token") if isinstance(page, dict) else None
        if not isinstance(token, str) or not token:
            return None
        return {"page_size": PAGE_SIZE, "page_token": token}

    return fetch_pages(ctx, ctx.bearer(), {"page_size": PAGE_SIZE}, following)


def parse(pages: list[bytes]) -> list[Any]:
    return list_items(pages, "cohere", "models")


def translate(item: Any) -> NativeModel:
    entry = record(item, "cohere")
    model_id = text(entry, "name")
    if model_id is None:
        raise ValueError("name is missing or empty")
    endpoints = set(entry.get("endpoints") or [])
    model = NativeModel(id=model_id, max_context=positive_int(entry.get("context_length")))
    features = entry.get("features")
    if "embed" in endpoints or "embed_image" in endpoints:
        inputs = ["text", "image"] if "embed_image" in endpoints else ["text"]
        model.input_modalities, model.output_modalities = inputs, ["embeddings"]
        model.cites.update(inputs="endpoints", outputs="endpoints")
    elif "rerank" in endpoints:
        model.input_modalities, model.output_modalities = ["text"], ["rerank"]
        model.cites.update(inputs="endpoints", outputs="endpoints")
    elif "transcriptions" in endpoints:
        model.input_modalities, model.output_modalities = ["audio"], ["transcription"]
        model.cites.update(inputs="endpoints", outputs="endpoints")
    elif endpoints & {"chat", "generate"}:
        model.output_modalities = ["text"]
        model.cites["outputs"] = "endpoints"
        if isinstance(features, list):
            # With features null nothing is said about image input: it stays unknown.
            model.input_modalities = ["text", "image"] if "vision" in features else ["text"]
            model.cites["inputs"] = "features"
    if isinstance(features, list):
        model.cites.update(tools="features", structured="features", reasoning="features")
        params = ["max_tokens", "temperature"]
        if "tools" in features or "strict_tools" in features:
            params += ["tool_choice", "tools"]
        if "json_schema" in features or "json_mode" in features:
            params.append("response_format")
        if "reasoning" in features:
            params.append("reasoning")
        model.supported_parameters = sorted(set(params))
    return model


ADAPTER = Adapter(fetch=fetch, parse=parse, translate=translate, paginated=True)
