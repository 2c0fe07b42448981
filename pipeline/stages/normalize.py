"""Upstream record → one normalized shape, before flags, aliases and lifecycle are decided.

Prices: upstream gives USD per token as decimal strings (``"0.0000000833333333333333"``); we
publish USD per 1M tokens computed with exact Decimal arithmetic, so ``2.5`` is exactly
``"0.0000025" × 1,000,000`` and never ``2.4999999999999996``.

Two exceptions, both about what the upstream figure *means*:

- **Float noise** (``"0.00000020000000000000002"``, Together's ``1.0399999999999998``) is a
  binary float printed in full by the upstream: ``clean_noise`` replaces it by the shortest
  decimal within 1e-12 relative. Only figures with the noise signature (15+ significant digits
  ending in a run of six or more 0s or 9s and one to three stray digits) are touched, so a
  real long price such as ``0.0000000833333333333333`` stays exact. The raw snapshot keeps the
  original.
- **Units**: speech and transcription models that the feed prices with a lone ``prompt``
  figure, completion absent or 0 (whisper-1 ``"0.006"``, deepgram/nova-3 ``"0.0043"``), are
  billed per minute, second or character, not per token: ×1M would publish $6,000 per 1M
  tokens. Their figure is kept as given in ``pricing.perUnit`` with ``unit: unstated`` (the
  feed does not say which unit), and no token price is published. Speech/transcription
  models priced per token state both ``prompt`` and ``completion`` (gpt-4o-transcribe,
  gemini-3.1-flash-tts) and stay per token. The same rule reads every provider list
  (Together's ``cartesia/sonic`` "65" per 1M characters, Groq's Orpheus), whose cached-input
  figure then moves to ``pricing.other`` in the same unit.
- **Zero that is not free**: video, image, rerank and music models list prompt = completion
  = "0" while every call costs money per second, image, search or clip. A published token
  price of 0 means free, so those zeros are dropped (``pricing.unit: unstated`` when no other
  figure is left); only an OpenRouter ``:free`` id keeps its 0 (it is free).
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard

from pipeline.printable import identity_problem
from pipeline.publishing.jsonio import to_decimal_number
from pipeline.records.base import ParameterValue, trusted
from pipeline.records.model import (
    BenchmarkSummary,
    Modalities,
    OpenWeights,
    PerRequestLimits,
    PriceFields,
    PriceTierRule,
    Pricing,
    SourceRef,
)
from pipeline.records.payloads import OpenRouterModel
from pipeline.timeutil import parse_iso

PER_MILLION = Decimal(1_000_000)

# Upstream price key → (our field, scaled to per 1M tokens?). Per-unit prices (per request,
# per image, per search) are published as given.
PRICE_KEYS: dict[str, tuple[str, bool]] = {
    "prompt": ("input", True),
    "completion": ("output", True),
    "input_cache_read": ("cache_read", True),
    "input_cache_write": ("cache_write", True),
    "input_cache_write_1h": ("cache_write_1h", True),
    "internal_reasoning": ("reasoning", True),
    "audio": ("audio_input", True),
    "input_audio_cache": ("audio_cache_read", True),
    "audio_output": ("audio_output", True),
    "image_token": ("image_token", True),
    "image_output": ("image_output", True),
    "request": ("per_request", False),
    "image": ("per_image", False),
    "web_search": ("web_search", False),
}
RULE_CONDITIONS = ("min_prompt_tokens", "utc_start", "utc_end")

# Sanity bounds (issue 12): a value outside them quarantines its record instead of sinking the
# run (Decimal arithmetic on "1e22" per token overflows the context) or being published.
DYNAMIC_PRICE = Decimal(-1)
"""OpenRouter's marker for a dynamically priced router; the only negative price accepted."""
MAX_PRICE = Decimal(1000)
"""USD per token or per unit: $1,000 per token is 10⁹ per 1M tokens; nothing real is near."""
MIN_PRICE = Decimal("1e-30")
"""Smaller non-zero prices are not prices (and would print with thirty zeros)."""
MAX_PRICE_CHARS = 100
MAX_TOKENS = 10**9
"""Context and output limits above a billion tokens are garbage, not models."""
MAX_CREATED = 4_102_444_800
"""2100-01-01 in Unix seconds: a later `created` is garbage."""

