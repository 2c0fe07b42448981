"""What a call to a model costs, from its published prices (USD per 1M tokens).

One function over the published record (a plain dict, no pydantic: the reader stays cheap to
import). It applies the same rules and words the same notes as ``pipeline.stages.cost`` (what
`catalog cost` runs on validated records); tests/test_registry.py checks the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any, NamedTuple

MILLION = Decimal(1_000_000)
ZERO = Decimal(0)


class CostUnavailable(ValueError):
    """The model's prices do not allow an estimate (dynamic pricing, a price not given)."""


class CostEstimate(NamedTuple):
    """USD for one call, with the rates used. A named tuple (immutable, built in one step):
    the reader imports no ``dataclasses`` (issue 29); every field is given."""

    model_id: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    usd: Decimal
    """Total, exact."""
    parts: dict[str, Decimal]
    """USD per part: `input` (uncached prompt), `cached` (cache reads), `output`, `request`."""
    min_prompt_tokens: int | None
    """The long-context rule applied (its `minPromptTokens`), or None for base prices."""
    rule: str
    """`base`, or the rules that set the prices (`utc 16:30-00:30 + minPromptTokens 272000`),
    worded as `catalog cost` words them."""
    notes: list[str]
    """What the caller should know (time-of-day prices without a time, cache reads billed at
    the input price, ...): the same notes as `catalog cost`."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "cachedTokens": self.cached_tokens,
            "usd": str(self.usd),
            "parts": {k: str(v) for k, v in self.parts.items()},
            "minPromptTokens": self.min_prompt_tokens,
            "rule": self.rule,
            "notes": list(self.notes),
        }


def _usd(value: Any) -> Decimal | None:
    if value is None:
        return None
    # Published prices are exact decimal numbers; a float's repr is the shortest string that
    # reads back to it, i.e. the number as published, so this recovers it without rounding.
    if isinstance(value, float):
        # A catalog has a few hundred distinct prices: converting each once takes about a
        # third off an estimate (issue 29). A dict holds -0.0 and 0.0 as one key, and Decimal
        # keeps the sign: zeros are not kept. At most FLOAT_CACHE prices are.
        found = _FLOATS.get(value)
        if found is None or not value:
            found = Decimal(repr(value))
            if value and len(_FLOATS) < FLOAT_CACHE:
                _FLOATS[value] = found
        return found
    return Decimal(value)


FLOAT_CACHE = 4096
_FLOATS: dict[float, Decimal] = {}


def _hhmm(at: time | datetime | str) -> int:
    """HHMM (UTC) of ``at``: a time, an aware or UTC datetime, or ``"HH:MM"``."""
    if isinstance(at, str):
        hours, _, minutes = at.strip().partition(":")
        try:
            moment = time(int(hours), int(minutes or 0))
        except ValueError as exc:
            raise ValueError(f"at: {at!r} is not HH:MM (UTC)") from exc
        return moment.hour * 100 + moment.minute
    if isinstance(at, datetime):
        if at.tzinfo is not None:
            at = at.astimezone(UTC)
        return at.hour * 100 + at.minute
    return at.hour * 100 + at.minute


def _clock(value: int) -> str:
    return f"{value // 100:02d}:{value % 100:02d}"


def _in_window(rule: Mapping[str, Any], at: int) -> bool:
    start, end = rule.get("utcStart"), rule.get("utcEnd")
    if start is None or end is None:
        return False
    if start <= end:
        return bool(start <= at < end)
    return bool(at >= start or at < end)  # the window wraps midnight


def _over(rates: Mapping[str, Any], rule: Mapping[str, Any]) -> dict[str, Any]:
    return {**rates, **{k: v for k, v in rule.items() if v is not None}}


def _apply_rules(
    pricing: Mapping[str, Any],
    input_tokens: int,
    at: time | datetime | str | None,
    applied: list[str],
    notes: list[str],
) -> tuple[Mapping[str, Any], int | None]:
    """(the rates after the time-of-day window and long-context rules of ``pricing`` that
    apply, the threshold applied); the rules applied and the notes are added to the lists."""
    rates: Mapping[str, Any] = pricing
    rules = [r for r in pricing.get("tiers") or () if isinstance(r, Mapping)]

    timed = [r for r in rules if r.get("utcStart") is not None]
    if timed and at is None:
        windows = ", ".join(
            f"{_clock(r['utcStart'])}-{_clock(r.get('utcEnd') or 0)} UTC "
            f"${_usd(_first(r.get('input'), pricing.get('input')))}/"
            f"${_usd(_first(r.get('output'), pricing.get('output')))}"
            for r in timed
        )
        notes.append(f"price varies by time of day ({windows}); base price used — pass --at")
    elif timed and at is not None:
        now = _hhmm(at)
        window = next((r for r in timed if _in_window(r, now)), None)
        if window is not None:
            rates = _over(rates, window)
            applied.append(f"utc {_clock(window['utcStart'])}-{_clock(window.get('utcEnd') or 0)}")
        else:
            notes.append(f"no time-of-day window holds {_clock(now)} UTC; base price used")

    threshold: int | None = None
    reached = [
        r for r in rules if r.get("minPromptTokens") is not None and r.get("utcStart") is None
    ]
    reached = [r for r in reached if input_tokens >= r["minPromptTokens"]]
    if reached:
        rule = max(reached, key=lambda r: int(r["minPromptTokens"]))
        threshold = int(rule["minPromptTokens"])
        rates = _over(rates, rule)
        applied.append(f"minPromptTokens {threshold}")
    return rates, threshold


def estimate_cost(
    model: Mapping[str, Any],
    input_tokens: int,
    output_tokens: int = 0,
    cached_tokens: int = 0,
    *,
    at: time | datetime | str | None = None,
) -> CostEstimate:
    """USD for a call with ``input_tokens`` prompt tokens (``cached_tokens`` of them read from
    the cache) and ``output_tokens`` completion tokens, at ``at`` (UTC time of day).

    ``model`` is a published record (as the ``Registry`` returns it) or its ``pricing``.
    Time-of-day rules (``utcStart``/``utcEnd``): the window holding ``at`` applies; without
    ``at`` the base price is used and a note lists the windows. Long-context rules
    (``minPromptTokens``): the highest threshold the prompt reaches replaces the prices it
    gives. Cache reads without a cache price cost the input price (with a note).
    """
    is_record = "pricing" in model or "id" in model
    model_id = str(model.get("id", "?")) if is_record else "?"
    if input_tokens < 0 or output_tokens < 0 or cached_tokens < 0:
        raise ValueError("token counts must not be negative")
    if cached_tokens > input_tokens:
        raise ValueError(
            f"cached tokens ({cached_tokens}) are part of the prompt and cannot exceed "
            f"input tokens ({input_tokens})"
        )
    pricing: Mapping[str, Any] = (model.get("pricing") or {}) if is_record else model
    if pricing.get("variable"):
        raise CostUnavailable(f"{model_id} is priced dynamically by its router; no estimate")
    if pricing.get("unit") is not None:
        figure = f" at ${_usd(pricing['perUnit'])}" if pricing.get("perUnit") is not None else ""
        unit = pricing["unit"] if pricing["unit"] != "unstated" else "unit not stated upstream"
        raise CostUnavailable(
            f"{model_id} is not billed per token (billed per unit{figure}, {unit}): its cost "
            "cannot be computed from token counts"
        )
    notes: list[str] = []
    applied: list[str] = []
    threshold: int | None = None
    rates: Mapping[str, Any] = pricing  # replaced, never changed, when a rule applies
    if pricing.get("tiers"):
        rates, threshold = _apply_rules(pricing, input_tokens, at, applied, notes)

    uncached = input_tokens - cached_tokens
    parts: dict[str, Decimal] = {}
    # Spelled out part by part (input, cached, output: the order of `parts` and of the
    # errors): the loop it replaces was a fifth of an estimate (issue 29: cost < 5 µs).
    if uncached:
        parts["input"] = _rate(rates.get("input"), model_id, "input") * uncached / MILLION
    if cached_tokens:
        cache_rate = rates.get("cacheRead")
        if cache_rate is None:
            notes.append("no cache-read price published; cached tokens billed at the input price")
            cache_rate = rates.get("input")
        parts["cached"] = _rate(cache_rate, model_id, "cached") * cached_tokens / MILLION
    if output_tokens:
        parts["output"] = _rate(rates.get("output"), model_id, "output") * output_tokens / MILLION
    per_request = pricing.get("perRequest")
    if per_request is not None and (per_request := _usd(per_request)):
        parts["request"] = per_request
    reasoning = pricing.get("reasoning")
    if reasoning is not None and _usd(reasoning) != _usd(rates.get("output")):
        notes.append("reasoning tokens have their own price; counted here as output")
    return CostEstimate(
        model_id,
        input_tokens,
        output_tokens,
        cached_tokens,
        sum(parts.values(), ZERO),
        parts,
        threshold,
        " + ".join(applied) or "base",
        notes,
    )


def _rate(value: Any, model_id: str, part: str) -> Decimal:
    """The Decimal price of one part (``_usd``, the kept prices looked up first)."""
    price = _FLOATS.get(value) if value.__class__ is float else None
    if price is not None and value:
        return price
    price = _usd(value)
    if price is None:
        raise CostUnavailable(f"{model_id} publishes no {part} price")
    return price


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)
