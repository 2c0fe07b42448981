"""Scores and rank of every active chat/image model (DESIGN.md §5, issue 5).

Each score is in [0, 1] and records its source:

    quality      quality-scores.json override → the feed's benchmarks (normalized across the
                 catalog) → price-tier heuristic → 0.5 default
    reliability  telemetry (`verification.servedLowerBound`, enough calls) → endpoints (best
                 offer's uptime, 1 day then 30 minutes) → lifecycle history (`:free` variants
                 capped at 0.5) → 0.5 default
    latency      telemetry (`verification.latencyP50Ms`, enough calls) → endpoints (best
                 offers' p50 time to first token and throughput) → name heuristic
                 (flash/mini/haiku/lite/nano/turbo) → default
    cost         free = 1.0; else log-scaled price per 1M across the catalog; variable = 0.5

    rank = quality·wq + reliability·wr + latency·wl + cost·wc   (weights from config)

Everything here works from published ``ModelRecord`` fields only, so a curated recalculation
can run from ``current.json`` alone.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pipeline.config import CurationConfig, CurationWeights
from pipeline.overrides.files import QualityScore
from pipeline.overrides.patterns import compile_pattern
from pipeline.records.base import PriceTier
from pipeline.records.curated import Score, Scores
from pipeline.records.model import BenchmarkSummary, ModelRecord
from pipeline.stages.health import Health, HealthRanges, catalog_health
from pipeline.stages.normalize import variant_base
from pipeline.timeutil import parse_iso

DEFAULT = 0.5
"""Neutral value when nothing is known (issue 5: "else 0.5 (`default`)")."""

VARIABLE_COST = 0.5
"""Cost score of a dynamically priced router: its price depends on the model it routes to, so
it is neither cheap nor dear — the same neutral value as "unknown"."""

PAID_COST_CEILING = 0.95
"""The cheapest paid model scores this, so a free model (1.0) always scores higher."""

# Quality when a model has no override and no benchmark: the market's own signal, its price
# tier (DESIGN.md §5 tiers). Vendors price their stronger models higher; the spread is kept
# narrow (0.4-0.7) because price is a weak proxy; the values are a judgement call, ordered by
# tier. Free/variable/unknown say nothing → default.
QUALITY_BY_TIER: dict[PriceTier, float] = {
    "premium": 0.70,
    "pro": 0.65,
    "standard": 0.55,
    "budget": 0.40,
}

# Reliability from lifecycle history: (minimum days listed, score), first match wins. A model
# that changed state within the flap window (it went stale/deprecated and came back) scores
# FLAPPED. Steps follow DESIGN.md §5's lifecycle clock: 7 days is the flap window, 30 days the
# removal horizon, 90 days one quarter of uninterrupted service. The values are a judgement
# call (ordered by age, all above a flap) until telemetry (a later issue) replaces them.
RELIABILITY_BY_AGE: tuple[tuple[int, float], ...] = ((90, 0.90), (30, 0.80), (7, 0.65), (0, 0.40))
FLAPPED = 0.30
# `:free` variants are rate-limited and "may disappear abruptly" (the design note's known
# gotchas), so however long they have been listed they score no better than neutral.
FREE_VARIANT_CAP = 0.50

# Latency heuristic: the vendors' own names for their small, fast tiers (issue 5). The values
# below are a judgement call, ordered fast > unknown > always-reasoning > batch, until telemetry.
FAST_TOKENS = ("flash", "mini", "haiku", "lite", "nano", "turbo")
FAST_RE = re.compile(r"(?:^|[-_.\s/])(" + "|".join(FAST_TOKENS) + r")(?:$|[-_.\s:])")
FAST = 0.85
# `:batch` variants go through the asynchronous batch API (results within hours, not seconds).
BATCH = 0.05
# A model that always reasons before answering (reasoning `fixed`) answers later.
ALWAYS_THINKS = 0.35

# Blended price per 1M tokens: 3 input : 1 output, the mix Artificial Analysis uses for its
# "blended price" — typical chat traffic reads more than it writes.
BLEND_INPUT, BLEND_OUTPUT = Decimal(3), Decimal(1)

# Benchmark metrics, each min-max normalized over the scored catalog, averaged. Artificial
# Analysis indices aggregate many evaluations, so when a model has any of them they decide;
# Design Arena Elo (human votes on web/visual design output) is used only for models without
# them — most image generators and a few chat models.
ANALYSIS_METRICS = ("intelligence_index", "coding_index", "agentic_index")
ARENA_METRICS = ("design_arena_elo",)
BENCHMARK_METRICS = ANALYSIS_METRICS + ARENA_METRICS

SCORED_KINDS = ("chat", "image")


def is_scored(record: ModelRecord) -> bool:
    """Active chat/image models are scored; routers, embeddings, speech, ... are not."""
    return record.lifecycle.state == "active" and record.kind in SCORED_KINDS


@dataclass(frozen=True)
class Ranked:
    """A scored model."""

    record: ModelRecord
    scores: Scores
    rank: float


def weighted_rank(scores: Scores, weights: CurationWeights) -> float:
    """The rank: weighted sum of the (published, rounded) score values."""
    total = (
        scores.quality.value * weights.quality
        + scores.reliability.value * weights.reliability
        + scores.latency.value * weights.latency
        + scores.cost.value * weights.cost
    )
    return round(total, 6)


def _score(value: float, source: Any, detail: str | None = None) -> Score:
    return Score(value=round(min(1.0, max(0.0, value)), 4), source=source, detail=detail)


# -- quality -----------------------------------------------------------------------------------


def _override_for(model_id: str, entries: Sequence[QualityScore]) -> QualityScore | None:
    for candidate in (model_id, variant_base(model_id)):
        for entry in entries:
            if entry.match == candidate or (
                entry.pattern is not None and compile_pattern(entry.pattern).search(candidate)
            ):
                return entry
    return None


def _benchmarks_of(
    record: ModelRecord, by_id: Mapping[str, ModelRecord]
) -> BenchmarkSummary | None:
    """A variant without its own benchmarks inherits its base model's (same weights)."""
    if record.benchmarks is not None:
        return record.benchmarks
    base = by_id.get(variant_base(record.id))
    return base.benchmarks if base is not None else None


