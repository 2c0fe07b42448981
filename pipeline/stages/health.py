"""The measured inputs of the ``reliability`` and ``latency`` scores, from a record's offers.

A model is as available as the best host serving it: OpenRouter fails over between providers,
so a caller sees the best offer's uptime, and routing by latency or throughput reaches the
fastest. Hence the *best* offer per figure (highest uptime, lowest p50 time to first token,
highest p50 throughput), each possibly from a different host.

Normalisation (see docs/offers.md for the reasoning):

- reliability: the unavailability ``u = 1 − uptime`` (floored at 0.1%, the resolution the
  published percentages support) on a log scale between the floor (score 1) and the catalog's
  worst ``u`` — but never a narrower range than 99.9%…90% uptime, so a catalog of uniformly
  healthy hosts does not stretch a few tenths of a percent over the whole score:
  ``score = 1 − ln(u / floor) / ln(u_worst / floor)``.
- latency: p50 time to first token and p50 throughput, each log-scaled over the catalog's
  range (fast = 1), averaged when both are known. Latencies and speeds spread over two orders
  of magnitude, and a 2× difference matters as much between 200 and 400 ms as between 2 and
  4 s — a linear scale would crush everything but the slowest outlier.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.records.model import ModelRecord, Offer

UNAVAILABILITY_FLOOR = 0.001
"""99.9% uptime and better all score 1: the published percentages carry one decimal."""
WIDEST_HEALTHY = 0.10
"""The log scale of reliability spans at least 99.9% … 90% uptime."""


@dataclass(frozen=True)
class Health:
    """A model's best measured figures and which window the uptime is from."""

    uptime: float | None
    """Percent."""
    uptime_window: str | None
    """`1d` or `30m`."""
    latency_ms: float | None
    throughput: float | None
    offers: int


def health(offers: Sequence[Offer] | None) -> Health | None:
    """The best offer figures; None when no offer measures anything."""
    if not offers:
        return None
    daily = [o.uptime_1d for o in offers if o.uptime_1d is not None]
    recent = [o.uptime_30m for o in offers if o.uptime_30m is not None]
    uptime: float | None = None
    window: str | None = None
    if daily:
        uptime, window = max(daily), "1d"
    elif recent:
        uptime, window = max(recent), "30m"
    latencies = [v for o in offers if (v := o.latency_p50_ms) is not None and v > 0]
    speeds = [v for o in offers if (v := o.throughput_p50) is not None and v > 0]
    found = Health(
        uptime=uptime,
        uptime_window=window,
        latency_ms=min(latencies) if latencies else None,
        throughput=max(speeds) if speeds else None,
        offers=len(offers),
    )
    if found.uptime is None and found.latency_ms is None and found.throughput is None:
        return None
    return found


def unavailability(uptime_percent: float) -> float:
    return min(1.0, max(UNAVAILABILITY_FLOOR, 1 - uptime_percent / 100))


@dataclass(frozen=True)
class HealthRanges:
    """The catalog's spread of each figure, the scale each score is normalised on."""

    worst_unavailability: float = WIDEST_HEALTHY
    latency_ms: tuple[float, float] | None = None
    throughput: tuple[float, float] | None = None

    @classmethod
    def of(cls, healths: Iterable[Health]) -> HealthRanges:
        worst = WIDEST_HEALTHY
        latencies: list[float] = []
        speeds: list[float] = []
        for item in healths:
            if item.uptime is not None:
                worst = max(worst, unavailability(item.uptime))
            if item.latency_ms is not None:
                latencies.append(item.latency_ms)
            if item.throughput is not None:
                speeds.append(item.throughput)
        return cls(
            worst_unavailability=worst,
            latency_ms=(min(latencies), max(latencies)) if latencies else None,
            throughput=(min(speeds), max(speeds)) if speeds else None,
        )

    def reliability(self, uptime_percent: float) -> float:
        u = unavailability(uptime_percent)
        span = math.log(self.worst_unavailability / UNAVAILABILITY_FLOOR)
        return 1 - math.log(u / UNAVAILABILITY_FLOOR) / span

    def latency(self, item: Health) -> float | None:
        parts: list[float] = []
        if item.latency_ms is not None and self.latency_ms is not None:
            parts.append(1 - _log_share(item.latency_ms, self.latency_ms))
        if item.throughput is not None and self.throughput is not None:
            parts.append(_log_share(item.throughput, self.throughput))
        return sum(parts) / len(parts) if parts else None


def _log_share(value: float, bounds: tuple[float, float]) -> float:
    """Where ``value`` sits between ``bounds`` on a log scale, 0…1 (0.5 when they meet)."""
    low, high = bounds
    if high <= low:
        return 0.5
    return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))


def catalog_health(records: Iterable[ModelRecord]) -> dict[str, Health]:
    """Model id → its measured health, for the records that have any."""
    out: dict[str, Health] = {}
    for record in records:
        found = health(record.offers)
        if found is not None:
            out[record.id] = found
    return out
