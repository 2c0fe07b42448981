"""HTTP intake of ``catalog serve``: ``POST /api/telemetry`` and ``POST /v1/traces`` (OTLP/HTTP).

Both need ``Authorization: Bearer <CATALOG_TELEMETRY_TOKEN>`` (compared in constant time);
with the variable unset they answer 403 — the intake is closed by default. Bodies are read
with a cap (``telemetry.max_body_bytes``, after gzip), batches with a cap
(``telemetry.max_batch_events``), and events through a token bucket (``rate_per_second``,
``burst``): a refusal is a 4xx naming the reason, counted in ``/metrics``. The intake's
rollups are flushed every ``flush_seconds`` and once more at shutdown.
"""

from __future__ import annotations

import hmac
import json
import math
import os
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from pipeline.config import TelemetryConfig, load_config
from pipeline.registry.availability import Availability, AvailabilityEvent
from pipeline.registry.core import CatalogUnavailable, Registry
from pipeline.telemetry import otel
from pipeline.telemetry.events import CatalogLookup, ModelLookup, Rejected
from pipeline.telemetry.intake import Intake

TOKEN_ENV = "CATALOG_TELEMETRY_TOKEN"
JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")


class Refused(Exception):
    """A whole request refused: HTTP status, reason code, message."""

    def __init__(
        self, status: int, reason: str, detail: str, headers: dict[str, str] | None = None
    ):
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        self.headers = headers or {}


def _lookup_for(registry: Registry) -> Any:
    memo: dict[str, ModelLookup] = {}

    def lookup() -> ModelLookup | None:
        try:
            snap = registry.snapshot
        except CatalogUnavailable:
            return None
        found = memo.get(snap.version)
        if found is None:
            memo.clear()  # one catalog version at a time
            found = memo[snap.version] = CatalogLookup(snap.resolve, snap.models)
        return found

    return lookup


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, "too_large", f"body of {declared} bytes exceeds {limit} bytes")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise Refused(413, "too_large", f"body exceeds {limit} bytes")
    data = bytes(chunks)
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            out = inflater.decompress(data, limit + 1)  # bounded: a zip bomb stops here
        except zlib.error as exc:
            raise Refused(400, "invalid_payload", f"gzip body does not inflate: {exc}") from exc
        if len(out) > limit or inflater.unconsumed_tail:
            raise Refused(413, "too_large", f"inflated body exceeds {limit} bytes")
        return out
    if encoding not in ("identity", ""):
        raise Refused(415, "unsupported_media_type", f"content-encoding {encoding!r}")
    return data


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _json_events(data: bytes, media: str, max_events: int) -> list[Any]:
    if media in NDJSON_TYPES:
        events: list[Any] = []
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            if len(events) >= max_events:
                raise Refused(413, "too_large", f"more than {max_events} events in one batch")
            try:
                events.append(json.loads(line))
            except ValueError as exc:
                # One bad line is that event's rejection, not the batch's.
                events.append(Rejected("invalid_json", f"line {number}: {exc}"))
        return events
    if media not in JSON_TYPES:
        raise Refused(
            415,
            "unsupported_media_type",
            f"content-type {media or 'none'!r}: send application/json or application/x-ndjson",
        )
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise Refused(400, "invalid_json", f"body is not JSON: {exc}") from exc
    if isinstance(document, dict) and isinstance(document.get("events"), list):
        document = document["events"]
    items = document if isinstance(document, list) else [document]
    if len(items) > max_events:
        raise Refused(413, "too_large", f"{len(items)} events in one batch (limit {max_events})")
    return items


AVAILABILITY_CONSUMER = "gateway"
"""The consumer availability events are recorded under (one per service, not per client:
client ids are the gateway's business and must not multiply series)."""


def record_availability(intake: Intake, event: AvailabilityEvent) -> None:
    """Record an availability event with a telemetry meaning as one call outcome."""
    outcome = event.telemetry
    if outcome is None:
        return
    intake.submit(
        [
            {
                "model": event.model_id,
                "provider": event.provider or None,
                "capability": "chat",
                "outcome": outcome,
                "consumer": AVAILABILITY_CONSUMER,
                "timestamp": event.at,
            }
        ]
    )