# The 2024 feed had only a `modality` string; these are the values it used.
LEGACY_MODALITY = {"text": (["text"], ["text"]), "multimodal": (["text", "image"], ["text"])}


class NormalizeError(ValueError):
    """A record cannot be normalized; the message says which field and why."""


@dataclass(slots=True)
class Normalized:
    """A model in our shape, with the raw signals later stages decide from."""

    id: str
    name: str
    provider: str
    family: str
    created: int | None
    canonical_slug: str | None
    alias_target: str | None
    max_context: int | None
    max_output: int | None
    modalities: Modalities
    pricing: Pricing
    supported_parameters: list[str] | None
    """None when the feed did not say (2024 schema), [] when it said "none"."""
    knowledge_cutoff: str | None
    expires_at: str | None
    tokenizer: str | None = None
    benchmarks: BenchmarkSummary | None = None
    """Compact summary of the feed's `benchmarks` (see summarize_benchmarks)."""
    reasoning_mandatory: bool | None = None
    """The feed's `reasoning.mandatory` (schema since 2026-06): reasoning always on."""
    sources: list[SourceRef] = field(default_factory=list)
    modalities_given: bool = True
    """False when the feed said nothing about modalities and text → text was assumed: the
    capability resolver then has no API signal for kind, vision or image output."""
    inputs_given: bool = True
    """False when only the output side was stated (Together's `type: chat`): no API signal
    for vision then."""
    reasoning_stated: str | None = None
    """Evidence when a provider list itself says the model reasons (Gemini `thinking: true`)."""
    cites: dict[str, str] = field(default_factory=dict)
    """Fact → the raw field that states it (``NativeModel.cites``; for OpenRouter
    ``architecture.input_modalities`` and the like): the first words of an ``api`` flag's
    evidence. A fact with no field is no API signal."""
    rules: dict[str, str] = field(default_factory=dict)
    """Fact → the adapter's rule that gave it without a field (``NativeModel.rules``): a
    ``heuristic`` signal."""
    description: str | None = None
    default_parameters: dict[str, ParameterValue] | None = None
    open_weights: OpenWeights | None = None
    per_request_limits: PerRequestLimits | None = None
    supported_voices: list[str] | None = None
    links: dict[str, str] | None = None


def _mandatory(reasoning: dict[str, Any] | None) -> bool | None:
    value = reasoning.get("mandatory") if isinstance(reasoning, dict) else None
    return value if isinstance(value, bool) else None


def variant_base(model_id: str) -> str:
    """``z-ai/glm-4.6:exacto`` → ``z-ai/glm-4.6`` (ids without a tag are their own base)."""
    return model_id.split(":", 1)[0]


def variant_tag(model_id: str) -> str:
    """``z-ai/glm-4.6:exacto`` → ``exacto``; ``""`` for an id without a tag."""
    return model_id.split(":", 1)[1] if ":" in model_id else ""


def family_of(model_id: str) -> str:
    """Vendor prefix of an id (``~anthropic/claude-opus-latest`` → ``anthropic``)."""
    head = model_id.split("/", 1)[0] if "/" in model_id else model_id.split(":", 1)[0]
    return head.lstrip("~").lower()


