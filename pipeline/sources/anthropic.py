"""Anthropic's ``GET /v1/models``: cursor pagination and, from 2026, capabilities.

Quirks owned here:

- Pages are cursor-based: follow ``has_more`` with ``after_id=<last_id>``; ``limit`` is
  capped at 1000.
- Auth is ``x-api-key`` plus a mandatory ``anthropic-version`` header (not Bearer).
- 2025 payloads give only id, display name and ``created_at`` (an ISO string, not epoch);
  2026 payloads add ``max_input_tokens``, ``max_tokens`` and a nested ``capabilities`` object.
  Those token limits are Anthropic's own and win over OpenRouter's figures.
"""

from __future__ import annotations

from typing import Any

from pipeline.sources.native import (
    Adapter,
    FetchContext,
    NativeModel,
    epoch_of,
    load_json,
    positive_int,
    record,
    text,
)
from pipeline.sources.openrouter import PayloadError

API_VERSION = "2023-06-01"
PAGE_LIMIT = "1000"
MAX_PAGES = 100  # a cursor that never ends is an upstream bug, not a reason to loop forever


def fetch(ctx: FetchContext) -> list[bytes]:
    headers = {"x-api-key": ctx.api_key or "", "anthropic-version": API_VERSION}
    pages: list[bytes] = []
    params = {"limit": PAGE_LIMIT}
    for _ in range(MAX_PAGES):
        body = ctx.get("/models", headers=headers, params=params)
        pages.append(body)
        page = load_json(body, ctx.source)
        if not isinstance(page, dict) or not page.get("has_more"):
            return pages
        last_id = page.get("last_id")
        if not isinstance(last_id, str) or not last_id:
            raise PayloadError(f"{ctx.source}: has_more is true but last_id is missing")
        params = {"limit": PAGE_LIMIT, "after_id": last_id}
    raise PayloadError(f"{ctx.source}: still has_more after {MAX_PAGES} pages; giving up")


def parse(pages: list[bytes]) -> list[Any]:
    items: list[Any] = []
    for number, body in enumerate(pages, 1):
        page = load_json(body, "anthropic")
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, list):
            raise PayloadError(f"anthropic: page {number} has no 'data' list")
        items.extend(data)
    return items


def _supported(capabilities: dict[str, Any], name: str) -> bool:
    value = capabilities.get(name)
    return isinstance(value, dict) and value.get("supported") is True


def translate(item: Any) -> NativeModel:
    entry = record(item, "anthropic")
    model_id = text(entry, "id")
    if model_id is None:
        raise ValueError("id is missing or empty")
    model = NativeModel(
        id=model_id,
        name=text(entry, "display_name"),
        created=epoch_of(entry.get("created_at")),
        max_context=positive_int(entry.get("max_input_tokens")),
        max_output=positive_int(entry.get("max_tokens")),
    )
    caps = entry.get("capabilities")
    if isinstance(caps, dict):
        inputs = ["text"]
        if _supported(caps, "image_input"):
            inputs.append("image")
        if _supported(caps, "pdf_input"):
            inputs.append("file")
        model.input_modalities, model.output_modalities = inputs, ["text"]
        # Every model the Messages API lists takes tools; the capabilities object has no flag
        # for it because there is no model without it.
        params = ["max_tokens", "temperature", "tool_choice", "tools"]
        if _supported(caps, "thinking") or _supported(caps, "effort"):
            params.append("reasoning")
        if _supported(caps, "structured_outputs"):
            params.append("response_format")
        model.supported_parameters = sorted(params)
    return model


ADAPTER = Adapter(fetch=fetch, parse=parse, translate=translate, paginated=True)