def _ranges(
    records: Sequence[ModelRecord], by_id: Mapping[str, ModelRecord]
) -> dict[str, tuple[float, float]]:
    values: dict[str, list[float]] = {metric: [] for metric in BENCHMARK_METRICS}
    for record in records:
        bench = _benchmarks_of(record, by_id)
        if bench is None:
            continue
        for metric in BENCHMARK_METRICS:
            value = getattr(bench, metric)
            if value is not None:
                values[metric].append(value)
    return {m: (min(v), max(v)) for m, v in values.items() if v}


def quality_score(
    record: ModelRecord,
    by_id: Mapping[str, ModelRecord],
    ranges: Mapping[str, tuple[float, float]],
    overrides: Sequence[QualityScore],
) -> Score:
    entry = _override_for(record.id, overrides)
    if entry is not None:
        return _score(
            entry.quality, "override", f"quality-scores.json ({entry.as_of}): {entry.note}"
        )
    bench = _benchmarks_of(record, by_id)
    if bench is not None:
        parts: list[float] = []
        shown: list[str] = []
        has_analysis = any(getattr(bench, m) is not None for m in ANALYSIS_METRICS)
        for metric in ANALYSIS_METRICS if has_analysis else ARENA_METRICS:
            value = getattr(bench, metric)
            if value is None or metric not in ranges:
                continue
            low, high = ranges[metric]
            parts.append(1.0 if high == low else (value - low) / (high - low))
            shown.append(f"{metric} {value:g}")
        if parts:
            detail = ", ".join(shown) + " (min-max normalized over the catalog, averaged)"
            return _score(sum(parts) / len(parts), "benchmarks", detail)
    tier = record.price_tier
    if record.is_free and variant_base(record.id) in by_id and variant_base(record.id) != record.id:
        tier = by_id[variant_base(record.id)].price_tier  # a :free variant is its base model
    if tier in QUALITY_BY_TIER:
        return _score(QUALITY_BY_TIER[tier], "heuristic", f"price tier {tier}")
    return _score(DEFAULT, "default", "no override, benchmark or price tier to go by")


# -- reliability -------------------------------------------------------------------------------


