"""HTTP intake of ``catalog serve``: ``POST /api/telemetry`` and ``POST /v1/traces`` (OTLP/HTTP).

Both need a bearer token that names an identity (issue 27): one of
``CATALOG_TELEMETRY_TOKENS`` (``name=token,…`` or a file of such lines) or the single
``CATALOG_TELEMETRY_TOKEN`` (identity ``default``); with neither set they answer 403 — the
intake is closed by default. The token is checked before a byte of the body is read. Every
event of a request is counted for the token's identity: a ``consumer`` the event names itself
is overwritten. Bodies are read with a cap (``telemetry.max_body_bytes``, after gzip) and
their nesting is bounded before parsing, batches are capped (``telemetry.max_batch_events``),
and each identity's events go through its own token bucket (``rate_per_second``, ``burst``;
a request without events costs one): a refusal is a 4xx naming the reason, counted in
``/metrics``. The intake's rollups are flushed every ``flush_seconds`` and at shutdown.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from pipeline.config import TelemetryConfig, load_config
from pipeline.identities import Tokens, load_tokens
from pipeline.publishing.jsonio import nesting_exceeds
from pipeline.registry.availability import Availability
from pipeline.registry.core import CatalogUnavailable, Registry
from pipeline.telemetry import otel
from pipeline.telemetry.events import PROBE_IDENTITY, CatalogLookup, ModelLookup, Rejected
from pipeline.telemetry.incidents import IncidentRecorder
from pipeline.telemetry.intake import Intake

TOKEN_ENV = "CATALOG_TELEMETRY_TOKEN"
TOKENS_ENV = "CATALOG_TELEMETRY_TOKENS"
SINGLE_IDENTITY = "default"
"""The identity of the single ``CATALOG_TELEMETRY_TOKEN``."""
MAX_DEPTH = 32
"""JSON nesting accepted in a telemetry body or NDJSON line (an event is 2 levels deep, an
OTLP JSON request with array attributes 13): deeper is refused before parsing, never a
RecursionError."""
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


def parse_json(data: bytes, what: str) -> Any:
    """``data`` parsed, or ValueError saying why: not JSON, or nested deeper than
    ``MAX_DEPTH`` (measured on the bytes before parsing)."""
    if nesting_exceeds(data, MAX_DEPTH):
        raise ValueError(f"{what} nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(data)
    except RecursionError as exc:  # belt and braces: the depth check should have caught it
        raise ValueError(f"{what} nests too deep to parse") from exc
    except ValueError as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from exc


def _json_events(data: bytes, media: str, max_events: int) -> list[Any]:
    if media in NDJSON_TYPES:
        events: list[Any] = []
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            if len(events) >= max_events:
                raise Refused(413, "too_large", f"more than {max_events} events in one batch")
            try:
                events.append(parse_json(line, f"line {number}"))
            except ValueError as exc:
                # One bad line is that event's rejection, not the batch's.
                events.append(Rejected("invalid_json", str(exc)))
        return events
    if media not in JSON_TYPES:
        raise Refused(
            415,
            "unsupported_media_type",
            f"content-type {media or 'none'!r}: send application/json or application/x-ndjson",
        )
    try:
        document = parse_json(data, "body")
    except ValueError as exc:
        raise Refused(400, "invalid_json", str(exc)) from exc
    if isinstance(document, dict) and isinstance(document.get("events"), list):
        document = document["events"]
    items = document if isinstance(document, list) else [document]
    if len(items) > max_events:
        raise Refused(413, "too_large", f"{len(items)} events in one batch (limit {max_events})")
    return items


def telemetry_tokens(token: str | None = None) -> Tokens:
    """The identities allowed to send telemetry: ``token`` alone (tests, embedding) as
    ``default``, else the environment's (``CATALOG_TELEMETRY_TOKENS``,
    ``CATALOG_TELEMETRY_TOKEN``). ``probe`` is reserved for `syncmodels verify`."""
    environ = {TOKEN_ENV: token} if token is not None else None
    return load_tokens(
        many_env=TOKENS_ENV,
        single_env=TOKEN_ENV,
        single_name=SINGLE_IDENTITY,
        environ=environ,
        reserved=(PROBE_IDENTITY,),
    )


def telemetry_router(
    registry: Registry,
    *,
    config: TelemetryConfig | None = None,
    config_path: str | None = None,
    token: str | None = None,
    tokens: Tokens | None = None,
) -> APIRouter:
    """The intake routes over ``registry`` (model resolution) and its store (rollups).
    ``tokens`` (else ``token``, else the environment) name who may send."""
    settings = config or load_config(config_path).telemetry
    identities = tokens if tokens is not None else telemetry_tokens(token)
    intake = Intake(registry.store, settings, _lookup_for(registry), clock=registry.clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.telemetry = intake
        metrics = getattr(app.state, "metrics", None)
        if metrics is not None and hasattr(metrics, "extra"):
            metrics.extra.append(lambda: prometheus_lines(intake))
        intake.flusher.start()
        # Issue 18's runtime availability: quota marks and suspensions a gateway reports are
        # call outcomes too (`rate_limited`, `provider_error`), so reliability scores see them
        # — under the gateway's identity and its limits, one incident per cooldown (issue 27).
        overlay = Availability.attach(registry)
        if overlay.on_event is None:
            overlay.on_event = IncidentRecorder(intake, overlay.cooldown_seconds)
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

    def authorize(request: Request) -> str:
        """The identity of the request's token (before anything else of it is read)."""
        if not identities:
            raise Refused(
                403, "unauthorized", f"telemetry intake disabled: set {TOKENS_ENV} or {TOKEN_ENV}"
            )
        identity = identities.identify(request.headers.get("authorization"))
        if identity is None:
            raise Refused(
                401,
                "unauthorized",
                "missing or wrong bearer token",
                {"WWW-Authenticate": "Bearer"},
            )
        return identity

    def admit(identity: str, count: int) -> None:
        wait = intake.admit(identity, count)
        if wait > 0:
            raise Refused(
                429,
                "rate_limited",
                f"identity {identity!r}: more than {settings.rate_per_second:g} events/s; "
                f"retry in {math.ceil(wait)} s",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )

    @router.post(
        "/api/telemetry",
        status_code=202,
        responses={
            401: {"description": "Missing or wrong bearer token."},
            403: {"description": "Intake disabled (no CATALOG_TELEMETRY_TOKENS / _TOKEN)."},
            413: {"description": "Body or batch too large."},
            415: {"description": "Not JSON / NDJSON."},
            422: {"description": "Some events rejected (the others were kept)."},
            429: {"description": "Rate limit; see Retry-After."},
        },
    )
    async def post_events(request: Request) -> Response:
        """Call outcomes as one JSON event, a JSON list (or ``{"events": […]}``), or NDJSON.
        Every event counts for the token's identity (``consumer`` in the answer)."""
        try:
            identity = authorize(request)
            data = await _read_body(request, settings.max_body_bytes)
            events = _json_events(data, _media_type(request), settings.max_batch_events)
            admit(identity, len(events))
        except Refused as exc:
            return refuse(exc)
        result = intake.submit(events, identity=identity)
        body = {
            "consumer": identity,
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
            403: {"description": "Intake disabled (no CATALOG_TELEMETRY_TOKENS / _TOKEN)."},
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
            identity = authorize(request)
            data = await _read_body(request, settings.max_body_bytes)
            if media in PROTOBUF_TYPES:
                spans: list[otel.Span] = list(otel.spans_from_protobuf(data))
            elif media in JSON_TYPES:
                try:
                    document = parse_json(data, "body")
                except ValueError as exc:
                    raise Refused(400, "invalid_json", str(exc)) from exc
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
            admit(identity, len(events))
        except Rejected as exc:
            return refuse(Refused(400, exc.reason, exc.detail))
        except Refused as exc:
            return refuse(exc)
        result = intake.submit(events, identity=identity)
        message = "; ".join(f"span {r['index']}: {r['reason']}" for r in result.rejected[:5])
        return _otlp_answer(media, result.rejected_count, message)

    @router.get(
        "/api/telemetry/stats",
        responses={
            401: {"description": "Missing or wrong bearer token."},
            403: {"description": "Intake disabled (no CATALOG_TELEMETRY_TOKENS / _TOKEN)."},
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
