"""What a call to a model costs, from its published prices (USD per 1M tokens).

Deliberately one small function over the published record (a plain dict), so it can be unified
with the CLI's cost module without touching the reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MILLION = Decimal(1_000_000)


class CostUnavailable(ValueError):
    """The model's prices do not allow an estimate (dynamic pricing, a price not given)."""


@dataclass(frozen=True)
class CostEstimate:
    """USD for one call, with the rates used."""

    model_id: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    usd: Decimal
    """Total, exact."""
    parts: dict[str, Decimal] = field(default_factory=dict)
    """USD per part: `input` (uncached prompt), `cached` (cache reads), `output`."""
    min_prompt_tokens: int | None = None
    """The long-context rule applied (its `minPromptTokens`), or None for base prices."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "cachedTokens": self.cached_tokens,
            "usd": str(self.usd),
            "parts": {k: str(v) for k, v in self.parts.items()},
            "minPromptTokens": self.min_prompt_tokens,
        }


def _usd(value: Any) -> Decimal | None:
    if value is None:
        return None
    # Published prices are exact decimal numbers; a float's repr is the shortest string that
    # reads back to it, i.e. the number as published, so this recovers it without rounding.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def estimate_cost(
    model: Mapping[str, Any], input_tokens: int, output_tokens: int = 0, cached_tokens: int = 0
) -> CostEstimate:
    """USD for a call with ``input_tokens`` prompt tokens (``cached_tokens`` of them read from
    the cache) and ``output_tokens`` completion tokens.

    Long-context rules (``pricing.tiers`` with ``minPromptTokens``): the rule with the highest
    threshold the prompt reaches replaces the base prices it gives. Time-of-day rules are not
    applied (the estimate has no clock). Cache reads without a cache price cost the input price.
    """
    model_id = str(model.get("id", "?"))
    if min(input_tokens, output_tokens, cached_tokens) < 0:
        raise ValueError("token counts must not be negative")
    if cached_tokens > input_tokens:
        raise ValueError(
            f"cached tokens ({cached_tokens}) are part of the prompt and cannot exceed "
            f"input tokens ({input_tokens})"
        )
    pricing: Mapping[str, Any] = model.get("pricing") or {}
    if pricing.get("variable"):
        raise CostUnavailable(f"{model_id} is priced dynamically by its router; no estimate")
    rates = dict(pricing)
    applied: int | None = None
    for rule in pricing.get("tiers") or []:
        threshold = rule.get("minPromptTokens")
        if threshold is None or rule.get("utcStart") is not None:
            continue
        if input_tokens >= threshold and (applied is None or threshold > applied):
            applied = threshold
            rates = {**pricing, **{k: v for k, v in rule.items() if v is not None}}
    uncached = input_tokens - cached_tokens
    parts: dict[str, Decimal] = {}
    wanted = (
        ("input", uncached, rates.get("input")),
        ("cached", cached_tokens, rates.get("cacheRead", rates.get("input"))),
        ("output", output_tokens, rates.get("output")),
    )
    for part, tokens, rate in wanted:
        if tokens == 0:
            continue
        price = _usd(rate)
        if price is None:
            raise CostUnavailable(f"{model_id} publishes no {part} price")
        parts[part] = price * tokens / MILLION
    return CostEstimate(
        model_id=model_id,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=cached_tokens,
        usd=sum(parts.values(), Decimal(0)),
        parts=parts,
        min_prompt_tokens=applied,
    )