def parse_price(value: Any, where: str) -> Decimal:
    """A price from the feed: a decimal string (or, rarely, a JSON number).

    Values, not verdicts (issue 12): anything but a finite number within a sane range is a
    NormalizeError for this record; ``-0`` is ``0``; ``-1`` is returned as is (the dynamic
    price marker, see :data:`DYNAMIC_PRICE`) and any other negative price is an error.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise NormalizeError(f"{where} is {type(value).__name__}, not a price")
    text = str(value).strip()
    if len(text) > MAX_PRICE_CHARS:
        raise NormalizeError(f"{where} is {len(text)} characters long, not a price")
    try:
        price = Decimal(text)
    except InvalidOperation as exc:
        raise NormalizeError(f"{where} is not a number: {text[:40]!r}") from exc
    if not price.is_finite():
        raise NormalizeError(f"{where} is not a finite number: {text[:40]!r}")
    if price.is_zero():
        return Decimal(0)  # "-0", "0E-12": one zero, published as 0
    if price == DYNAMIC_PRICE:
        return price
    if price < 0:
        raise NormalizeError(f"{where} is negative ({text[:40]}); only -1 marks a router")
    if not MIN_PRICE <= price <= MAX_PRICE:
        raise NormalizeError(f"{where} is out of range: {text[:40]}")
    return price


NOISE_DIGITS = 15
_NOISE_TAIL = re.compile(r"(0{6,}|9{6,})\d{1,3}$")
NOISE_TOLERANCE = Decimal("1e-12")


def clean_noise(value: Decimal) -> Decimal:
    """``value`` without binary-float noise (see the module docstring); others unchanged."""
    digits = f"{abs(value):f}".replace(".", "").lstrip("0")
    if len(digits) < NOISE_DIGITS or not _NOISE_TAIL.search(digits):
        return value
    for places in range(1, len(digits)):
        shorter = Decimal(f"{value:.{places}e}")
        if abs(shorter - value) <= NOISE_TOLERANCE * abs(value):
            return to_decimal_number(shorter)
    return value


# Outputs billed per minute / second / character when the feed gives a lone prompt figure.
UNIT_PRICED_OUTPUTS = frozenset({"speech", "transcription"})
TOKEN_OUTPUTS = frozenset({"text", "embeddings", "embedding"})


def price_in_units(pricing: Pricing, modalities: Modalities, model_id: str = "") -> Pricing:
    """Pricing as billed (see the module docstring): a speech/transcription model's lone
    ``prompt`` figure as a per-unit price (with ``cache_read`` kept in ``other`` in the same
    unit); a model whose output is not priced per token and whose only token prices are 0
    without the token prices it is not billed by; every other pricing unchanged."""
    outputs = set(modalities.output)
    if pricing.variable:
        return pricing
    if (
        outputs & UNIT_PRICED_OUTPUTS
        and not outputs & TOKEN_OUTPUTS
        and pricing.input
        and not pricing.output
    ):
        # A completion price of 0 is "not billed that way", not a per-token price of 0.
        update: dict[str, Any] = {
            "input": None,
            "output": None,
            "per_unit": to_decimal_number(pricing.input / PER_MILLION),
            "unit": "unstated",
        }
        if pricing.cache_read is not None:
            # Groq's cached-input figure of a TTS model is per character like its input.
            other = dict(pricing.other)
            other["input_cache_read"] = to_decimal_number(pricing.cache_read / PER_MILLION)
            update.update(cache_read=None, other=dict(sorted(other.items())))
        return pricing.model_copy(update=update)
    not_per_token = outputs - TOKEN_OUTPUTS
    zero_tokens = (pricing.input is not None or pricing.output is not None) and not (
        pricing.input or pricing.output
    )
    if not_per_token and zero_tokens and not model_id.endswith(":free"):
        # Video, image, rerank and music models list prompt = completion = "0": they are
        # billed per second / image / search / clip, not free per token (2026-08-19:
        # alibaba/happyhorse-1.0, black-forest-labs/flux.2-max, cohere/rerank-4-pro). Only an
        # OpenRouter `:free` id is really free at 0.
        update = {"input": None, "output": None}
        if not _other_prices(pricing):
            update["unit"] = "unstated"  # nothing says what a call costs, or per what
        return pricing.model_copy(update=update)
    return pricing


def _other_prices(pricing: Pricing) -> bool:
    """Whether a price other than the input/output token prices is above 0."""
    fields = pricing.model_dump(exclude={"input", "output", "variable", "tiers", "unit", "other"})
    return any(v for v in fields.values()) or any(pricing.other.values()) or bool(pricing.tiers)


def fill_prices(target: PriceFields, prices: dict[str, Any], where: str) -> bool:
    """Copy upstream price keys onto ``target``; return True if any was negative (dynamic)."""
    fields, other, negative = read_prices(prices, where)
    for name, value in fields.items():
        setattr(target, name, value)
    target.other.update(other)
    return negative


def read_prices(
    prices: dict[str, Any], where: str
) -> tuple[dict[str, Decimal], dict[str, Decimal], bool]:
    """Upstream price keys → (our price fields, unknown keys for ``other``, any negative?).

    Both dicts keep the feed's key order. A dynamic price (-1) is left out and reported by
    the flag: OpenRouter reports -1 for dynamically priced routers, no fixed price exists.
    """
    fields: dict[str, Decimal] = {}
    other: dict[str, Decimal] = {}
    negative = False
    for key, value in prices.items():
        if key == "overrides" or key in RULE_CONDITIONS or value is None:
            continue
        mapped = PRICE_KEYS.get(key)
        per_token = mapped is not None and mapped[1]
        if type(value) is str:
            try:
                price = _published_price(value, per_token)
            except NormalizeError:
                # Parsed again to name the field: the cached parse does not know it.
                parse_price(value, f"{where}.{key}")
                raise
        else:
            price = _publishable(parse_price(value, f"{where}.{key}"), per_token)
        if price is None:
            negative = True
        elif mapped is None:
            other[key] = price
        else:
            fields[mapped[0]] = price
    return fields, other, negative


@functools.lru_cache(maxsize=4096)
def _published_price(text: str, per_token: bool) -> Decimal | None:
    """The published figure of a feed price string (None for the dynamic marker -1).

    Cached: a catalog repeats the same few hundred price strings thousands of times, and
    parsing, noise cleaning and scaling are pure functions of the string. Raises
    NormalizeError (naming no field) for a string that is not a price."""
    return _publishable(parse_price(text, "price"), per_token)


def _publishable(price: Decimal, per_token: bool) -> Decimal | None:
    """A parsed feed price as published: noise cleaned, per 1M tokens when ``per_token``;
    None for the dynamic marker."""
    if price == DYNAMIC_PRICE:
        return None
    price = clean_noise(price)
    return to_decimal_number(price * PER_MILLION if per_token else price)


def normalize_pricing(raw: dict[str, Any] | None) -> Pricing:
    """Upstream ``pricing`` → Pricing (USD per 1M tokens; missing keys stay absent)."""
    if not raw:
        return trusted(Pricing, {})
    if not isinstance(raw, dict):
        raise NormalizeError(f"pricing is {type(raw).__name__}, not an object")
    fields, other, negative = read_prices(raw, "pricing")
    if negative:
        return trusted(Pricing, {"variable": True})
    # Built from values read_prices checked: no second validation per record (issue 29).
    pricing = trusted(Pricing, {**fields, "other": other})
    rules = raw.get("overrides") or []
    if not isinstance(rules, list):
        raise NormalizeError("pricing.overrides is not a list")
    for index, rule in enumerate(rules):
        where = f"pricing.overrides[{index}]"
        if not isinstance(rule, dict):
            raise NormalizeError(f"{where} is not an object")
        conditions: dict[str, int] = {}
        for key in RULE_CONDITIONS:
            if rule.get(key) is not None:
                try:
                    conditions[key] = int(rule[key])
                except (TypeError, ValueError) as exc:
                    raise NormalizeError(f"{where}.{key} is not an integer") from exc
        if not conditions:
            raise NormalizeError(f"{where} has no condition (min_prompt_tokens or utc_start)")
        fields, other, _ = read_prices(rule, where)
        pricing.tiers.append(trusted(PriceTierRule, {**conditions, **fields, "other": other}))
    return pricing


def _modalities(model: OpenRouterModel) -> Modalities:
    arch = model.architecture
    if arch.input_modalities is not None or arch.output_modalities is not None:
        return trusted(
            Modalities,
            {
                "input": list(arch.input_modalities or []),
                "output": list(arch.output_modalities or []),
            },
        )
    modality = (arch.modality or "").strip().lower()
    if "->" in modality:
        left, right = modality.split("->", 1)
        return Modalities(
            input=[m for m in left.split("+") if m], output=[m for m in right.split("+") if m]
        )
    if modality in LEGACY_MODALITY:
        inputs, outputs = LEGACY_MODALITY[modality]
        return Modalities(input=list(inputs), output=list(outputs))
    # Unknown or missing: the feed was a text-chat catalog before modalities existed.
    return Modalities(input=["text"], output=["text"])


def _cites(model: OpenRouterModel) -> dict[str, str]:
    """Which raw field of an OpenRouter record states each fact (``Normalized.cites``)."""
    arch = model.architecture
    cites = {"id": "id", "tokenizer": "architecture.tokenizer"}
    if arch.input_modalities is not None:
        cites["inputs"] = "architecture.input_modalities"
    if arch.output_modalities is not None:
        cites["outputs"] = "architecture.output_modalities"
    if arch.input_modalities is None and arch.output_modalities is None and arch.modality:
        # The 2024 feed: one `modality` string ("text+image->text").
        cites["inputs"] = cites["outputs"] = "architecture.modality"
    if model.supported_parameters is not None:
        cites.update(dict.fromkeys(("tools", "structured", "reasoning"), "supported_parameters"))
    if model.pricing is not None:
        cites["pricing"] = "pricing"
    return cites


def _modalities_given(model: OpenRouterModel) -> bool:
    arch = model.architecture
    if arch.input_modalities is not None or arch.output_modalities is not None:
        return True
    modality = (arch.modality or "").strip().lower()
    return "->" in modality or modality in LEGACY_MODALITY


def _positive(value: int | None) -> int | None:
    return value if value is not None and value > 0 else None


def _iso_date(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    try:
        parse_iso(value)  # lifecycle compares it with the clock: garbage must stop here
    except ValueError as exc:
        raise NormalizeError(f"expiration_date is not a date: {value[:40]!r}") from exc
    return f"{value}T00:00:00Z" if len(value) == 10 else value


def _is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, with the feed's plain dicts decided without the ABC's
    slower check (seven per record, issue 29)."""
    return type(value) is dict or isinstance(value, Mapping)


