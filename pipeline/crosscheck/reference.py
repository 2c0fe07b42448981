"""Independent catalogs read into one shape: models.dev ``api.json``, LiteLLM's
``model_prices_and_context_window.json`` and pydantic's genai-prices ``data.json``.

Each names providers its own way; ``REFERENCE_PROVIDERS`` maps each of our sources to the
provider keys of each format. Prices come out in USD per 1M tokens (models.dev and
genai-prices already are; LiteLLM gives USD per token and is scaled exactly via the decimal
text of the number).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pipeline.crosscheck import genai_prices
from pipeline.inputs import read_input
from pipeline.publishing import jsonio

Format = Literal["models.dev", "litellm", "genai-prices"]
# models.dev's api.json is 4 MB (2026-06-13), LiteLLM's price file about 1.5 MB, genai-prices'
# data.json about 1 MB; all nest five or six levels.
MAX_REFERENCE_BYTES = 64 * 2**20
MAX_DEPTH = 32
FieldValue = Decimal | int | bool
PER_MILLION = Decimal(1_000_000)

# Our source name (or source type) → provider keys in (models.dev, LiteLLM, genai-prices).
# LiteLLM files Cohere's chat models under `cohere_chat` and its embedding and rerank models
# under `cohere`: both are Cohere's. DashScope's US region (`dashscope-us`) has prices of its
# own; the references list the international ones only, so it is compared with none.
REFERENCE_PROVIDERS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "openrouter": (("openrouter",), ("openrouter",), ("openrouter",)),
    "openai": (("openai",), ("openai",), ("openai",)),
    "anthropic": (("anthropic",), ("anthropic",), ("anthropic",)),
    "gemini": (("google",), ("gemini",), ("google",)),
    "mistral": (("mistral",), ("mistral",), ("mistral",)),
    "cohere": (("cohere",), ("cohere_chat", "cohere"), ("cohere",)),
    "deepseek": (("deepseek",), ("deepseek",), ("deepseek",)),
    "dashscope": (("alibaba",), ("dashscope",), ()),
    "dashscope-us": ((), (), ()),
    "moonshot": (("moonshotai",), ("moonshot",), ("moonshotai",)),
    "groq": (("groq",), ("groq",), ("groq",)),
    "together": (("togetherai",), ("together_ai",), ("together",)),
    "cerebras": (("cerebras",), ("cerebras",), ("cerebras",)),
    "xai": (("xai",), ("xai",), ("x-ai",)),
    "perplexity": (("perplexity",), ("perplexity",), ("perplexity",)),
    "deepinfra": (("deepinfra",), ("deepinfra",), ()),
    "baseten": (("baseten",), ("baseten",), ()),
}
COLUMNS: dict[str, int] = {"models.dev": 0, "litellm": 1, "genai-prices": 2}


class ReferenceError(ValueError):
    """The reference file cannot be read; the message names the file and what is wrong."""


@dataclass
class ReferenceModel:
    """One model of the reference catalog, its comparable fields and its raw entry."""

    provider: str
    id: str
    fields: dict[str, FieldValue] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    rule: Callable[[str], bool] | None = None
    """genai-prices: the entry's ``match`` rule (which model names it prices)."""


@dataclass
class Reference:
    """A whole reference catalog: provider key → model id → model."""

    path: str
    format: Format
    providers: dict[str, dict[str, ReferenceModel]]

    def providers_for(self, source: str, source_type: str) -> list[str]:
        """The reference's provider keys for one of our sources (none when it has none).

        The source's own name decides when the table knows it (a named instance such as
        ``dashscope-us`` is not its type's region); otherwise its type's row, else the name
        itself."""
        column = COLUMNS[self.format]
        for name in (source, source_type):
            mapped = REFERENCE_PROVIDERS.get(name)
            if mapped is not None:
                return [key for key in mapped[column] if key in self.providers]
            if name in self.providers:
                return [name]
        return []


def _price(value: Any, scale: Decimal = Decimal(1)) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        price = Decimal(str(value)) * scale
    except InvalidOperation:
        return None
    return price if price.is_finite() and price >= 0 else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # `Infinity` / `1e999` in the file: no count (int() would raise)
    return int(value) if value > 0 else None


def _put(out: dict[str, FieldValue], name: str, value: FieldValue | None) -> None:
    if value is not None:
        out[name] = value


def _section(entry: dict[str, Any], key: str) -> dict[str, Any]:
    value = entry.get(key)
    return value if isinstance(value, dict) else {}


def _modelsdev_fields(entry: dict[str, Any]) -> dict[str, FieldValue]:
    out: dict[str, FieldValue] = {}
    cost = _section(entry, "cost")
    for ours, theirs in (
        ("input", "input"),
        ("output", "output"),
        ("cacheRead", "cache_read"),
        ("cacheWrite", "cache_write"),
    ):
        _put(out, ours, _price(cost.get(theirs)))
    limit = _section(entry, "limit")
    _put(out, "maxContext", _count(limit.get("context")))
    _put(out, "maxOutput", _count(limit.get("output")))
    modalities = entry.get("modalities")
    if isinstance(modalities, dict) and isinstance(modalities.get("input"), list):
        out["supportsVision"] = "image" in modalities["input"]
    for ours, theirs in (
        ("supportsTools", "tool_call"),
        ("reasoning", "reasoning"),
        ("structuredOutput", "structured_output"),
    ):
        if isinstance(entry.get(theirs), bool):
            out[ours] = entry[theirs]
    return out


