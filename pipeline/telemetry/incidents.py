"""Availability events as telemetry: a gateway's quota marks and suspensions are call outcomes.

Issue 18 made them count for reliability (``rate_limited`` for a quota, ``provider_error`` for
any other suspension); issue 27 bounds what they can do. Each event is recorded under the
identity of the gateway that caused it (``AvailabilityEvent.owner``; a library gateway's
events under ``gateway``) and goes through that identity's limits like any event it sends —
its token bucket and its series cap. And a burst on one client × model is one incident per
cooldown window: a client flapping between suspended and resumed sixty times in three seconds
is one ``provider_error``, not sixty, so churn on the runtime API cannot move the ranking.
"""

from __future__ import annotations

import threading

from pipeline.registry.availability import AvailabilityEvent
from pipeline.telemetry.intake import Intake

GATEWAY_IDENTITY = "gateway"
"""The identity of events from a gateway without one (the library, the single runtime token)."""
MAX_TRACKED = 100_000
"""Client × model × outcome incidents remembered at once: past it, expired ones are dropped,
and while it stays full new incidents are not recorded (the safe side for the ranking)."""


class IncidentRecorder:
    """The overlay's ``on_event`` sink: availability events → telemetry, deduplicated."""

    def __init__(self, intake: Intake, window_seconds: float) -> None:
        self.intake = intake
        self.window = float(window_seconds)
        self._seen: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()
        self.recorded = 0
        self.coalesced = 0
        """Events folded into an incident already recorded in their window."""

    def __call__(self, event: AvailabilityEvent) -> None:
        outcome = event.telemetry
        if outcome is None:
            return
        now = event.at  # the overlay's clock
        key = (event.client_id, event.model_id, outcome)
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last < self.window:
                self.coalesced += 1
                return
            if len(self._seen) >= MAX_TRACKED:
                self._seen = {k: t for k, t in self._seen.items() if now - t < self.window}
                if len(self._seen) >= MAX_TRACKED:
                    self.coalesced += 1
                    return
            self._seen[key] = now
        identity = event.owner or GATEWAY_IDENTITY
        if self.intake.admit(identity, 1) > 0:
            self.intake.count_rejected("rate_limited")
            return
        result = self.intake.submit(
            [
                {
                    "model": event.model_id,
                    "provider": event.provider or None,
                    "capability": "chat",
                    "outcome": outcome,
                    "timestamp": event.at,
                }
            ],
            identity=identity,
        )
        self.recorded += result.accepted


__all__ = ["GATEWAY_IDENTITY", "IncidentRecorder"]