def reliability_score(
    record: ModelRecord,
    now: datetime,
    flap_window_days: int,
    parse: Callable[[str], datetime] = parse_iso,
) -> Score:
    """``parse``: how the lifecycle's stamps are read (``rank_catalog`` reads each distinct
    stamp once: most models share their first-seen time)."""
    life = record.lifecycle
    first_seen = parse(life.first_seen)
    state_since = parse(life.state_since)
    if state_since > first_seen and now - state_since < timedelta(days=flap_window_days):
        return _score(FLAPPED, "lifecycle", f"changed state on {life.state_since[:10]} (flapping)")
    since = first_seen
    if record.created is not None:
        since = min(since, datetime.fromtimestamp(record.created, tz=now.tzinfo))
    if since >= now:
        return _score(DEFAULT, "default", "no lifecycle history yet")
    days = (now - since).days
    value = next(v for minimum, v in RELIABILITY_BY_AGE if days >= minimum)
    if record.id.endswith(":free") and value > FREE_VARIANT_CAP:
        return _score(
            FREE_VARIANT_CAP, "heuristic", f"listed for {days} days; :free variant (rate-limited)"
        )
    return _score(value, "lifecycle", f"listed for {days} days without flapping")


def reliability_from_endpoints(
    record: ModelRecord, measured: Mapping[str, Health], ranges: HealthRanges
) -> Score | None:
    """Reliability from the best offer's measured uptime (pipeline.stages.health), or None
    when OpenRouter measured none for the model."""
    found = measured.get(record.id)
    if found is None or found.uptime is None:
        return None
    value = ranges.reliability(found.uptime)
    detail = (
        f"uptime {found.uptime_window} {found.uptime:g}% (best of {found.offers} offers; "
        "log-scaled unavailability over the catalog)"
    )
    if record.id.endswith(":free") and value > FREE_VARIANT_CAP:
        return _score(FREE_VARIANT_CAP, "endpoints", f"{detail}; :free variant (rate-limited)")
    return _score(value, "endpoints", detail)


# -- latency -----------------------------------------------------------------------------------


def latency_from_endpoints(
    record: ModelRecord, measured: Mapping[str, Health], ranges: HealthRanges
) -> Score | None:
    """Latency from the best offers' p50 time to first token and p50 throughput, each
    log-scaled over the catalog and averaged; None without measurements."""
    found = measured.get(record.id)
    value = ranges.latency(found) if found is not None else None
    if found is None or value is None:
        return None
    shown = []
    if found.latency_ms is not None:
        shown.append(f"p50 time to first token {found.latency_ms:g} ms")
    if found.throughput is not None:
        shown.append(f"p50 throughput {found.throughput:g} tok/s")
    detail = ", ".join(shown) + " (best offers; log-scaled over the catalog)"
    return _score(value, "endpoints", detail)


def latency_score(record: ModelRecord) -> Score:
    name = record.id.split("/", 1)[-1].lower()
    if name.endswith(":batch"):
        return _score(BATCH, "heuristic", "batch API variant (asynchronous)")
    match = FAST_RE.search(name)
    if match is not None:
        return _score(FAST, "heuristic", f"fast tier name ({match.group(1)})")
    if record.reasoning == "fixed":
        return _score(ALWAYS_THINKS, "heuristic", "always reasons before answering")
    return _score(DEFAULT, "default", "no telemetry or name hint")


# -- telemetry (issue 17) ----------------------------------------------------------------------
#
# Measured scores from the record's `verification` (the daily verification's figures over its
# window). Each returns None when the model has too few calls, so callers compose sources in
# order of authority: `telemetry_reliability(r) or <next source>(r)`.

TELEMETRY_MIN_CALLS = 50
"""Calls in the verification window before measured figures replace the estimates: with 50
calls the Wilson bound of a perfect record is 0.93, close enough to its rate to rank by."""
# Median latency → score on a log scale: FAST_MS or less scores 1, SLOW_MS or more scores 0.
# 300 ms is a short non-streamed answer from a small model; 30 s a long reasoning answer.
FAST_MS, SLOW_MS = 300.0, 30_000.0


def telemetry_reliability(record: ModelRecord) -> Score | None:
    """Wilson lower bound of the share of calls the provider served, when enough calls."""
    check = record.verification
    if check is None or check.calls < TELEMETRY_MIN_CALLS or check.served_lower_bound is None:
        return None
    return _score(
        check.served_lower_bound,
        "telemetry",
        f"{check.calls} calls in {check.window_days} days: served-rate lower bound "
        f"{check.served_lower_bound:.3f}",
    )