def _score(value: Any) -> TypeGuard[int | float]:
    """A usable benchmark figure: a finite number of sane size (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and abs(value) <= MAX_SCORE


MAX_SCORE = 1e6


def summarize_benchmarks(raw: Mapping[str, Any] | None) -> BenchmarkSummary | None:
    """The feed's ``benchmarks`` object → the compact summary published in current.json."""
    if not _is_mapping(raw):
        return None
    values: dict[str, float | int] = {}
    analysis = raw.get("artificial_analysis")
    if _is_mapping(analysis):
        for key in ("intelligence_index", "coding_index", "agentic_index"):
            value = analysis.get(key)
            # null means "not measured" upstream; bools are not numbers here.
            if _score(value):
                values[key] = float(value)
    arena = raw.get("design_arena")
    if isinstance(arena, list):
        elos = [
            float(elo)
            for entry in arena
            if _is_mapping(entry)
            for elo in (entry.get("elo"),)
            if _score(elo)
        ]
        if elos:
            values["design_arena_elo"] = round(sum(elos) / len(elos), 1)
            values["design_arena_entries"] = len(elos)
    # Built from checked numbers, without validating them again (issue 29).
    return trusted(BenchmarkSummary, values) if values else None


# Bounds on the free-form facts copied into every record: a hostile or broken feed must not
# make one record (and so the catalog and every reader) arbitrarily large.
MAX_DESCRIPTION = 8_000
MAX_LIST_ITEMS = 500
MAX_SHORT_TEXT = 500


