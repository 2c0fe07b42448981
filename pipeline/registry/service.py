"""The reader over HTTP (``catalog serve``): FastAPI on uvicorn.

Hot paths answer from bytes serialized once per catalog version (``Snapshot.memo``), with an
ETag derived from those bytes; ``If-None-Match`` gets a 304. Handlers return ``Response``
objects directly, so nothing is re-validated or re-encoded per request; the response models
below only document the shapes in ``/openapi.json``.

``/v1/models`` and ``/v1beta/models`` answer in the native shapes of the OpenAI, Anthropic and
Gemini APIs (``formats``), errors included, so each official SDK works with only its base URL
changed; the catalog's own record is at ``/api/models/{ref}``. gzip, HEAD, CORS and trailing
slashes: ``http.HttpHygiene`` plus the gzip variant each cached ``Body`` keeps.

Admin endpoints need ``Authorization: Bearer <CATALOG_ADMIN_TOKEN>`` (constant-time compare);
with the variable unset they answer 403 — the admin API is never open by default.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline import __version__
from pipeline.logs import redact
from pipeline.publishing import keys
from pipeline.records.catalog import Deprecations
from pipeline.records.model import ModelRecord
from pipeline.registry import formats, hardening, runtime_api
from pipeline.registry.admin import (
    RUN_ID_PATTERN,
    SCOPE_PATTERN,
    JobRunner,
    RefreshBusy,
    Refresher,
    lease_holder,
    run_job_adapter,
)
from pipeline.registry.core import (
    CAPABILITIES,
    STATES,
    TIERS,
    CatalogUnavailable,
    QueryError,
    Registry,
    Snapshot,
)
from pipeline.registry.core_routes import core_router
from pipeline.registry.http import MIN_COMPRESS_BYTES, HttpHygiene, accepts_gzip, gzip_bytes
from pipeline.registry.metrics import Metrics, MetricsMiddleware
from pipeline.telemetry.api import telemetry_router
from pipeline.timeutil import utcnow
from pipeline.web.routes import build_router as explorer_router

log = logging.getLogger("pipeline.registry.service")

ADMIN_TOKEN_ENV = "CATALOG_ADMIN_TOKEN"
DEFAULT_REFRESH_SECONDS = 30.0
DEFAULT_MAX_AGE_SECONDS = 86_400.0
"""Readiness: the OpenRouter refresh runs every 6 hours, so a day-old catalog means about four
missed runs — time to stop routing to this reader."""

CATALOG_CACHE = "public, max-age=30"
"""Catalog answers change at most once per poll; clients revalidate with the ETag after that."""
LIVE_CACHE = "no-cache"
RECORD_ROUTE = "/api/models/{ref:path}"
NATIVE_PREFIXES = ("/v1/models", "/v1beta/models")
ADMIN_CACHE = "private, no-cache"


# Module level: FastAPI evaluates the (postponed) annotations that reference it.
BEARER = HTTPBearer(auto_error=False, description="The value of CATALOG_ADMIN_TOKEN.")


def _enum_list_pattern(values: tuple[str, ...] | list[str]) -> str:
    one = "|".join(values)
    return f"^({one})(,({one}))*$"


# ── documented shapes (OpenAPI only; never used to re-validate responses) ─────────────────


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Problem(BaseModel):
    detail: str


class NotFound(BaseModel):
    detail: str
    closeMatches: list[str] = []


class OpenAIModel(Open):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class OpenAIList(Open):
    object: Literal["list"]
    data: list[OpenAIModel]


class AnthropicModel(Open):
    id: str
    type: Literal["model"]
    display_name: str
    created_at: str
    lifecycle: Literal["active", "deprecated"]
    max_input_tokens: int | None
    max_tokens: int | None


class AnthropicList(Open):
    data: list[AnthropicModel]
    has_more: bool
    first_id: str | None
    last_id: str | None


class GeminiModel(Open):
    name: str
    baseModelId: str
    version: str
    displayName: str
    description: str
    supportedGenerationMethods: list[str]
    thinking: bool
    inputTokenLimit: int | None = None
    outputTokenLimit: int | None = None


class GeminiList(Open):
    models: list[GeminiModel]
    nextPageToken: str | None = None


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(BaseModel):
    error: OpenAIErrorDetail


class AnthropicErrorDetail(BaseModel):
    type: str
    message: str


class AnthropicError(BaseModel):
    type: Literal["error"]
    error: AnthropicErrorDetail


class GeminiErrorDetail(BaseModel):
    code: int
    message: str
    status: str


class GeminiError(BaseModel):
    error: GeminiErrorDetail


NATIVE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "A bad parameter, in the API's own error shape.",
        "model": OpenAIError | AnthropicError | GeminiError,
    },
    404: {
        "description": "No model matches; close matches in the message.",
        "model": OpenAIError | AnthropicError | GeminiError,
    },
    503: {
        "description": "No catalog loaded (yet).",
        "model": OpenAIError | AnthropicError | GeminiError,
    },
}


class HopOut(BaseModel):
    step: str
    ref: str
    to: str
    detail: str


class NoticeOut(BaseModel):
    id: str
    text: str


class ResolutionOut(BaseModel):
    ref: str
    modelId: str | None
    hops: list[HopOut]
    notice: NoticeOut | None


class ResolvedModel(ModelRecord):
    """A published record plus how the reference led to it."""

    resolution: ResolutionOut


class ModelPage(BaseModel):
    data: list[ModelRecord]
    total: int
    nextCursor: str | None
    runId: str


class CuratedEntry(Open):
    id: str
    alias: str | None
    rank: float | None
    scores: dict[str, Any]
    model: ModelRecord | None


class CuratedOut(BaseModel):
    available: bool
    runId: str | None
    buckets: dict[str, list[CuratedEntry]]


class Health(BaseModel):
    status: Literal["ok"]


class Ready(Open):
    ready: bool
    reason: str | None


class AdminStatus(Open):
    status: dict[str, Any] | None
    reader: dict[str, Any]
    refresh: dict[str, Any]
    lease: dict[str, Any] | None


class RefreshBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Annotated[str, Field(pattern=SCOPE_PATTERN, max_length=64)] = "all"
    """`all`, `openrouter`, `providers`, `curated`, `sweep`, or one provider source."""


REFRESH_BODY_LIMIT = 4096
"""Bytes: a refresh body is `{"scope": …}`; anything longer is not one."""


async def refresh_body(request: Request) -> RefreshBody | None:
    """The refresh body parsed as JSON whatever its Content-Type (``curl -d '{"scope":…}'``
    sends ``application/x-www-form-urlencoded``); an empty body means scope `all`."""
    raw = await request.body()
    if len(raw) > REFRESH_BODY_LIMIT:
        raise HTTPException(413, f"refresh body over {REFRESH_BODY_LIMIT} bytes")
    if not raw.strip():
        return None
    try:
        return RefreshBody.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from exc


class RefreshAccepted(BaseModel):
    runId: str
    scope: str
    state: str
    statusUrl: str


class RunOut(Open):
    runId: str
    state: str
    outcome: str | None


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        304: "Not modified: If-None-Match matched the current ETag.",
        401: "Missing or wrong bearer token.",
        403: "Admin API disabled (CATALOG_ADMIN_TOKEN unset).",
        404: "Not found.",
        409: "A refresh is already running or the run lease is held.",
        503: "No catalog loaded (yet).",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        if code == 304:
            out[code] = {"description": text[code]}
        else:
            out[code] = {"description": text[code], "model": Problem}
    return out


# ── helpers ───────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Body:
    """Serialized once: the bytes, their ETag, (built on first use) the raw headers and the
    gzip variant, so a body is compressed at most once per catalog version."""

    data: bytes
    etag: str
    status: int = 200
    encoding: str | None = None
    """`gzip` for the compressed variant."""
    raw: dict[tuple[str, str], list[tuple[bytes, bytes]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    variants: dict[str, Body] = field(default_factory=dict, compare=False, repr=False)

    @property
    def compressible(self) -> bool:
        return self.encoding is None and len(self.data) >= MIN_COMPRESS_BYTES

    def gzipped(self) -> Body:
        """The gzip variant (built once; racing builders produce the same bytes)."""
        variant = self.variants.get("gzip")
        if variant is None:
            etag = self.etag[:-1] + '-gz"'
            variant = Body(gzip_bytes(self.data), etag, self.status, "gzip")
            self.variants["gzip"] = variant
        return variant

    def raw_headers(self, cache: str, media_type: str) -> list[tuple[bytes, bytes]]:
        key = (cache, media_type)
        headers = self.raw.get(key)
        if headers is None:
            headers = [
                (b"content-length", str(len(self.data)).encode()),
                (b"content-type", media_type.encode()),
                (b"etag", self.etag.encode()),
                (b"cache-control", cache.encode()),
            ]
            if self.encoding is not None:
                headers.append((b"content-encoding", self.encoding.encode()))
            if self.encoding is not None or self.compressible:
                # Either variant may be served for this URL: caches must key on the header.
                headers.append((b"vary", b"Accept-Encoding"))
            self.raw[key] = headers
        return headers


class Prebuilt(Response):
    """A response from a cached Body: no per-request header encoding."""

    def __init__(self, body: Body, cache: str, media_type: str) -> None:
        self.status_code = body.status
        self.body = body.data
        self.background = None
        self.raw_headers = list(body.raw_headers(cache, media_type))


SCRUB_LIMIT = 256 * 1024


def encode(document: Any, status: int = 200) -> Body:
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # Admin answers and errors carry run errors: no secret leaves (docs/hardening.md). Large
    # bodies are catalog pages built from published artifacts, scrubbed when they were
    # written; scanning each again would cost more than building it.
    if len(data) <= SCRUB_LIMIT:
        data = redact.redact_bytes(data)
    return Body(data, f'"{hashlib.sha256(data).hexdigest()[:24]}"', status)


def _matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    # Either representation's tag (identity or `-gz`) names the same content.
    return any(
        tag.strip().removeprefix("W/").replace('-gz"', '"') == etag for tag in header.split(",")
    )


def respond(
    request: Request, body: Body, cache: str, media_type: str = "application/json"
) -> Response:
    """``body`` (or its gzip variant when the client accepts gzip), or 304 on a matching ETag."""
    condition = accept = None
    for name, value in request.scope["headers"]:
        if name == b"if-none-match":
            condition = value
        elif name == b"accept-encoding":
            accept = value
    chosen = body.gzipped() if accept and body.compressible and accepts_gzip(accept) else body
    if (
        condition is not None
        and body.status == 200
        and _matches(condition.decode("latin-1"), body.etag)
    ):
        headers = {"ETag": chosen.etag, "Cache-Control": cache}
        if chosen is not body or body.compressible:
            headers["Vary"] = "Accept-Encoding"
        return Response(status_code=304, headers=headers)
    return Prebuilt(chosen, cache, media_type)


def _query_error(name: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ["query", name], "msg": message, "type": "value_error", "input": None}]
    )


def _parameter(
    name: str,
    where: str,
    description: str,
    schema: dict[str, Any] | None = None,
    *,
    required: bool = False,
) -> dict[str, Any]:
    """One OpenAPI parameter object for ``openapi_extra``: the native routes read their query
    and headers raw (the shape decides which apply), so FastAPI cannot declare them itself.
    ``schema`` defaults to a plain string."""
    return {
        "name": name,
        "in": where,
        "required": required,
        "description": description,
        "schema": {"type": "string"} if schema is None else schema,
    }


FORMAT_PARAMETER = _parameter(
    "format",
    "query",
    "Response shape; without it: `gemini` when `x-goog-api-key` is sent, "
    "`anthropic` when `anthropic-version` is sent, else `openai`.",
    {"type": "string", "enum": list(formats.FORMATS)},
)
INCLUDE_PARAMETER = _parameter(
    "include",
    "query",
    "`deprecated` adds deprecated models to active and stale ones.",
    {"type": "string", "enum": ["deprecated"]},
)
ANTHROPIC_PARAMETERS = [
    _parameter(
        "limit",
        "query",
        "Anthropic shape: models per page (newest first).",
        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20},
    ),
    _parameter("after_id", "query", "Anthropic shape: the page after this model id (`last_id`)."),
    _parameter(
        "before_id", "query", "Anthropic shape: the page before this model id (`first_id`)."
    ),
]
GEMINI_PARAMETERS = [
    _parameter(
        "pageSize",
        "query",
        "Gemini shape: models per page (0 = 50; above 1000 reads as 1000).",
        {"type": "integer", "minimum": 0, "default": 50},
    ),
    _parameter("pageToken", "query", "Gemini shape: `nextPageToken` of the previous page."),
]
SHAPE_HEADERS = [
    _parameter(
        "anthropic-version", "header", "Sent by Anthropic's SDKs: selects the Anthropic shape."
    ),
    _parameter(
        "x-goog-api-key",
        "header",
        "Sent by Google's SDKs: selects the Gemini shape (the key is ignored).",
    ),
]
KEY_PARAMETER = _parameter(
    "key", "query", "Gemini's REST way to pass a key: selects the Gemini shape (ignored)."
)
NAME_PARAMETER = _parameter(
    "name",
    "path",
    "`<id>` (may contain `/`), alias, provider-native or dated id.",
    required=True,
)
AVAILABLE_PARAMETER = _parameter(
    "available",
    "query",
    "`true`: only models with an available or cooling-down client (runtime "
    "availability), each with `availability` {state, retryAt, reason}.",
    {"type": "string", "enum": ["true", "false"], "default": "false"},
)
REF_PARAMETER = _parameter(
    "ref",
    "path",
    "Id (may contain `/`), alias, old id or old alias.",
    # Starlette's `path` converter (`.*`) never matches a line break: such a path is not this
    # route at all (a plain 404), so the spec does not promise one.
    {"type": "string", "pattern": "^[^\\r\\n]+$"},
    required=True,
)


def _as_body(built: Any) -> Body:
    return built if isinstance(built, Body) else encode(built)


def _bounded(value: str | None, name: str, bounds: tuple[int, int], *, clamp: bool) -> int:
    """A page size from the query: ``bounds`` is (default, maximum). ``clamp`` reads 0 as the
    default and too large as the maximum (Gemini); otherwise 1..maximum or an error
    (Anthropic)."""
    default, maximum = bounds
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise formats.FormatError(name, f"{name} must be an integer (got {value!r})") from None
    if clamp:
        if number < 0:
            raise formats.FormatError(name, f"{name} must not be negative (got {number})")
        return default if number == 0 else min(number, maximum)
    if not 1 <= number <= maximum:
        raise formats.FormatError(name, f"{name} must be between 1 and {maximum} (got {number})")
    return number


def _buckets(snap: Snapshot, bucket: str | None) -> dict[str, list[dict[str, Any]]]:
    if bucket is None:
        return snap.curated()
    return {bucket: snap.curated(bucket)}


def _encode_cursor(model_id: str) -> str:
    return base64.urlsafe_b64encode(model_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _query_error("cursor", "not a cursor returned by this API") from exc


# ── the app ───────────────────────────────────────────────────────────────────────────────


def create_app(
    registry: Registry,
    *,
    admin_token: str | None = None,
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    config_path: str | None = None,
    runner: JobRunner = run_job_adapter,
    cors_origins: Sequence[str] | None = ("*",),
) -> FastAPI:
    """The reader service over ``registry``. ``refresh_seconds`` 0 disables polling.
    ``cors_origins``: origins whose pages may read the catalog (``*`` = any; empty = none)."""
    metrics = Metrics()
    refresher = Refresher(registry, config_path=config_path, runner=runner)
    stop = threading.Event()

    def poll_loop() -> None:
        while not stop.wait(refresh_seconds):
            registry.refresh()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not registry.loaded:
            registry.refresh()
        poller = None
        if refresh_seconds > 0:
            poller = threading.Thread(target=poll_loop, name="catalog-poll", daemon=True)
            poller.start()
        yield
        stop.set()
        if poller is not None:
            poller.join(timeout=5)

    app = FastAPI(
        title="model-catalog reader",
        version=__version__,
        description="Serves the published LLM model catalog: native /v1/models lists, "
        "resolution, search, curated buckets, deprecations, admin status and refresh.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.registry = registry
    hardening.install(app)
    app.state.refresher = refresher
    app.state.metrics = metrics
    app.include_router(explorer_router(registry))  # the web explorer (pipeline/web)

    def snapshot() -> Snapshot:
        try:
            return registry.snapshot
        except CatalogUnavailable as exc:
            raise HTTPException(503, f"catalog not loaded: {exc}") from exc

    def cached(key: tuple[Any, ...], build: Callable[[Snapshot], Any]) -> Body:
        snap = snapshot()
        return snap.memo(("body", *key), lambda: encode(build(snap)))

    def admin(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> None:
        if not admin_token:
            raise HTTPException(403, f"admin API disabled: set {ADMIN_TOKEN_ENV} to enable it")
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), admin_token.encode()):
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # A path no route matches (an id with a control character, say) under the native
        # prefixes still answers in the API's own envelope, so its SDK raises a typed error.
        if exc.status_code == 404 and request.url.path.startswith(NATIVE_PREFIXES):
            try:
                format = formats.pick_format(None, request.scope["headers"])
            except formats.FormatError:
                format = "openai"
            if request.url.path.startswith("/v1beta/"):
                format = "gemini"
            message = redact.redact(f"no route or model at {request.url.path!r}")
            return JSONResponse(formats.error_body(format, 404, message), status_code=404)
        # Issue 12: an error detail may quote what a client sent (a run id, a path): scrubbed.
        return hardening.scrubbed(exc)

    @app.exception_handler(QueryError)
    async def on_query_error(_: Request, exc: QueryError) -> JSONResponse:
        detail = [{"loc": ["query"], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    # -- probes ----------------------------------------------------------------------------

    health = encode({"status": "ok"})

    @app.get("/healthz", response_model=None, responses={200: {"model": Health}, **_errors(304)})
    async def healthz(request: Request) -> Response:
        """Liveness: the process answers."""
        return respond(request, health, LIVE_CACHE)

    @app.get(
        "/readyz",
        response_model=None,
        responses={200: {"model": Ready}, 503: {"model": Ready}, **_errors(304)},
    )
    async def readyz(request: Request) -> Response:
        """Readiness: a catalog is loaded and younger than the configured maximum age."""
        snap = registry._snapshot
        state: dict[str, Any] = {"maxAgeSeconds": max_age_seconds, "error": registry.error}
        reason: str | None = None
        if snap is None:
            reason = f"no catalog loaded: {registry.error or 'not loaded yet'}"
        else:
            age = snap.age_seconds(time.time())
            state.update(
                runId=snap.run_id, version=snap.version, dataAsOf=snap.data_as_of, ageSeconds=age
            )
            if age is None or age > max_age_seconds:
                reason = (
                    f"catalog of run {snap.run_id} has data as of {snap.data_as_of}, "
                    f"older than {max_age_seconds:.0f}s"
                )
        body = encode({"ready": reason is None, "reason": reason, **state}, 503 if reason else 200)
        return respond(request, body, LIVE_CACHE)

    # -- native lists ----------------------------------------------------------------------

    # The native routes read their few parameters from the request themselves: FastAPI's
    # per-request parameter solving costs about as much as the rest of the request, and would
    # keep them well under the throughput of a constant-bytes endpoint. The parameters are
    # declared in the spec by hand (openapi_extra); errors come in each API's own envelope
    # (formats.error_body), which its SDK turns into a typed exception.

    def native_error(
        request: Request, format: str, status: int, message: str, param: str | None = None
    ) -> Response:
        code = "model_not_found" if status == 404 else None
        body = encode(formats.error_body(format, status, message, param=param, code=code), status)
        return respond(request, body, LIVE_CACHE)

    def served(
        request: Request, format: str, key: tuple[Any, ...], build: Callable[[Snapshot], Any]
    ) -> Response:
        """A native answer from the memo; a FormatError or a missing catalog in the native
        error envelope."""
        snap = registry._snapshot
        if snap is None:
            reason = registry.error or "not loaded yet"
            return native_error(request, format, 503, f"catalog not loaded: {reason}")
        try:
            body = snap.memo(("native", format, *key), lambda: _as_body(build(snap)))
        except formats.FormatError as exc:
            return native_error(request, format, 400, str(exc), exc.param)
        return respond(request, body, CATALOG_CACHE)

    def listed(snap: Snapshot, include: str | None) -> list[dict[str, Any]]:
        """Active and stale models (plus deprecated ones on request), by id."""
        states = {"active", "stale"} | ({"deprecated"} if include == "deprecated" else set())
        return snap.memo(
            ("listed", include),
            lambda: [m for m in snap.models if m.get("lifecycle", {}).get("state") in states],
        )

    def anthropic_ordered(snap: Snapshot, include: str | None) -> tuple[list[Any], dict[str, int]]:
        def build() -> tuple[list[Any], dict[str, int]]:
            ordered = formats.anthropic_order(listed(snap, include))
            return ordered, {str(m["id"]): i for i, m in enumerate(ordered)}

        return snap.memo(("anthropic-order", include), build)

    def list_in(request: Request, format: str) -> Response:
        query = request.query_params
        include = query.get("include")
        if include not in (None, "deprecated"):
            message = f"include must be 'deprecated' (got {include!r})"
            return native_error(request, format, 400, message, "include")
        available = query.get("available")
        if available not in (None, "true", "false"):
            message = f"available must be 'true' or 'false' (got {available!r})"
            return native_error(request, format, 400, message, "available")
        if available == "true":  # runtime availability (issue 18): the whole list, no paging
            return runtime_api.available_list(request, registry, snapshot(), format, include)
        if format == "openai":
            return served(
                request,
                format,
                ("list", include),
                lambda s: formats.LISTS["openai"](listed(s, include)),
            )
        if format == "anthropic":
            try:
                limit = _bounded(query.get("limit"), "limit", formats.ANTHROPIC_LIMIT, clamp=False)
            except formats.FormatError as exc:
                return native_error(request, format, 400, str(exc), exc.param)
            after, before = query.get("after_id"), query.get("before_id")

            def anthropic(snap: Snapshot) -> Any:
                ordered, position = anthropic_ordered(snap, include)
                return formats.anthropic_page(
                    ordered, limit=limit, after_id=after, before_id=before, position=position
                )

            return served(request, format, ("list", include, limit, after, before), anthropic)
        try:
            size = _bounded(query.get("pageSize"), "pageSize", formats.GEMINI_PAGE_SIZE, clamp=True)
        except formats.FormatError as exc:
            return native_error(request, format, 400, str(exc), exc.param)
        token = query.get("pageToken") or None

        def gemini(snap: Snapshot) -> Any:
            return formats.gemini_page(listed(snap, include), page_size=size, page_token=token)

        return served(request, format, ("list", include, size, token), gemini)

    def model_in(request: Request, format: str, ref: str) -> Response:
        def build(snap: Snapshot) -> Body:
            resolution = snap.resolve(ref)
            if resolution.model is None:
                message = formats.not_found_message(ref, snap.close_matches(ref))
                code = "model_not_found"
                return encode(
                    formats.error_body(format, 404, message, param="model", code=code), 404
                )
            return encode(formats.MODELS[format](resolution.model))

        return served(request, format, ("model", ref), build)

    def in_requested_format(request: Request, answer: Callable[[str], Response]) -> Response:
        """``answer`` in the shape the request picks (`format`, else the SDK's headers or
        `key`); a bad `format` is a 400 in OpenAI's error shape."""
        try:
            query = request.query_params
            format = formats.pick_format(
                query.get("format"), request.scope["headers"], query_key="key" in query
            )
        except formats.FormatError as exc:
            return native_error(request, "openai", 400, str(exc), exc.param)
        return answer(format)

    list_parameters = [
        FORMAT_PARAMETER,
        INCLUDE_PARAMETER,
        AVAILABLE_PARAMETER,
        *ANTHROPIC_PARAMETERS,
        *GEMINI_PARAMETERS,
        KEY_PARAMETER,
        *SHAPE_HEADERS,
    ]

    @app.get(
        "/v1/models",
        response_model=None,
        responses={
            200: {"model": OpenAIList | AnthropicList | GeminiList},
            **_errors(304),
            **NATIVE_ERRORS,
        },
        openapi_extra={"parameters": list_parameters},
    )
    async def list_models(request: Request) -> Response:
        """The model list in the native shape of the OpenAI, Anthropic or Gemini API: `format`
        when given, else Gemini's with `x-goog-api-key`, Anthropic's with `anthropic-version`,
        else OpenAI's (the whole list). Anthropic pages newest first (`limit`, `after_id`,
        `before_id`); Gemini pages by id (`pageSize`, `pageToken`)."""
        return in_requested_format(request, lambda format: list_in(request, format))

    @app.get(
        "/v1/models/{ref:path}",
        response_model=None,
        responses={
            200: {"model": OpenAIModel | AnthropicModel | GeminiModel},
            **_errors(304),
            **NATIVE_ERRORS,
        },
        openapi_extra={
            "parameters": [REF_PARAMETER, FORMAT_PARAMETER, KEY_PARAMETER, *SHAPE_HEADERS]
        },
    )
    async def get_model(request: Request) -> Response:
        """One model in the list's shape, found by id, alias, old id, provider-native id or
        dated id. The catalog's full record is at `/api/models/{ref}`."""
        return in_requested_format(
            request, lambda format: model_in(request, format, request.path_params["ref"])
        )

    @app.get(
        "/v1beta/models",
        response_model=None,
        responses={200: {"model": GeminiList}, **_errors(304), **NATIVE_ERRORS},
        openapi_extra={"parameters": [INCLUDE_PARAMETER, *GEMINI_PARAMETERS]},
    )
    async def gemini_list(request: Request) -> Response:
        """The model list in the Gemini API's shape (where Google's SDKs look for it)."""
        return list_in(request, "gemini")

    @app.get(
        "/v1beta/models/{name:path}",
        response_model=None,
        responses={200: {"model": GeminiModel}, **_errors(304), **NATIVE_ERRORS},
        openapi_extra={"parameters": [NAME_PARAMETER]},
    )
    async def gemini_get(request: Request) -> Response:
        """One model as a Gemini `Model`: `models/<id>` or `<id>` (an id may hold a `/`)."""
        return model_in(request, "gemini", request.path_params["name"].removeprefix("models/"))

    # -- search, curated, deprecations -----------------------------------------------------

    @app.get(
        "/api/models",
        response_model=None,
        responses={200: {"model": ModelPage}, **_errors(304, 503)},
    )
    async def search_models(  # noqa: PLR0917 - FastAPI query parameters
        request: Request,
        capability: Annotated[
            str | None,
            Query(
                pattern=_enum_list_pattern(list(CAPABILITIES)),
                description=f"One or more (comma-separated, all must hold) of "
                f"{', '.join(CAPABILITIES)}.",
            ),
        ] = None,
        tier: Annotated[
            str | None,
            Query(pattern=_enum_list_pattern(TIERS), description="Price tier(s), comma-separated."),
        ] = None,
        bucket: Annotated[
            Literal["coding", "reasoning", "chat", "fastCheap", "vision", "imageGen"] | None,
            Query(description="Curated bucket membership."),
        ] = None,
        state: Annotated[
            str | None,
            Query(pattern=_enum_list_pattern(STATES), description="Lifecycle state(s)."),
        ] = None,
        provider: Annotated[
            str | None, Query(max_length=100, description="Provider or family (vendor prefix).")
        ] = None,
        q: Annotated[
            str | None, Query(max_length=200, description="Substring of id, alias or name.")
        ] = None,
        open_weights: Annotated[
            bool | None,
            Query(description="true: models whose weights the feed names; false: the others."),
        ] = None,
        knowledge_cutoff_after: Annotated[
            str | None,
            Query(
                pattern=r"^\d{4}-\d{2}(-\d{2})?$",
                description="Models with a training cutoff later than this date (YYYY-MM-DD).",
            ),
        ] = None,
        served_by: Annotated[
            str | None,
            Query(
                max_length=100,
                description="Some offer (issue 16) is by this provider name or tag "
                "(`DeepInfra`, `deepinfra/fp8`).",
            ),
        ] = None,
        max_offer_price: Annotated[
            float | None,
            Query(ge=0, description="Some offer costs at most this, USD per 1M input tokens."),
        ] = None,
        quantization: Annotated[
            str | None,
            Query(max_length=40, description="Some offer serves this quantization (`fp8`, …)."),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Annotated[
            str | None,
            Query(
                max_length=1024,
                pattern=r"^[A-Za-z0-9_-]+$",
                description="`nextCursor` of the previous page.",
            ),
        ] = None,
    ) -> Response:
        """Search the catalog; pages of `limit` models in id order. The offer filters hold
        when one offer meets all of them."""
        after = _decode_cursor(cursor) if cursor else None
        filters = (
            capability,
            tier,
            bucket,
            state,
            provider,
            q,
            open_weights,
            knowledge_cutoff_after,
            served_by,
            max_offer_price,
            quantization,
        )

        def matching(snap: Snapshot) -> list[dict[str, Any]]:
            return snap.search(
                capability=capability,
                tier=tier,
                bucket=bucket,
                state=state,
                provider=provider,
                q=q,
                open_weights=open_weights,
                knowledge_cutoff_after=knowledge_cutoff_after,
                served_by=served_by,
                max_offer_price=max_offer_price,
                quantization=quantization,
            )

        def build(snap: Snapshot) -> Any:
            found = snap.memo(("search", *filters), lambda: matching(snap))
            ids = snap.memo(("search-ids", *filters), lambda: [str(m["id"]) for m in found])
            start = bisect.bisect_right(ids, after) if after is not None else 0
            page = found[start : start + limit]
            more = start + limit < len(found)
            return {
                "data": page,
                "total": len(found),
                "nextCursor": _encode_cursor(str(page[-1]["id"])) if more and page else None,
                "runId": snap.run_id,
            }

        # Only first pages are cached: a cursor is any string a client likes, so caching
        # cursor pages let clients create entries at will (issue 12). A cursor page costs a
        # bisect over the memoized ids and the encoding of one page.
        if after is None:
            body = cached(("page", *filters, limit), build)
        else:
            body = encode(build(snapshot()))
        return respond(request, body, CATALOG_CACHE)

    @app.get(
        "/api/models/curated",
        response_model=None,
        responses={200: {"model": CuratedOut}, **_errors(304, 503)},
    )
    async def curated(
        request: Request,
        bucket: Annotated[
            Literal["coding", "reasoning", "chat", "fastCheap", "vision", "imageGen"] | None,
            Query(description="Only this bucket."),
        ] = None,
    ) -> Response:
        """The curated shortlist per bucket, with scores and each model's record."""

        def build(snap: Snapshot) -> Any:
            available = snap.set.curated is not None
            return {
                "available": available,
                "runId": (snap.set.curated or {}).get("runId") if available else None,
                "buckets": _buckets(snap, bucket) if available else {},
            }

        return respond(request, cached(("curated", bucket), build), CATALOG_CACHE)

    app.include_router(core_router)  # /api/models/core: before any /api/models/{ref} route

    @app.get(
        "/api/models/deprecations",
        response_model=None,
        responses={200: {"model": Deprecations}, **_errors(304, 503)},
    )
    async def deprecations(request: Request) -> Response:
        """Redirects, tombstones of removed models and alias history, as published."""

        def build(snap: Snapshot) -> Any:
            if snap.set.deprecations:
                return snap.set.deprecations
            # Not published yet: an empty document of the same shape.
            return {
                "schemaVersion": 1,
                "generatedAt": snap.generated_at,
                "runId": snap.run_id,
                "redirects": [],
                "tombstones": [],
                "aliasHistory": [],
            }

        return respond(request, cached(("deprecations",), build), CATALOG_CACHE)

    # -- one model: the catalog's own record ----------------------------------------------

    @app.get(
        RECORD_ROUTE,
        response_model=None,
        responses={
            200: {"model": ResolvedModel},
            404: {"model": NotFound, "description": "Nothing resolves; close matches given."},
            **_errors(304, 503),
        },
        openapi_extra={"parameters": [REF_PARAMETER]},
    )
    async def get_record(request: Request) -> Response:
        """The published record of one model, resolved through aliases, redirects, alias
        history, provider-native and dated ids, with `resolution` (hops, notice)."""
        ref: str = request.path_params["ref"]

        def build(snap: Snapshot) -> Body:
            resolution = snap.resolve(ref)
            if resolution.model is None:
                matches = snap.close_matches(ref)
                return encode({"detail": f"no model matches {ref!r}", "closeMatches": matches}, 404)
            return encode({**resolution.model, "resolution": resolution.as_dict()})

        snap = snapshot()
        body = snap.memo(("model", ref), lambda: build(snap))
        return respond(request, body, CATALOG_CACHE)

    # -- admin -----------------------------------------------------------------------------

    admin_errors = _errors(304, 401, 403)

    @app.get(
        "/api/admin/models/status",
        response_model=None,
        dependencies=[Depends(admin)],
        responses={200: {"model": AdminStatus}, **admin_errors},
    )
    def admin_status(request: Request) -> Response:
        """status.json as published, the reader's own state, refreshes and the run lease."""
        problems: list[str] = []
        status: Any = None
        lease: dict[str, Any] | None = None
        try:
            status = registry.read_document(keys.STATUS)
        except Exception as exc:  # the store may be down: still report the reader's state
            problems.append(f"status.json: {exc}")
        try:
            lease = lease_holder(registry.store, utcnow())
        except Exception as exc:
            problems.append(f"lock.json: {exc}")
        running = refresher.running
        document = {
            "status": status,
            "reader": {**registry.state(), "problems": problems},
            "refresh": {
                "running": running.as_dict() if running else None,
                "recent": refresher.recent()[:20],
                "pollSeconds": refresh_seconds,
                "maxAgeSeconds": max_age_seconds,
            },
            "lease": lease,
        }
        return respond(request, encode(document), ADMIN_CACHE)

    @app.post(
        "/api/admin/models/refresh",
        status_code=202,
        response_model=None,
        dependencies=[Depends(admin)],
        responses={202: {"model": RefreshAccepted}, **_errors(401, 403, 409)},
        # The body is read by refresh_body (any Content-Type); declared here for the spec.
        openapi_extra={
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": RefreshBody.model_json_schema()}},
            }
        },
    )
    def admin_refresh(
        body: Annotated[RefreshBody | None, Depends(refresh_body)] = None,
    ) -> Response:
        """Start a sync job in the background (same code path as `syncmodels`)."""
        scope = body.scope if body is not None else "all"
        try:
            run = refresher.start(scope)
        except RefreshBusy as exc:
            return JSONResponse({"detail": str(exc)}, status_code=409)
        log.info("admin refresh started", extra={"run_id": run.run_id, "scope": scope})
        accepted = {
            "runId": run.run_id,
            "scope": run.scope,
            "state": run.state,
            "statusUrl": f"/api/admin/models/runs/{run.run_id}",
        }
        return JSONResponse(accepted, status_code=202)

    @app.get(
        "/api/admin/models/runs/{run_id}",
        response_model=None,
        dependencies=[Depends(admin)],
        responses={200: {"model": RunOut}, **admin_errors, **_errors(404)},
    )
    def admin_run(
        request: Request,
        run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN, max_length=128)],
    ) -> Response:
        """A refresh started here (running or finished), or any pipeline run report."""
        found = refresher.lookup(run_id)
        if found is None:
            raise HTTPException(404, f"no run {run_id!r} (neither a refresh here nor a report)")
        return respond(request, encode(found), ADMIN_CACHE)

    # -- metrics and spec ------------------------------------------------------------------

    @app.get(
        "/metrics",
        response_model=None,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text."}},
    )
    def prometheus(request: Request) -> Response:
        """Requests, latency, catalog age, models by state, refreshes (Prometheus text)."""
        data = metrics.render(registry, refreshing=refresher.running is not None)
        body = Body(data, f'"{hashlib.sha256(data).hexdigest()[:24]}"')
        return respond(request, body, LIVE_CACHE, "text/plain; version=0.0.4; charset=utf-8")

    spec: list[Body] = []

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> Response:
        if not spec:
            spec.append(encode(app.openapi()))
        return respond(request, spec[0], "public, max-age=300")

    from pipeline.registry.offers_api import router as offers_router  # issue 16

    app.include_router(offers_router)

    app.include_router(runtime_api.runtime_router(registry))  # /api/runtime (issue 18)

    app.include_router(telemetry_router(registry, config_path=config_path))

    # Routes match in registration order, and `/api/models/{ref:path}` matches every path
    # under /api/models/. Keep it last, whatever registers more specific /api/models/...
    # routes (curated, deprecations, core, {ref}/offers, routers included above): moved to
    # the end here, after every route and router has been added.
    app.router.routes.sort(key=lambda route: getattr(route, "path", None) == RECORD_ROUTE)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    # Added last = outermost: HEAD, trailing slashes and CORS apply before routing (and the
    # metrics see the route the request reached).
    app.add_middleware(HttpHygiene, cors_origins=cors_origins)
    return app


def serve(
    store_uri: str | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    config_path: str | None = None,
    admin_token: str | None = None,
    store_options: dict[str, Any] | None = None,
    cors_origins: Sequence[str] | None = ("*",),
) -> None:
    """Run the service until interrupted (``catalog serve``)."""
    import uvicorn

    from pipeline.publishing.store import open_store

    registry = Registry(open_store(store_uri, **(store_options or {})))
    result = registry.refresh()
    if result.error:
        log.warning("starting without a catalog; will keep polling", extra={"error": result.error})
    app = create_app(
        registry,
        admin_token=admin_token,
        refresh_seconds=refresh_seconds,
        max_age_seconds=max_age_seconds,
        config_path=config_path,
        cors_origins=cors_origins,
    )
    log.info(
        "serving",
        extra={"store": registry.store.uri, "host": host, "port": port, "admin": bool(admin_token)},
    )
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=True)


__all__ = [
    "ADMIN_TOKEN_ENV",
    "DEFAULT_MAX_AGE_SECONDS",
    "DEFAULT_REFRESH_SECONDS",
    "create_app",
    "serve",
]
