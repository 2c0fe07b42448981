"""USD cost of one request from the published prices, tier rules included.

Token counts: ``input`` is the whole prompt (cached tokens included, as providers count
`prompt_tokens`), ``cached`` is how many of those were cache reads, ``output`` the completion.

Conditional rules from the feed (``pricing.tiers``):

- long-context (``minPromptTokens``): when the prompt has at least that many tokens the rule's
  prices replace the base ones for the *whole* request, as the feed states them (no marginal
  split); with several thresholds the highest one reached applies. Prices the rule does not
  give stay at the base price.
- time-of-day (``utcStart``/``utcEnd``, HHMM UTC, DeepSeek): the rule whose window holds the
  request time applies (``at``; windows may wrap midnight). Without a time the base price is
  used and the estimate carries a note listing the windows.

Arithmetic is exact (Decimal); prices are USD per 1M tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from typing import Any

from pipeline.records.model import PriceFields, PriceTierRule, Pricing

PER_MILLION = Decimal(1_000_000)
TOKEN_PRICES = ("input", "output", "cache_read")


class CostError(ValueError):
    """The cost cannot be estimated (dynamic price, no token price, bad counts)."""


@dataclass
class CostLine:
    """One billed component."""

    what: str
    tokens: int
    usd_per_million: Decimal
    usd: Decimal


@dataclass
class CostEstimate:
    """The estimate and how it was reached."""

    model_id: str
    usd: Decimal
    lines: list[CostLine]
    rule: str
    """`base`, or the rule that set the prices (e.g. `minPromptTokens 272000`)."""
    notes: list[str] = field(default_factory=list)


def _hhmm(moment: time) -> int:
    return moment.hour * 100 + moment.minute


def _in_window(rule: PriceTierRule, at: int) -> bool:
    start, end = rule.utc_start, rule.utc_end
    if start is None or end is None:
        return False
    if start <= end:
        return start <= at < end
    return at >= start or at < end  # the window wraps midnight (e.g. 1000 → 0100)


def _clock(value: int) -> str:
    return f"{value // 100:02d}:{value % 100:02d}"


def _apply(prices: dict[str, Decimal | None], rule: PriceFields) -> None:
    for name in TOKEN_PRICES:
        value = getattr(rule, name)
        if value is not None:
            prices[name] = value


def estimate_cost(
    pricing: Pricing | Mapping[str, Any],
    *,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    at: time | None = None,
    model_id: str = "",
) -> CostEstimate:
    """Cost of one request with ``input_tokens`` prompt tokens (``cached_tokens`` of them read
    from the cache) and ``output_tokens`` completion tokens.

    ``pricing`` is a ``Pricing``, or as published (a plain dict): a whole record as the reader's
    ``Registry`` returns it, or its ``pricing``."""
    if not isinstance(pricing, Pricing):
        if "pricing" in pricing:
            model_id = model_id or str(pricing.get("id", ""))
            pricing = pricing["pricing"]
        pricing = Pricing.model_validate(pricing)
    if min(input_tokens, output_tokens, cached_tokens) < 0:
        raise CostError("token counts cannot be negative")
    if cached_tokens > input_tokens:
        raise CostError(
            f"--cached {cached_tokens} is more than --input {input_tokens} "
            "(cached tokens are part of the prompt)"
        )
    if pricing.variable:
        raise CostError(
            f"{model_id or 'the model'} is dynamically priced (a router): no fixed price"
        )
    if pricing.unit is not None:
        # Speech, video, rerank, ...: a per-token estimate would be made up (issue 26).
        figure = f" at ${pricing.per_unit.normalize():f}" if pricing.per_unit is not None else ""
        unit = pricing.unit if pricing.unit != "unstated" else "unit not stated upstream"
        raise CostError(
            f"{model_id or 'the model'} is not billed per token (billed per unit{figure}, "
            f"{unit}): its cost cannot be computed from token counts"
        )
    if pricing.input is None or pricing.output is None:
        raise CostError(f"{model_id or 'the model'} has no per-token input/output price")

    prices: dict[str, Decimal | None] = {name: getattr(pricing, name) for name in TOKEN_PRICES}
    notes: list[str] = []
    applied: list[str] = []

    timed = [r for r in pricing.tiers if r.utc_start is not None]
    if timed:
        if at is None:
            windows = ", ".join(
                f"{_clock(r.utc_start or 0)}-{_clock(r.utc_end or 0)} UTC "
                f"${r.input if r.input is not None else pricing.input}/"
                f"${r.output if r.output is not None else pricing.output}"
                for r in timed
            )
            notes.append(f"price varies by time of day ({windows}); base price used — pass --at")
        else:
            now = _hhmm(at)
            window = next((r for r in timed if _in_window(r, now)), None)
            if window is not None:
                _apply(prices, window)
                applied.append(f"utc {_clock(window.utc_start or 0)}-{_clock(window.utc_end or 0)}")
            else:
                notes.append(f"no time-of-day window holds {_clock(now)} UTC; base price used")

    reached = [
        r
        for r in pricing.tiers
        if r.min_prompt_tokens is not None and input_tokens >= r.min_prompt_tokens
    ]
    if reached:
        rule = max(reached, key=lambda r: r.min_prompt_tokens or 0)
        _apply(prices, rule)
        applied.append(f"minPromptTokens {rule.min_prompt_tokens}")

    input_price = prices["input"]
    output_price = prices["output"]
    assert input_price is not None and output_price is not None  # checked above
    cache_price = prices["cache_read"]
    if cached_tokens and cache_price is None:
        notes.append("no cache-read price published; cached tokens billed at the input price")
        cache_price = input_price

    lines = [
        _line("input", input_tokens - cached_tokens, input_price),
        _line("cached input", cached_tokens, cache_price or Decimal(0)),
        _line("output", output_tokens, output_price),
    ]
    lines = [line for line in lines if line.tokens]
    total = sum((line.usd for line in lines), Decimal(0))
    if pricing.per_request:
        lines.append(CostLine("per request", 0, pricing.per_request, pricing.per_request))
        total += pricing.per_request
    if pricing.reasoning is not None and pricing.reasoning != output_price:
        notes.append("reasoning tokens have their own price; counted here as output")
    return CostEstimate(model_id, total, lines, " + ".join(applied) or "base", notes)


def _line(what: str, tokens: int, price: Decimal) -> CostLine:
    return CostLine(what, tokens, price, tokens * price / PER_MILLION)


def parse_at(value: str) -> time:
    """``HH:MM`` (UTC) or an ISO-8601 time whose UTC clock is used."""
    from pipeline.timeutil import parse_iso

    text = value.strip()
    if len(text) <= 5 and ":" in text:
        hours, minutes = text.split(":", 1)
        return time(int(hours), int(minutes))
    moment = parse_iso(text)
    return time(moment.hour, moment.minute)
