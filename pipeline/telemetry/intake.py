"""The one intake every door goes through: validate, resolve, rate-limit, fold, count.

``Intake.submit`` takes raw events (dicts as the JSON API reads them, or as the OTLP mapping
produces them) from one identity and folds the valid ones into the writer's hourly rollups.
Nothing here raises for bad input: each event is accepted or rejected with a reason, and every
reason is counted.

Every limit is per identity (issue 27), so one identity at its limits leaves the others
unaffected: a token bucket each (``rate_per_second``, ``burst``; ``admit``), ``max_series``
cells of open hours each (the rollups), and an answer that says until when.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.config import TelemetryConfig
from pipeline.publishing.store import Store
from pipeline.telemetry.events import ModelLookup, Rejected, build_event
from pipeline.telemetry.rollup import INTAKE, Flusher, Rollups, hour_of
from pipeline.timeutil import iso


@dataclass
class BatchResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """``{"index", "reason", "detail"}`` per rejected event (at most ``MAX_LISTED``)."""
    rejected_count: int = 0


MAX_LISTED = 50
"""Rejections listed in one answer; the count covers the rest (answers stay small)."""
MAX_BUCKETS = 10_000
"""Identities with a token bucket of their own (the configured identities are far fewer)."""
MAX_LABEL = 64
"""Characters of an ignored span's operation name kept as a counter key."""
UNAUTHENTICATED = frozenset({"unauthorized"})
"""Refusals made before anyone was identified: counted in memory, never a reason to write."""


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
        self.rollups = Rollups(
            store,
            writer=writer,
            max_series=config.max_series,
            max_age_hours=config.max_event_age_hours,
        )
        self.flusher = Flusher(self.rollups, config.flush_seconds, clock, self.write_stats)
        self._written_stats: bytes | None = None
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self.received = 0
        self.accepted = 0
        self.rejected: dict[str, int] = {}
        self.ignored: dict[str, int] = {}
        """Spans that are not GenAI calls, by operation name (``none`` when absent)."""
        self.by_consumer: dict[str, int] = {}
        """Accepted events by identity."""

    def bucket(self, identity: str) -> TokenBucket:
        """The token bucket of ``identity`` (each has its own ``rate_per_second`` and
        ``burst``; one over its rate leaves the others their own)."""
        with self._lock:
            found = self._buckets.get(identity)
            if found is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._buckets.clear()  # only reachable by misuse of the library door
                found = self._buckets[identity] = TokenBucket(
                    self.config.rate_per_second, self.config.burst, self.clock
                )
            return found

    def admit(self, identity: str, count: int) -> float:
        """0 when ``identity`` may send ``count`` events now (taken from its bucket), else
        the seconds until it may. A request without events still costs one: answering it is
        work too."""
        return self.bucket(identity).take(max(1, count))

    def count_rejected(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self.rejected[reason] = self.rejected.get(reason, 0) + count

    def count_ignored(self, operation: str) -> None:
        # The name is the client's: kept short and printable, and only the first 100 names.
        label = "".join(c if c.isprintable() else "?" for c in operation[:MAX_LABEL]) or "none"
        with self._lock:
            key = label if len(self.ignored) < 100 or label in self.ignored else "other"
            self.ignored[key] = self.ignored.get(key, 0) + 1

    def room_at(self, identity: str, now: float) -> float:
        """When ``identity`` will have room for new series again: the next flush when some of
        its cells are in closed hours (a flush forgets them), else the flush after the end of
        the current hour."""
        flush = self.config.flush_seconds
        last = self.rollups.last_flush
        next_flush = (last + flush) if last is not None and last + flush > now else now + flush
        if self.rollups.closed_series_of(identity, now):
            return next_flush
        return hour_of(now) + 3600 + flush

    def submit(
        self,
        raws: Iterable[Mapping[str, Any] | Rejected],
        *,
        identity: str | None = None,
    ) -> BatchResult:
        """Fold each valid event in; reject the others with a reason. A ``Rejected`` item
        stands for an event that failed before validation (a bad NDJSON line). ``identity``
        (the sender's, from its token) becomes every event's consumer; without it (callers
        with the store's credentials) each event names its consumer."""
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
                    identity=identity,
                )
                if not self.rollups.add(event):
                    until = iso(datetime.fromtimestamp(self.room_at(event.consumer, now), UTC))
                    raise Rejected(
                        "too_many_series",
                        f"identity {event.consumer!r} holds {self.config.max_series} model × "
                        f"capability × hour series (max_series); new ones are refused until "
                        f"{until} (events to series it holds are still kept)",
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
        so `catalog telemetry` can show rejections without asking every replica. Refusals of
        unauthenticated requests alone never write: a read-only replica stays read-only."""
        with self._lock:
            idle = not (self.received or self.ignored or set(self.rejected) - UNAUTHENTICATED)
        if idle:
            return
        data = json.dumps(self.stats(), sort_keys=True).encode()
        if data != self._written_stats:
            self.rollups.store.put(f"{INTAKE}{self.rollups.writer}.json", data)
            self._written_stats = data

    def flush(self) -> list[str]:
        """Write rollups and counters now (the Reporter, probes and shutdown)."""
        written = self.rollups.flush(now=self.clock())
        self.write_stats()
        return written
