"""OpenRouter's model catalog: fetch, unwrap, and parse one record.

Quirks this module owns (each shown by a test on the real payloads in ../shared/fixtures/real):

- The listing hides image, video, speech, embedding and rerank models unless asked for
  ``output_modalities=all``.
- Three envelopes occur in the wild: the API's ``{"data": [...]}`` (plus ``total_count`` and
  ``links`` from mid-2026), a bare list (jq-extracted copies), and ``{"timestamp", "models"}``.
- 2024 records have no ``created``, ``canonical_slug``, ``supported_parameters`` or
  ``input_modalities``; their architecture has only a ``modality`` string such as ``"text"``.
- Prices are decimal strings per token, some 20+ digits long; ``"-1"`` marks a dynamically
  priced router; from late January 2026 zero-valued keys are dropped (sparse pricing).
- New top-level keys appear every few months (``links``, ``knowledge_cutoff``,
  ``benchmarks``, ``reasoning``, ``alias_target``); unknown keys are ignored, never fatal.
"""

from __future__ import annotations

from typing import Any

import httpx
import simplejson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.config import OpenRouterConfig
from pipeline.sources.http import FetchError, RetryPolicy, get_with_retries, make_client

SOURCE = "openrouter"


class PayloadError(Exception):
    """The catalog payload as a whole is unusable (not JSON, no model list)."""


class _Lenient(BaseModel):
    # Upstream adds fields all the time; a new key must never break the sync.
    model_config = ConfigDict(extra="ignore")


class OpenRouterArchitecture(_Lenient):
    modality: str | None = None
    input_modalities: list[str] | None = None
    output_modalities: list[str] | None = None
    tokenizer: str | None = None
    instruct_type: str | None = None


class OpenRouterTopProvider(_Lenient):
    context_length: int | None = None
    max_completion_tokens: int | None = None
    is_moderated: bool | None = None


class OpenRouterAliasTarget(_Lenient):
    name: str | None = None
    slug: str | None = None


class OpenRouterModel(_Lenient):
    """One entry of ``GET /api/v1/models``, as lenient as the history of the feed requires."""

    id: str = Field(min_length=1)
    name: str | None = None
    created: int | None = None
    canonical_slug: str | None = None
    hugging_face_id: str | None = None
    description: str | None = None
    context_length: int | None = None
    architecture: OpenRouterArchitecture = Field(default_factory=OpenRouterArchitecture)
    # Kept as a raw mapping: keys come and go (sparse pricing) and values are decimal strings
    # that normalize.py converts exactly; `overrides` is a list of long-context rules.
    pricing: dict[str, Any] | None = None
    top_provider: OpenRouterTopProvider = Field(default_factory=OpenRouterTopProvider)
    supported_parameters: list[str] | None = None
    knowledge_cutoff: str | None = None
    expiration_date: str | None = None
    alias_target: OpenRouterAliasTarget | None = None
    benchmarks: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None

    @field_validator("architecture", "top_provider", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if value != value.strip() or any(ch.isspace() for ch in value):
            raise ValueError("id contains whitespace")
        return value


def extract_items(raw: bytes) -> list[Any]:
    """Unwrap the model list from any of the three known envelopes.

    Raises PayloadError with a reason an operator can act on.
    """
    if not raw.strip():
        raise PayloadError("the response body is empty")
    head = raw.lstrip()[:200].lower()
    if head.startswith((b"<!doctype", b"<html", b"<")):
        raise PayloadError("the response is HTML, not JSON (an error or login page?)")
    try:
        document = simplejson.loads(raw)
    except (simplejson.JSONDecodeError, UnicodeDecodeError) as exc:
        where = (
            f" at line {exc.lineno} column {exc.colno}"
            if isinstance(exc, simplejson.JSONDecodeError)
            else ""
        )
        raise PayloadError(
            f"the response is not valid JSON{where} (truncated download?): {exc}"
        ) from exc
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in ("data", "models"):
            if key in document:
                items = document[key]
                if isinstance(items, list):
                    return items
                shape = "null" if items is None else type(items).__name__
                raise PayloadError(f"'{key}' is {shape}, not a list of models")
        if "error" in document:
            raise PayloadError(f"the API returned an error object: {str(document['error'])[:200]}")
        keys = ", ".join(sorted(document)[:8]) or "none"
        raise PayloadError(f"no model list found (expected 'data' or 'models'; keys: {keys})")
    raise PayloadError(f"expected a JSON object or list, got {type(document).__name__}")


def fetch_catalog(
    config: OpenRouterConfig,
    *,
    api_key: str | None = None,
    transport: httpx.BaseTransport | None = None,
    policy: RetryPolicy | None = None,
    on_retry: Any = None,
) -> bytes:
    """Fetch the full catalog and return the response bytes, verbatim."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    policy = policy or RetryPolicy(
        max_attempts=config.max_attempts,
        backoff_seconds=config.backoff_seconds,
        max_backoff_seconds=config.max_backoff_seconds,
    )
    with make_client(
        transport=transport,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
    ) as client:
        response = get_with_retries(
            client, config.url, source=SOURCE, headers=headers, policy=policy, on_retry=on_retry
        )
        return response.content


__all__ = [
    "SOURCE",
    "FetchError",
    "OpenRouterModel",
    "PayloadError",
    "extract_items",
    "fetch_catalog",
]
