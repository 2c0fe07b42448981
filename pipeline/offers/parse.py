"""One endpoints response → offers.

The documented shape (OpenRouter API reference, "List all endpoints for a model"):
``{"data": {"id", "name", ..., "endpoints": [{"provider_name", "tag", "quantization",
"context_length", "max_completion_tokens", "max_prompt_tokens", "pricing", "status",
"supported_parameters", "uptime_last_5m", "uptime_last_30m", "uptime_last_1d",
"latency_last_30m": {"p50", "p75", "p90", "p99"}, "throughput_last_30m": {...},
"supports_implicit_caching"}]}}``.

Units, as documented: uptime is a **percentage** (successful / (successful + errors) · 100);
latency is time to first token in **milliseconds**; throughput is tokens per second. Latency
and throughput are null without an API key. Defensively, because an upstream change of scale
would silently wreck the scores:

- uptime: when every uptime value in a response lies in [0, 1] it is read as a fraction and
  scaled to percent (a host at 1% uptime in every window is far less likely than one at
  100% written as 1.0); values outside [0, 100] are dropped.
- latency: when every latency percentile in a response is below 10 it is read as seconds (the
  API reference's own example shows ``p50: 0.25``; no time to first token is under 10 ms).

Anything else unexpected (an unknown key, a null, a wrong type) drops that one value or that
one endpoint, never the response.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.printable import identity_problem
from pipeline.publishing import jsonio
from pipeline.records.model import Offer, OfferPriceRange, PriceFields
from pipeline.records.payloads import PayloadError
from pipeline.stages.normalize import NormalizeError, fill_prices

UPTIME_KEYS = ("uptime_last_5m", "uptime_last_30m", "uptime_last_1d")
SECONDS_BELOW = 10.0
# Pricing keys of an endpoint that are not prices (a fraction off, for promotions).
NOT_PRICES = frozenset({"discount"})


@dataclass
class Parsed:
    """Offers of one response and what had to be left out."""

    offers: list[Offer]
    dropped: list[str] = field(default_factory=list)
    """One line per endpoint or value left out, naming it."""
    uptime_scale: str = "percent"
    """`percent` (as documented) or `fraction` (scaled ×100)."""
    latency_unit: str = "ms"
    """`ms` (as documented) or `s` (scaled ×1000)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _count(value: Any) -> int | None:
    number = _number(value)
    if number is None or number <= 0 or number != int(number):
        return None
    return int(number)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _status(value: Any) -> int | str | None:
    # Documented as an integer code; older examples show a word (`"default"`).
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return value


def _percentile(stats: Any, key: str) -> float | None:
    if not isinstance(stats, Mapping):
        return None
    value = _number(stats.get(key))
    return value if value is not None and value >= 0 else None


def _unprintable(*fields: tuple[str, str | None]) -> str | None:
    """Why one of these (field, value) pairs is not printable text, or None."""
    for what, value in fields:
        problem = identity_problem(value, what) if value is not None else None
        if problem is not None:
            return problem
    return None


def endpoints_of(document: Any, where: str) -> list[Any]:
    """The endpoint list of a response; PayloadError naming ``where`` when there is none."""
    # Only the documented envelope (and a bare {"endpoints": [...]}): a model *list* or any
    # other JSON must not be read as endpoints (a proxy answering every path with the
    # catalog would otherwise give each model hundreds of bogus offers).
    data = document.get("data") if isinstance(document, Mapping) else None
    if isinstance(data, Mapping):
        endpoints = data.get("endpoints")
        if endpoints is None:
            return []  # a model page that lists no endpoint right now
        where_list = "data.endpoints"
    elif isinstance(document, Mapping) and "endpoints" in document:
        endpoints, where_list = document.get("endpoints"), "endpoints"
    else:
        shape = type(data).__name__ if data is not None else "missing"
        raise PayloadError(f"{where}: no endpoint list (data is {shape}, not an object)")
    if not isinstance(endpoints, list):
        kind = "null" if endpoints is None else type(endpoints).__name__
        raise PayloadError(f"{where}: no endpoint list ({where_list} is {kind})")
    return endpoints


def _uptime_scale(endpoints: Iterable[Mapping[str, Any]]) -> str:
    values = [v for e in endpoints for k in UPTIME_KEYS if (v := _number(e.get(k))) is not None]
    return "fraction" if values and all(0 <= v <= 1 for v in values) else "percent"


def _latency_unit(endpoints: Iterable[Mapping[str, Any]]) -> str:
    values = [
        v
        for e in endpoints
        for k in ("p50", "p75", "p90", "p99")
        if (v := _percentile(e.get("latency_last_30m"), k)) is not None
    ]
    return "s" if values and all(v < SECONDS_BELOW for v in values) else "ms"


def _pricing(raw: Any, where: str) -> PriceFields:
    prices = PriceFields()
    if not isinstance(raw, Mapping):
        return prices
    clean = {k: v for k, v in raw.items() if k not in NOT_PRICES and isinstance(k, str)}
    # Shared with the model list (exact decimals, per 1M tokens); a negative price marks a
    # dynamically priced endpoint, which has no fixed price to publish.
    if fill_prices(prices, clean, where):
        return PriceFields()
    return prices