def default_parameters(raw: Any) -> dict[str, ParameterValue] | None:
    """The feed's ``default_parameters`` with only the keys that carry a value (the feed lists
    ``temperature: null`` & co. for models it serves without a default); None when none do."""
    if not _is_mapping(raw):
        return None
    out: dict[str, ParameterValue] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key or len(key) > 100:
            continue
        if isinstance(value, bool | int | str) or (
            isinstance(value, float) and math.isfinite(value)
        ):
            out[key] = value[:MAX_SHORT_TEXT] if isinstance(value, str) else value
        elif isinstance(value, Decimal) and value.is_finite():
            out[key] = float(value)
    return dict(sorted(out.items())) or None


def per_request_limits(raw: Any) -> PerRequestLimits | None:
    """``per_request_limits`` (token counts, as numbers or decimal strings) → typed limits."""
    if not _is_mapping(raw):
        return None
    limits: dict[str, int] = {}
    for key in ("prompt_tokens", "completion_tokens"):
        value = raw.get(key)
        try:
            number = int(str(value).strip()) if value is not None else None
        except ValueError:
            number = None
        if number is not None and number > 0 and not isinstance(value, bool):
            limits[key] = number
    return trusted(PerRequestLimits, limits) if limits else None


def _strings(raw: Any) -> list[str] | None:
    if not isinstance(raw, list):
        return None
    out = [v[:MAX_SHORT_TEXT] for v in raw[:MAX_LIST_ITEMS] if isinstance(v, str) and v]
    return out or None


