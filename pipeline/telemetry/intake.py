"""The one intake every door goes through: validate, resolve, rate-limit, fold, count.

``Intake.submit`` takes raw events (dicts as the JSON API reads them, or as the OTLP mapping
produces them) and folds the valid ones into the writer's hourly rollups. Nothing here raises
for bad input: each event is accepted or rejected with a reason, and every reason is counted.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import TelemetryConfig
from pipeline.publishing.store import Store
from pipeline.telemetry.events import ModelLookup, Rejected, build_event
from pipeline.telemetry.rollup import INTAKE, Flusher, Rollups


@dataclass
class BatchResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """``{"index", "reason", "detail"}`` per rejected event (at most ``MAX_LISTED``)."""
    rejected_count: int = 0


MAX_LISTED = 50
"""Rejections listed in one answer; the count covers the rest (answers stay small)."""


class TokenBucket:
    """Events per second with a burst allowance; ``take`` is all-or-nothing per batch."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()
        self._lock = threading.Lock()

    def take(self, count: int) -> float:
        """0 when ``count`` tokens were taken; else seconds until they would be available."""
        with self._lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if count <= self.tokens:
                self.tokens -= count
                return 0.0
            return (min(count, self.burst) - self.tokens) / self.rate


class Intake:
    """Validation + rollups + counters for one writer (a service, a Reporter, a probe run)."""

    def __init__(
        self,
        store: Store,
        config: TelemetryConfig,
        lookup: Callable[[], ModelLookup | None],
        *,
        clock: Callable[[], float] = time.time,
        writer: str | None = None,
    ) -> None:
        self.config = config
        self.lookup = lookup
        self.clock = clock
        self.rollups = Rollups(store, writer=writer, max_series=config.max_series)
        self.flusher = Flusher(self.rollups, config.flush_seconds, clock, self.write_stats)
        self._written_stats: bytes | None = None
        self.bucket = TokenBucket(config.rate_per_second, config.burst, clock)
        self._lock = threading.Lock()
        self.received = 0
        self.accepted = 0
        self.rejected: dict[str, int] = {}
        self.ignored: dict[str, int] = {}
        """Spans that are not GenAI calls, by operation name (``none`` when absent)."""
        self.by_consumer: dict[str, int] = {}

    def count_rejected(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self.rejected[reason] = self.rejected.get(reason, 0) + count

    def count_ignored(self, operation: str) -> None:
        with self._lock:
            key = operation if len(self.ignored) < 100 or operation in self.ignored else "other"
            self.ignored[key] = self.ignored.get(key, 0) + 1

    def submit(
        self, raws: Iterable[Mapping[str, Any] | Rejected], *, default_consumer: str | None = None
    ) -> BatchResult:
        """Fold each valid event in; reject the others with a reason. A ``Rejected`` item
        stands for an event that failed before validation (a bad NDJSON line)."""
        lookup = self.lookup()
        result = BatchResult()
        now = self.clock()
        max_age = self.config.max_event_age_hours * 3600.0
        skew = float(self.config.max_clock_skew_seconds)
        for index, raw in enumerate(raws):
            with self._lock:
                self.received += 1
            try:
                if isinstance(raw, Rejected):
                    raise raw
                if lookup is None:
                    raise Rejected("unknown_model", "no catalog is loaded to resolve models by")
                event = build_event(
                    raw,
                    now=now,
                    lookup=lookup,
                    max_age_seconds=max_age,
                    max_skew_seconds=skew,
                    default_consumer=default_consumer,
                )
                if not self.rollups.add(event):
                    raise Rejected(
                        "too_many_series",
                        f"more than {self.config.max_series} consumer × model × capability × "
                        "hour series held; new ones are refused until the next flush window",
                    )
            except Rejected as exc:
                self.count_rejected(exc.reason)
                result.rejected_count += 1
                if len(result.rejected) < MAX_LISTED:
                    result.rejected.append(
                        {"index": index, "reason": exc.reason, "detail": exc.detail}
                    )
                continue
            result.accepted += 1
            with self._lock:
                self.accepted += 1
                if event.consumer in self.by_consumer or len(self.by_consumer) < 1000:
                    self.by_consumer[event.consumer] = self.by_consumer.get(event.consumer, 0) + 1
        return result

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "received": self.received,
                "accepted": self.accepted,
                "rejected": dict(sorted(self.rejected.items())),
                "ignoredSpans": dict(sorted(self.ignored.items())),
                "byConsumer": dict(sorted(self.by_consumer.items())),
                "series": self.rollups.series,
                "flushes": self.rollups.flushes,
                "flushFailures": self.rollups.flush_failures,
                "writer": self.rollups.writer,
            }

    def write_stats(self) -> None:
        """Persist the counters (``models/telemetry/intake/<writer>.json``) when they changed,
        so `catalog telemetry` can show rejections without asking every replica."""
        if not self.received and not self.rejected:
            return  # an idle intake (a read-only reader replica) never writes to the store
        data = json.dumps(self.stats(), sort_keys=True).encode()
        if data != self._written_stats:
            self.rollups.store.put(f"{INTAKE}{self.rollups.writer}.json", data)
            self._written_stats = data

    def flush(self) -> list[str]:
        """Write rollups and counters now (the Reporter, probes and shutdown)."""
        written = self.rollups.flush(now=self.clock())
        self.write_stats()
        return written
