"""Prometheus metrics of the reader service, written in the text exposition format by hand
(a handful of series do not justify a client library).

Request counts and latency are recorded by an ASGI middleware labelled by route template (not
raw path: ``/v1/models/{ref}`` stays one series however many refs are asked for).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pipeline.registry.core import Registry

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Request latency buckets in seconds: cached bodies answer in well under a millisecond;
# the tail is for first builds of large lists and for store reads in admin endpoints.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Counters and histograms. Observed from the event loop only (the middleware's ``finally``
    runs there even for sync handlers), so updates take no lock; ``render`` copies first."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency: dict[str, list[float]] = {}  # route → per-bucket hits, +Inf, sum
        self.extra: list[Callable[[], list[str]]] = []
        """More series from parts of the service that own them (the telemetry intake adds its
        own at startup); each returns Prometheus text lines."""

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        row = self.latency.get(route)
        if row is None:
            row = self.latency[route] = [0.0] * (len(BUCKETS) + 2)
        row[bisect.bisect_left(BUCKETS, seconds)] += 1  # index len(BUCKETS) is +Inf only
        row[-1] += seconds

    def render(self, registry: Registry, *, refreshing: bool) -> bytes:
        lines: list[str] = []

        def head(name: str, kind: str, text: str) -> None:
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} {kind}")

        requests = dict(self.requests)
        latency = {k: list(v) for k, v in self.latency.items()}
        head("catalog_http_requests_total", "counter", "HTTP requests by route and status.")
        for (method, route, status), count in sorted(requests.items()):
            lines.append(
                f'catalog_http_requests_total{{method="{method}",route="{_esc(route)}",'
                f'status="{status}"}} {count}'
            )
        head("catalog_http_request_duration_seconds", "histogram", "HTTP request latency.")
        for route, row in sorted(latency.items()):
            label = f'route="{_esc(route)}"'
            cumulative = 0
            for bound, hits in zip(BUCKETS, row, strict=False):
                cumulative += int(hits)
                lines.append(
                    f'catalog_http_request_duration_seconds_bucket{{{label},le="{bound}"}} '
                    f"{cumulative}"
                )
            total = cumulative + int(row[len(BUCKETS)])
            lines.append(
                f'catalog_http_request_duration_seconds_bucket{{{label},le="+Inf"}} {total}'
            )
            lines.append(f"catalog_http_request_duration_seconds_sum{{{label}}} {row[-1]:.6f}")
            lines.append(f"catalog_http_request_duration_seconds_count{{{label}}} {total}")

        snapshot = registry._snapshot
        head("catalog_loaded", "gauge", "1 when a catalog is loaded and served.")
        lines.append(f"catalog_loaded {1 if snapshot else 0}")
        if snapshot is not None:
            age = snapshot.age_seconds(time.time())
            head(
                "catalog_age_seconds",
                "gauge",
                "Seconds since the served catalog's data was observed upstream (dataAsOf).",
            )
            lines.append(f"catalog_age_seconds {age if age is not None else 'NaN'}")
            head("catalog_models", "gauge", "Models in the served catalog by lifecycle state.")
            for state, count in sorted(snapshot.state_counts.items()):
                lines.append(f'catalog_models{{state="{_esc(state)}"}} {count}')
            head("catalog_info", "gauge", "The served catalog's run id and version.")
            lines.append(
                f'catalog_info{{run_id="{_esc(snapshot.run_id)}",'
                f'version="{_esc(snapshot.version)}"}} 1'
            )
        head("catalog_refreshes_total", "counter", "Store polls.")
        lines.append(f"catalog_refreshes_total {registry.refreshes}")
        head("catalog_refresh_failures_total", "counter", "Polls that could not load the set.")
        lines.append(f"catalog_refresh_failures_total {registry.failures}")
        head("catalog_swaps_total", "counter", "New sets swapped in.")
        lines.append(f"catalog_swaps_total {registry.swaps}")
        head("catalog_refresh_error", "gauge", "1 while the store's set cannot be loaded.")
        lines.append(f"catalog_refresh_error {1 if registry.error else 0}")
        head("catalog_admin_refresh_running", "gauge", "1 while an admin refresh job runs.")
        lines.append(f"catalog_admin_refresh_running {1 if refreshing else 0}")
        lines.extend(availability_lines(registry))
        for source in list(self.extra):
            lines.extend(source())
        return ("\n".join(lines) + "\n").encode()


def availability_lines(registry: Registry) -> list[str]:
    """Runtime availability (issue 18): registered clients and models by availability state;
    nothing until something attached an ``Availability`` to this registry."""
    from pipeline.registry.availability import MODEL_STATES, Availability

    live = Availability.attached(registry)
    if live is None:
        return []
    summary = live.summary()
    lines = [
        "# HELP catalog_runtime_clients Clients registered with the runtime availability API.",
        "# TYPE catalog_runtime_clients gauge",
        f"catalog_runtime_clients {summary['clients']}",
        "# HELP catalog_runtime_models Models with registered clients, by availability state.",
        "# TYPE catalog_runtime_models gauge",
    ]
    for state in MODEL_STATES:
        lines.append(f'catalog_runtime_models{{state="{state}"}} {summary["models"][state]}')
    return lines


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsMiddleware:
    """Pure ASGI middleware (no body buffering): counts and times every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], path, status, time.perf_counter() - started)