def _links(raw: Any) -> dict[str, str] | None:
    if not _is_mapping(raw):
        return None
    out = {
        k: v[:MAX_SHORT_TEXT]
        for k, v in list(raw.items())[:MAX_LIST_ITEMS]
        if isinstance(k, str) and isinstance(v, str) and v
    }
    return dict(sorted(out.items())) or None


def _text(raw: str | None, limit: int) -> str | None:
    text = raw.strip() if isinstance(raw, str) else ""
    return text[:limit] or None


def check_identity(model_id: str, name: str | None) -> None:
    """An id or name that is not printable text quarantines its record (issue 27): over
    ``MAX_ID_CHARS``, or holding a control character, a bidi control or NUL. Every source
    path calls it: OpenRouter's records here, every provider adapter's (pinned manifests
    included) in ``pipeline.runs.provider_source``."""
    for what, value in (("id", model_id), ("name", name)):
        problem = identity_problem(value, what) if value is not None else None
        if problem is not None:
            raise NormalizeError(problem)


def _check_ranges(model: OpenRouterModel) -> None:
    """Numbers a record cannot sensibly carry quarantine it, naming the field."""
    for where, value, top in (
        ("context_length", model.context_length, MAX_TOKENS),
        ("top_provider.context_length", model.top_provider.context_length, MAX_TOKENS),
        (
            "top_provider.max_completion_tokens",
            model.top_provider.max_completion_tokens,
            MAX_TOKENS,
        ),
        ("created", model.created, MAX_CREATED),
    ):
        if value is not None and value > top:
            raise NormalizeError(f"{where} is out of range: {str(value)[:40]}")


def normalize_openrouter(model: OpenRouterModel) -> Normalized:
    """One OpenRouter record → Normalized. Raises NormalizeError for unusable records."""
    check_identity(model.id, model.name)
    _check_ranges(model)
    modalities = _modalities(model)
    pricing = price_in_units(normalize_pricing(model.pricing), modalities, model.id)
    alias_target = model.alias_target.slug if model.alias_target else None
    return Normalized(
        id=model.id,
        name=(model.name or model.id).strip(),
        provider="openrouter",
        family=family_of(model.id),
        created=_positive(model.created),
        canonical_slug=model.canonical_slug or None,
        alias_target=alias_target,
        max_context=_positive(model.context_length) or _positive(model.top_provider.context_length),
        max_output=_positive(model.top_provider.max_completion_tokens),
        modalities=modalities,
        pricing=pricing,
        # Interned: the same ~60 parameter names repeat in every record of a 100k catalog.
        supported_parameters=(
            sorted({sys.intern(p) for p in model.supported_parameters})
            if model.supported_parameters is not None
            else None
        ),
        knowledge_cutoff=model.knowledge_cutoff or None,
        expires_at=_iso_date(model.expiration_date),
        tokenizer=model.architecture.tokenizer,
        # Summarized here: the raw benchmark blobs would otherwise stay alive, a few KB per
        # model, for the whole run.
        benchmarks=summarize_benchmarks(model.benchmarks),
        reasoning_mandatory=_mandatory(model.reasoning),
        sources=[trusted(SourceRef, {"source": "openrouter", "native_id": model.id})],
        modalities_given=_modalities_given(model),
        cites=_cites(model),
        description=_text(model.description, MAX_DESCRIPTION),
        default_parameters=default_parameters(model.default_parameters),
        # An empty hugging_face_id says nothing either way (closed models and open ones the
        # feed has no repository for look the same), so only a named repository counts.
        open_weights=(
            trusted(OpenWeights, {"hugging_face_id": hf})
            if (hf := _text(model.hugging_face_id, MAX_SHORT_TEXT))
            else None
        ),
        per_request_limits=per_request_limits(model.per_request_limits),
        supported_voices=_strings(model.supported_voices),
        links=_links(model.links),
    )
