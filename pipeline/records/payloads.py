"""The upstream payload types: what the sources hand to the stages.

Source adapters (``pipeline.sources``) parse upstream bytes into these; the stages
(``pipeline.stages``) and the schema generator read them. They live below both so that a stage
never imports a source adapter.

- ``OpenRouterModel``: one entry of OpenRouter's ``GET /api/v1/models``, lenient by design.
- ``NativeModel``: one provider-native record translated by its adapter.
- ``PinnedManifest``: ``overrides/pinned/<source>.yaml``, strict (a hand-maintained file).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.records.model import Pricing

_WHITESPACE = re.compile(r"\s")


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
    # Facts published as they are, but typed loosely here: an odd value in one of them is
    # dropped by normalize.py, never a reason to quarantine the whole model.
    default_parameters: Any = None
    per_request_limits: Any = None
    supported_voices: Any = None
    links: Any = None

    @field_validator("architecture", "top_provider", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        # `\s` is str.isspace's set of characters, searched in C (issue 29).
        if _WHITESPACE.search(value):
            raise ValueError("id contains whitespace")
        return value


@dataclass
class NativeModel:
    """One upstream record translated; None means "this API does not say"."""

    id: str
    name: str | None = None
    created: int | None = None
    max_context: int | None = None
    max_output: int | None = None
    input_modalities: list[str] | None = None
    output_modalities: list[str] | None = None
    pricing: Pricing | None = None
    supported_parameters: list[str] | None = None
    expires_at: str | None = None
    canonical_slug: str | None = None
    notes: dict[str, str] = field(default_factory=dict)
    """Where a non-obvious value came from (e.g. modalities guessed from the id)."""
    reasoning: str | None = None
    """The list's own statement that the model reasons, as evidence starting with the field
    that says so (Gemini `thinking is true …`); None when it does not say."""
    cites: dict[str, str] = field(default_factory=dict)
    """Fact → the field of the raw record that states it (a path such as
    `capabilities.image_input`): `inputs`, `outputs` (modalities), `tools`, `structured`,
    `reasoning` (supported parameters) and `pricing`. A flag decided from a cited fact is an
    `api` flag whose evidence starts with this path (docs/capabilities.md)."""
    rules: dict[str, str] = field(default_factory=dict)
    """Fact → the adapter's own rule that gave it when no field states it (Anthropic's list has
    no tools field: every Messages-API model takes tools). A flag decided from it is a
    `heuristic`, with the rule as evidence."""
    quantization: str | None = None
    """Weights precision the host serves (`fp8`, `fp4`, ...), when its list states it."""
    replacement: str | None = None
    """The id the provider names as the replacement of a model it retires (Mistral
    `deprecation_replacement_model`)."""


Capability = Literal["tools", "vision", "reasoning", "structured_output", "web_search"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class PinnedPricing(_Strict):
    """USD per token (decimal strings), like OpenRouter's pricing."""

    prompt: str | None = None
    """USD per input token."""
    completion: str | None = None
    """USD per output token."""
    input_cache_read: str | None = None
    """USD per cached input token."""
    request: str | None = None
    """USD per request (e.g. Perplexity's search fee), where a single figure applies."""


class PinnedModel(_Strict):
    """One model of a pinned manifest."""

    provider: str
    """Provider id; must equal the manifest's."""
    model_id: str = Field(min_length=1, pattern=r"^\S+$")
    """The id the provider's API takes."""
    name: str | None = None
    """Display name."""
    context_window: int = Field(gt=0)
    """Context window in tokens."""
    max_output_tokens: int | None = Field(default=None, gt=0)
    """Maximum completion tokens, where documented."""
    capabilities: list[Capability] = Field(default_factory=list)
    """What the model supports beyond text in, text out."""
    pricing: PinnedPricing
    """Prices per token."""
    release_date: dt.date | None = None
    """Public release date."""


class PinnedManifest(_Strict):
    """``overrides/pinned/<provider>.yaml``."""

    provider: str
    """Provider id (the file's stem)."""
    reviewed: dt.date
    """When a person last checked every entry against the provider's documentation."""
    sources: list[str] = Field(min_length=1)
    """URLs of the documentation the entries were checked against."""
    notes: str | None = None
    """Anything a reviewer should know (e.g. prices that vary by request options)."""
    models: list[PinnedModel] = Field(min_length=1)
    """The models."""