def telemetry_router(
    registry: Registry,
    *,
    config: TelemetryConfig | None = None,
    config_path: str | None = None,
    token: str | None = None,
) -> APIRouter:
    """The intake routes over ``registry`` (model resolution) and its store (rollups)."""
    settings = config or load_config(config_path).telemetry
    secret = token if token is not None else os.environ.get(TOKEN_ENV) or None
    intake = Intake(registry.store, settings, _lookup_for(registry), clock=registry.clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.telemetry = intake
        metrics = getattr(app.state, "metrics", None)
        if metrics is not None and hasattr(metrics, "extra"):
            metrics.extra.append(lambda: prometheus_lines(intake))
        intake.flusher.start()
        # Issue 18's runtime availability: quota marks and suspensions a gateway reports are
        # call outcomes too (`rate_limited`, `provider_error`), so reliability scores see them.
        overlay = Availability.attach(registry)
        if overlay.on_event is None:
            overlay.on_event = lambda event: record_availability(intake, event)
        try:
            yield
        finally:
            intake.flusher.stop()  # the last interval is written before the process ends

    router = APIRouter(lifespan=lifespan, tags=["telemetry"])

    def refuse(exc: Refused, count: int = 1) -> JSONResponse:
        intake.count_rejected(exc.reason, count)
        return JSONResponse(
            {"detail": exc.detail, "reason": exc.reason}, exc.status, headers=exc.headers
        )

    def authorize(request: Request) -> None:
        if not secret:
            raise Refused(403, "unauthorized", f"telemetry intake disabled: set {TOKEN_ENV}")
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(given.encode(), secret.encode()):
            raise Refused(
                401,
                "unauthorized",
                "missing or wrong bearer token",
                {"WWW-Authenticate": "Bearer"},
            )

    def admit(count: int) -> None:
        wait = intake.bucket.take(count)
        if wait > 0:
            raise Refused(
                429,
                "rate_limited",
                f"more than {settings.rate_per_second:g} events/s; retry later",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )

    @router.post(
        "/api/telemetry",
        status_code=202,
        responses={
            401: {"description": "Missing or wrong bearer token."},
            403: {"description": "Intake disabled (CATALOG_TELEMETRY_TOKEN unset)."},
            413: {"description": "Body or batch too large."},
            415: {"description": "Not JSON / NDJSON."},
            422: {"description": "Some events rejected (the others were kept)."},
            429: {"description": "Rate limit; see Retry-After."},
        },
    )
    async def post_events(request: Request) -> Response:
        """Call outcomes as one JSON event, a JSON list (or ``{"events": […]}``), or NDJSON."""
        try:
            authorize(request)
            data = await _read_body(request, settings.max_body_bytes)
            events = _json_events(data, _media_type(request), settings.max_batch_events)
            admit(len(events))
        except Refused as exc:
            return refuse(exc)
        result = intake.submit(events)
        body = {
            "accepted": result.accepted,
            "rejectedCount": result.rejected_count,
            "rejected": result.rejected,
        }
        return JSONResponse(body, 202 if result.rejected_count == 0 else 422)

    @router.post(
        "/v1/traces",
        responses={
            200: {"description": "ExportTraceServiceResponse (partial success when rejected)."},
            400: {"description": "Not an OTLP trace request."},
            401: {"description": "Missing or wrong bearer token."},
            403: {"description": "Intake disabled (CATALOG_TELEMETRY_TOKEN unset)."},
            413: {"description": "Body or batch too large."},
            415: {"description": "Not application/x-protobuf or application/json."},
            429: {"description": "Rate limit; see Retry-After."},
        },
    )
    async def post_traces(request: Request) -> Response:
        """OTLP/HTTP traces (protobuf or JSON). GenAI model-call spans become events; other
        spans are ignored and counted."""
        media = _media_type(request)
        try:
            authorize(request)
            data = await _read_body(request, settings.max_body_bytes)
            if media in PROTOBUF_TYPES:
                spans: list[otel.Span] = list(otel.spans_from_protobuf(data))
            elif media in JSON_TYPES:
                try:
                    document = json.loads(data)
                except ValueError as exc:
                    raise Refused(400, "invalid_json", f"body is not JSON: {exc}") from exc
                spans = otel.spans_from_json(document)
            else:
                raise Refused(
                    415,
                    "unsupported_media_type",
                    f"content-type {media or 'none'!r}: OTLP/HTTP is application/x-protobuf "
                    "or application/json",
                )
            if len(spans) > settings.max_batch_events:
                raise Refused(
                    413,
                    "too_large",
                    f"{len(spans)} spans in one request (limit {settings.max_batch_events})",
                )
            events = list(_genai_events(spans, intake))
            admit(len(events))
        except Rejected as exc:
            return refuse(Refused(400, exc.reason, exc.detail))
        except Refused as exc:
            return refuse(exc)
        result = intake.submit(events)
        message = "; ".join(f"span {r['index']}: {r['reason']}" for r in result.rejected[:5])
        return _otlp_answer(media, result.rejected_count, message)

    @router.get(
        "/api/telemetry/stats",
        responses={
            401: {"description": "Missing or wrong bearer token."},
            403: {"description": "Intake disabled (CATALOG_TELEMETRY_TOKEN unset)."},
        },
    )
    async def stats(request: Request) -> Response:
        """What this replica's intake received, accepted, rejected (by reason) and ignored."""
        try:
            authorize(request)
        except Refused as exc:
            return refuse(exc)
        return JSONResponse(intake.stats(), headers={"Cache-Control": "no-cache"})

    return router


def _genai_events(spans: list[otel.Span], intake: Intake) -> Iterator[dict[str, Any]]:
    for span in spans:
        try:
            yield otel.span_to_event(span)
        except otel.NotGenAI as exc:
            intake.count_ignored(str(exc) if str(exc) != "None" else "none")


def _otlp_answer(media: str, rejected: int, message: str) -> Response:
    if media in PROTOBUF_TYPES:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        answer = ExportTraceServiceResponse()
        if rejected:
            answer.partial_success.rejected_spans = rejected
            answer.partial_success.error_message = message
        return Response(answer.SerializeToString(), 200, media_type="application/x-protobuf")
    body: dict[str, Any] = {}
    if rejected:
        # OTLP JSON writes int64 as a string.
        body["partialSuccess"] = {"rejectedSpans": str(rejected), "errorMessage": message}
    return JSONResponse(body, 200)


def prometheus_lines(intake: Intake) -> list[str]:
    """The intake's series for ``/metrics`` (Prometheus text lines)."""
    stats = intake.stats()
    lines = [
        "# HELP catalog_telemetry_events_total Telemetry events by result.",
        "# TYPE catalog_telemetry_events_total counter",
        f'catalog_telemetry_events_total{{result="received"}} {stats["received"]}',
        f'catalog_telemetry_events_total{{result="accepted"}} {stats["accepted"]}',
        "# HELP catalog_telemetry_rejected_total Rejected events and requests by reason.",
        "# TYPE catalog_telemetry_rejected_total counter",
    ]
    for reason, count in stats["rejected"].items():
        lines.append(f'catalog_telemetry_rejected_total{{reason="{reason}"}} {count}')
    lines += [
        "# HELP catalog_telemetry_ignored_spans_total OTLP spans that are not GenAI calls.",
        "# TYPE catalog_telemetry_ignored_spans_total counter",
        f"catalog_telemetry_ignored_spans_total {sum(stats['ignoredSpans'].values())}",
        "# HELP catalog_telemetry_series Rollup cells held in memory.",
        "# TYPE catalog_telemetry_series gauge",
        f"catalog_telemetry_series {stats['series']}",
        "# HELP catalog_telemetry_flushes_total Rollup flushes to the store.",
        "# TYPE catalog_telemetry_flushes_total counter",
        f"catalog_telemetry_flushes_total {stats['flushes']}",
        "# HELP catalog_telemetry_flush_failures_total Rollup flushes that failed (retried).",
        "# TYPE catalog_telemetry_flush_failures_total counter",
        f"catalog_telemetry_flush_failures_total {stats['flushFailures']}",
        "# HELP catalog_telemetry_unflushed_hours Hours with events not yet in the store.",
        "# TYPE catalog_telemetry_unflushed_hours gauge",
        f"catalog_telemetry_unflushed_hours {intake.rollups.pending()}",
    ]
    return lines