def _litellm_fields(entry: dict[str, Any]) -> dict[str, FieldValue]:
    out: dict[str, FieldValue] = {}
    for ours, theirs in (
        ("input", "input_cost_per_token"),
        ("output", "output_cost_per_token"),
        ("cacheRead", "cache_read_input_token_cost"),
        ("cacheWrite", "cache_creation_input_token_cost"),
    ):
        _put(out, ours, _price(entry.get(theirs), PER_MILLION))
    _put(out, "maxContext", _count(entry.get("max_input_tokens")))
    _put(out, "maxOutput", _count(entry.get("max_output_tokens")))
    for ours, theirs in (
        ("supportsVision", "supports_vision"),
        ("supportsTools", "supports_function_calling"),
        ("reasoning", "supports_reasoning"),
        ("structuredOutput", "supports_response_schema"),
    ):
        if isinstance(entry.get(theirs), bool):
            out[ours] = entry[theirs]
    return out


def _modelsdev(document: dict[str, Any]) -> dict[str, dict[str, ReferenceModel]]:
    providers: dict[str, dict[str, ReferenceModel]] = {}
    for key, provider in document.items():
        models = provider.get("models") if isinstance(provider, dict) else None
        if not isinstance(models, dict):
            continue
        providers[key] = {
            model_id: ReferenceModel(key, model_id, _modelsdev_fields(entry), entry)
            for model_id, entry in models.items()
            if isinstance(entry, dict)
        }
    return providers


def _litellm(document: dict[str, Any]) -> dict[str, dict[str, ReferenceModel]]:
    providers: dict[str, dict[str, ReferenceModel]] = {}
    for name, entry in document.items():
        if name == "sample_spec" or not isinstance(entry, dict):
            continue
        provider = entry.get("litellm_provider")
        if not isinstance(provider, str):
            continue
        # LiteLLM keys carry its provider as a prefix for every provider but OpenAI's.
        model_id = name.removeprefix(f"{provider}/")
        providers.setdefault(provider, {})[model_id] = ReferenceModel(
            provider, model_id, _litellm_fields(entry), entry
        )
    return providers


def _genai_prices(document: list[Any]) -> dict[str, dict[str, ReferenceModel]]:
    providers: dict[str, dict[str, ReferenceModel]] = {}
    for provider in document:
        if not isinstance(provider, dict) or not isinstance(provider.get("id"), str):
            continue
        key = provider["id"]
        models = providers.setdefault(key, {})
        for entry in provider.get("models") or []:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                models.setdefault(
                    entry["id"],
                    ReferenceModel(
                        key,
                        entry["id"],
                        dict(genai_prices.fields_of(entry)),
                        entry,
                        genai_prices.rule_of(entry.get("match")),
                    ),
                )
    return providers


def load_reference(path: str | Path) -> Reference:
    """Read a models.dev, LiteLLM or genai-prices catalog file; ReferenceError names the file
    and the problem.

    The file is someone else's download, read by every full refresh that configures it: it
    is bounded like the other third-party files (docs/hardening.md) — at most
    ``MAX_REFERENCE_BYTES`` read, nesting checked before parsing."""
    where = str(path)
    try:
        data = read_input(path, MAX_REFERENCE_BYTES)  # a FIFO or /dev/zero is refused
    except OSError as exc:
        raise ReferenceError(f"{where}: cannot read: {exc.strerror or exc}") from exc
    try:
        document = jsonio.loads_bounded(data, max_bytes=MAX_REFERENCE_BYTES, max_depth=MAX_DEPTH)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise ReferenceError(f"{where}: not valid JSON: {exc}") from exc
    if isinstance(document, list) and any(
        isinstance(p, dict) and isinstance(p.get("models"), list) for p in document[:20]
    ):
        return Reference(where, "genai-prices", _genai_prices(document))
    if not isinstance(document, dict):
        raise ReferenceError(f"{where}: expected a JSON object, got {type(document).__name__}")
    values = [v for v in document.values() if isinstance(v, dict)]
    if values and all(isinstance(v.get("models"), dict) for v in values[:20]):
        return Reference(where, "models.dev", _modelsdev(document))
    if "sample_spec" in document or any("litellm_provider" in v for v in values[:50]):
        return Reference(where, "litellm", _litellm(document))
    raise ReferenceError(
        f"{where}: neither models.dev api.json (providers with `models`), LiteLLM "
        "model_prices_and_context_window.json (entries with `litellm_provider`) nor "
        "genai-prices data.json (a list of providers with `models`)"
    )