def telemetry_latency(record: ModelRecord) -> Score | None:
    """Median measured latency on a log scale (FAST_MS → 1, SLOW_MS → 0), when enough calls."""
    check = record.verification
    if check is None or check.calls < TELEMETRY_MIN_CALLS or check.latency_p50_ms is None:
        return None
    p50 = max(check.latency_p50_ms, 1.0)
    share = (math.log(p50) - math.log(FAST_MS)) / (math.log(SLOW_MS) - math.log(FAST_MS))
    return _score(
        1.0 - share,
        "telemetry",
        f"median latency {p50:g} ms over {check.calls} calls in {check.window_days} days",
    )


# -- cost --------------------------------------------------------------------------------------


def reference_price(record: ModelRecord) -> tuple[str, Decimal] | None:
    """(group, USD per 1M) a model's cost is compared by: image generators by their image
    output price among themselves, other models by blended token price."""
    pricing = record.pricing
    if record.is_image_gen and pricing.image_output is not None:
        return "image", pricing.image_output
    if pricing.input is not None and pricing.output is not None:
        blended = (pricing.input * BLEND_INPUT + pricing.output * BLEND_OUTPUT) / (
            BLEND_INPUT + BLEND_OUTPUT
        )
        return "text", blended
    if pricing.input is not None:
        return "text", pricing.input
    return None


def _price_ranges(
    records: Sequence[ModelRecord], refs: Sequence[tuple[str, Decimal] | None]
) -> dict[str, tuple[float, float]]:
    """Per group, the lowest and highest log price of ``records`` (``refs``: the reference
    price of each)."""
    logs: dict[str, list[float]] = {}
    for record, ref in zip(records, refs, strict=True):
        if record.is_free or record.pricing.variable or ref is None or ref[1] <= 0:
            continue
        logs.setdefault(ref[0], []).append(math.log(float(ref[1])))
    return {group: (min(v), max(v)) for group, v in logs.items()}


def cost_score(
    record: ModelRecord,
    ranges: Mapping[str, tuple[float, float]],
    ref: tuple[str, Decimal] | Literal["unknown"] | None = "unknown",
) -> Score:
    """``ref``: the record's ``reference_price`` when the caller has it already."""
    if record.pricing.variable:
        return _score(VARIABLE_COST, "variable", "dynamic price (router): neutral value")
    if record.is_free:
        return _score(1.0, "price", "free")
    if ref == "unknown":
        ref = reference_price(record)
    if ref is None:
        return _score(DEFAULT, "default", "not priced per token")
    group, price = ref
    unit = "per 1M image output tokens" if group == "image" else "blended 3:1 per 1M tokens"
    if price <= 0 or group not in ranges:
        return _score(PAID_COST_CEILING, "price", f"${price:f} {unit}")
    low, high = ranges[group]
    share = 0.0 if high == low else (math.log(float(price)) - low) / (high - low)
    return _score(PAID_COST_CEILING * (1 - share), "price", f"${price:f} {unit} (log-scaled)")


# -- all together ------------------------------------------------------------------------------


def rank_catalog(
    records: Sequence[ModelRecord],
    *,
    now: datetime,
    config: CurationConfig,
    quality_overrides: Sequence[QualityScore] = (),
) -> dict[str, Ranked]:
    """Score and rank every active chat/image model in ``records`` (id → Ranked)."""
    scored = [r for r in records if is_scored(r)]
    by_id = {r.id: r for r in records}
    bench_ranges = _ranges(scored, by_id)
    refs = [reference_price(r) for r in scored]
    price_ranges = _price_ranges(scored, refs)
    measured = catalog_health(scored)
    health_ranges = HealthRanges.of(measured.values())
    parse = functools.lru_cache(maxsize=None)(parse_iso)  # this call's stamps only
    out: dict[str, Ranked] = {}
    for record, ref in zip(scored, refs, strict=True):
        # Each score: observed calls first (issue 17), then OpenRouter's measurements of the
        # model's offers (issue 16), then today's sources.
        reliability = (
            telemetry_reliability(record)
            or reliability_from_endpoints(record, measured, health_ranges)
            or reliability_score(record, now, config.flap_window_days, parse)
        )
        latency = (
            telemetry_latency(record)
            or latency_from_endpoints(record, measured, health_ranges)
            or latency_score(record)
        )
        quality = quality_score(record, by_id, bench_ranges, quality_overrides)
        cost = cost_score(record, price_ranges, ref)
        scores = Scores(quality=quality, reliability=reliability, latency=latency, cost=cost)
        out[record.id] = Ranked(record, scores, weighted_rank(scores, config.weights))
    return out
