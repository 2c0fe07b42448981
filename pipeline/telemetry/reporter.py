"""``Reporter``: report call outcomes from Python code straight to the store.

    from pipeline.telemetry import Reporter

    with Reporter("s3://bucket/prefix", consumer="billing-bot") as telemetry:
        telemetry.record("openai/gpt-4o", "ok", capability="tools", latency_ms=812)

Events are validated like the HTTP intake's, folded into hourly rollups in memory and written
to the store every ``flush_seconds`` (and on ``close``), one atomic object per hour and
process. A crash loses at most the last interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from pipeline.config import TelemetryConfig
from pipeline.publishing.store import Store, open_store
from pipeline.registry.core import CatalogUnavailable, Registry
from pipeline.telemetry.events import CatalogLookup, ModelLookup, Rejected
from pipeline.telemetry.intake import Intake

REFRESH_SECONDS = 300.0
"""How often the Reporter picks up a newer catalog for model resolution."""


class Reporter:
    """Buffers call outcomes of one consumer and writes them to the store as rollups. The
    consumer is its identity (store credentials authenticate it): its limits, its vote."""

    def __init__(
        self,
        store: Store | str,
        *,
        consumer: str,
        config: TelemetryConfig | None = None,
        registry: Registry | None = None,
        clock: Callable[[], float] = time.time,
        background: bool = True,
        writer: str | None = None,
    ) -> None:
        self.store = open_store(store) if isinstance(store, str) else store
        self.consumer = consumer
        self.config = config or TelemetryConfig()
        self.registry = registry or Registry(self.store, clock=clock)
        self._lookup: tuple[str, ModelLookup] | None = None
        self._checked = 0.0
        self.clock = clock
        self.intake = Intake(
            self.store, self.config, self._current_lookup, clock=clock, writer=writer
        )
        if background:
            self.intake.flusher.start()

    def _current_lookup(self) -> ModelLookup | None:
        now = self.clock()
        if not self.registry.loaded or now - self._checked > REFRESH_SECONDS:
            self._checked = now
            self.registry.refresh()
        try:
            snap = self.registry.snapshot
        except CatalogUnavailable:
            return None
        if self._lookup is None or self._lookup[0] != snap.version:
            self._lookup = (snap.version, CatalogLookup(snap.resolve, snap.models))
        return self._lookup[1]

    def record(
        self,
        model: str,
        outcome: str,
        *,
        capability: str = "chat",
        latency_ms: float | None = None,
        ttft_ms: float | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        provider: str | None = None,
        at: float | None = None,
        strict: bool = False,
    ) -> bool:
        """Report one call. Returns whether it was kept; with ``strict`` a rejected event
        raises ``Rejected`` (reason and detail) instead."""
        event: dict[str, Any] = {"model": model, "outcome": outcome, "capability": capability}
        for key, value in (
            ("latencyMs", latency_ms),
            ("ttftMs", ttft_ms),
            ("inputTokens", input_tokens),
            ("outputTokens", output_tokens),
            ("provider", provider),
            ("timestamp", at),
        ):
            if value is not None:
                event[key] = value
        result = self.intake.submit([event], identity=self.consumer)
        if result.rejected and strict:
            first = result.rejected[0]
            raise Rejected(first["reason"], first["detail"])
        return result.accepted == 1

    def flush(self) -> list[str]:
        """Write what is buffered now; returns the store keys written."""
        return self.intake.flush()

    def close(self) -> None:
        """Stop the background flusher and write the last interval."""
        self.intake.flusher.stop()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