def parse_offers(document: Any, model_id: str, *, max_endpoints: int = 200) -> Parsed:
    """Offers of one decoded response for ``model_id``, sorted by provider, tag, quantization."""
    endpoints = endpoints_of(document, model_id)
    usable = [e for e in endpoints[:max_endpoints] if isinstance(e, Mapping)]
    parsed = Parsed(offers=[])
    if len(endpoints) > max_endpoints:
        parsed.dropped.append(f"{model_id}: {len(endpoints) - max_endpoints} endpoints over cap")
    parsed.uptime_scale = _uptime_scale(usable)
    parsed.latency_unit = _latency_unit(usable)
    uptime_factor = 100.0 if parsed.uptime_scale == "fraction" else 1.0
    latency_factor = 1000.0 if parsed.latency_unit == "s" else 1.0

    def uptime(endpoint: Mapping[str, Any], key: str) -> float | None:
        value = _number(endpoint.get(key))
        if value is None:
            return None
        value *= uptime_factor
        return round(value, 4) if 0 <= value <= 100 else None

    def latency(endpoint: Mapping[str, Any], key: str) -> float | None:
        value = _percentile(endpoint.get("latency_last_30m"), key)
        return None if value is None else round(value * latency_factor, 3)

    for index, endpoint in enumerate(endpoints[:max_endpoints]):
        where = f"{model_id}: endpoints[{index}]"
        if not isinstance(endpoint, Mapping):
            parsed.dropped.append(f"{where} is {type(endpoint).__name__}, not an object")
            continue
        provider = _text(endpoint.get("provider_name"))
        if provider is None:
            parsed.dropped.append(f"{where} has no provider_name")
            continue
        tag, quantization = _text(endpoint.get("tag")), _text(endpoint.get("quantization"))
        # The provider name and tag identify the offer (published, shown, keyed on): the same
        # printable-identity rule as model ids (issue 27).
        problem = _unprintable(
            ("provider_name", provider), ("tag", tag), ("quantization", quantization)
        )
        if problem is not None:
            parsed.dropped.append(f"{where}: {problem}")
            continue
        try:
            pricing = _pricing(endpoint.get("pricing"), f"{where}.pricing")
        except NormalizeError as exc:
            parsed.dropped.append(str(exc))
            pricing = PriceFields()
        params = endpoint.get("supported_parameters")
        caching = endpoint.get("supports_implicit_caching")
        throughput = _percentile(endpoint.get("throughput_last_30m"), "p50")
        parsed.offers.append(
            Offer(
                provider=provider,
                tag=tag,
                quantization=quantization,
                pricing=pricing,
                max_context=_count(endpoint.get("context_length")),
                max_output=_count(endpoint.get("max_completion_tokens")),
                max_prompt=_count(endpoint.get("max_prompt_tokens")),
                supported_parameters=sorted(
                    {p for p in params if isinstance(p, str)} if isinstance(params, list) else ()
                ),
                status=_status(endpoint.get("status")),
                uptime_30m=uptime(endpoint, "uptime_last_30m"),
                uptime_1d=uptime(endpoint, "uptime_last_1d"),
                latency_p50_ms=latency(endpoint, "p50"),
                latency_p90_ms=latency(endpoint, "p90"),
                throughput_p50=None if throughput is None else round(throughput, 3),
                implicit_caching=caching if isinstance(caching, bool) else None,
            )
        )
    parsed.offers.sort(key=offer_key)
    return parsed


def parse_response(body: bytes, model_id: str, *, max_endpoints: int = 200) -> Parsed:
    """Offers of one raw response body; PayloadError naming the model when it is unusable."""
    stripped = body.lstrip()
    if not stripped:
        raise PayloadError(f"{model_id}: the endpoints response is empty")
    if stripped[:1] == b"<":
        raise PayloadError(f"{model_id}: the endpoints response is HTML, not JSON")
    try:
        document = jsonio.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"{model_id}: the endpoints response is not JSON ({exc})") from exc
    return parse_offers(document, model_id, max_endpoints=max_endpoints)


def offer_key(offer: Offer) -> tuple[str, str, str, str]:
    """Deterministic order: provider, tag, quantization (case-insensitive), then provider."""
    tag = (offer.tag or "").lower()
    return (offer.provider.lower(), tag, offer.quantization or "", offer.provider)


def price_range(offers: Iterable[Offer]) -> OfferPriceRange | None:
    """Lowest and highest input/output price across ``offers`` (None when none is priced)."""
    inputs: list[Decimal] = []
    outputs: list[Decimal] = []
    priced = 0
    for offer in offers:
        if offer.pricing.input is None and offer.pricing.output is None:
            continue
        priced += 1
        if offer.pricing.input is not None:
            inputs.append(offer.pricing.input)
        if offer.pricing.output is not None:
            outputs.append(offer.pricing.output)
    if not priced:
        return None
    return OfferPriceRange(
        input_min=min(inputs) if inputs else None,
        input_max=max(inputs) if inputs else None,
        output_min=min(outputs) if outputs else None,
        output_max=max(outputs) if outputs else None,
        priced_offers=priced,
    )
