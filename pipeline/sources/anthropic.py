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

from pipeline.records.payloads import NativeModel, PayloadError
from pipeline.sources.native import (
    Adapter,
    FetchContext,
    epoch_of,
    fetch_pages,
    list_items,
    positive_int,
    record,
    text,
)

API_VERSION = "2023-06-01"
PAGE_LIMIT = "1000"


def fetch(ctx: FetchContext) -> list[bytes]:
    headers = {"x-api-key": ctx.api_key or "", "anthropic-version": API_VERSION}

    def following(page: Any) -> dict[str, str] | None:
        if not isinstance(page, dict) or not page.get("has_more"):
            return None
        last_id = page.get("last_id")
        if not isinstance(last_id, str) or not last_id:
            raise PayloadError(f"{ctx.source}: has_more is true but last_id is missing")
        return {"limit": PAGE_LIMIT, "after_id": last_id}

    return fetch_pages(ctx, headers, {"limit": PAGE_LIMIT}, following)


def parse(pages: list[bytes]) -> list[Any]:
    return list_items(pages, "anthropic", "data")


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
        # Every model the Messages API lists takes tools and answers in text; the
        # capabilities object has no flag for either because there is no model without them.
        # Those are this adapter's rules, not the list's word (heuristics, issue 26).
        params = ["max_tokens", "temperature", "tool_choice", "tools"]
        reasons = [name for name in ("thinking", "effort") if _supported(caps, name)]
        if reasons:
            params.append("reasoning")
        if _supported(caps, "structured_outputs"):
            params.append("response_format")
        model.supported_parameters = sorted(params)
        model.cites["inputs"] = "capabilities.image_input"
        model.cites["reasoning"] = f"capabilities.{(reasons or ['thinking'])[0]}"
        model.cites["structured"] = "capabilities.structured_outputs"
        model.rules["outputs"] = "anthropic list rule (the Messages API answers in text)"
        model.rules["tools"] = (
            "anthropic list rule (every model of the Messages API takes tools; "
            "the list has no tools field)"
        )
    return model


ADAPTER = Adapter(fetch=fetch, parse=parse, translate=translate, paginated=True)
