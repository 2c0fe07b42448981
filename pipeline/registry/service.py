"""The reader over HTTP (``catalog serve``): FastAPI on uvicorn.

Hot paths answer from bytes serialized once per catalog version (``Snapshot.memo``), with an
ETag derived from those bytes; ``If-None-Match`` gets a 304. Handlers return ``Response``
objects directly, so nothing is re-validated or re-encoded per request; the response models
below only document the shapes in ``/openapi.json``.

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
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from pipeline import __version__, redact
from pipeline.publishing import keys
from pipeline.records import Deprecations, ModelRecord
from pipeline.registry import formats, hardening
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
from pipeline.registry.metrics import Metrics, MetricsMiddleware
from pipeline.timeutil import utcnow

log = logging.getLogger("pipeline.registry.service")

ADMIN_TOKEN_ENV = "CATALOG_ADMIN_TOKEN"
DEFAULT_REFRESH_SECONDS = 30.0
DEFAULT_MAX_AGE_SECONDS = 86_400.0
"""Readiness: the OpenRouter refresh runs every 6 hours, so a day-old catalog means about four
missed runs — time to stop routing to this reader."""

CATALOG_CACHE = "public, max-age=30"
"""Catalog answers change at most once per poll; clients revalidate with the ETag after that."""
LIVE_CACHE = "no-cache"
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
    closeMatches: list[str]


class OpenAIModel(Open):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str | None


class OpenAIList(Open):
    object: Literal["list"]
    data: list[OpenAIModel]


class AnthropicModel(Open):
    id: str
    type: Literal["model"]
    display_name: str
    created_at: str


class AnthropicList(Open):
    data: list[AnthropicModel]
    has_more: bool
    first_id: str | None
    last_id: str | None


class GeminiModel(Open):
    name: str
    displayName: str
    supportedGenerationMethods: list[str]
    inputTokenLimit: int | None = None
    outputTokenLimit: int | None = None


class GeminiList(Open):
    models: list[GeminiModel]


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
    """Serialized once: the bytes, their ETag and (built on first use) the raw headers."""

    data: bytes
    etag: str
    status: int = 200
    raw: dict[tuple[str, str], list[tuple[bytes, bytes]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def raw_headers(self, cache: str, media_type: str) -> list[tuple[bytes, bytes]]:
        key = (cache, media_type)
        headers = self.raw.get(key)
        if headers is None:
            headers = self.raw[key] = [
                (b"content-length", str(len(self.data)).encode()),
                (b"content-type", media_type.encode()),
                (b"etag", self.etag.encode()),
                (b"cache-control", cache.encode()),
            ]
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
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def respond(
    request: Request, body: Body, cache: str, media_type: str = "application/json"
) -> Response:
    if body.status == 200:
        for name, value in request.scope["headers"]:
            if name == b"if-none-match" and _matches(value.decode("latin-1"), body.etag):
                headers = {"ETag": body.etag, "Cache-Control": cache}
                return Response(status_code=304, headers=headers)
    return Prebuilt(body, cache, media_type)


def _query_error(name: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ["query", name], "msg": message, "type": "value_error", "input": None}]
    )


FORMAT_PARAMETER = {
    "name": "format",
    "in": "query",
    "required": False,
    "description": "Response shape.",
    "schema": {"type": "string", "enum": list(formats.FORMATS), "default": "openai"},
}
INCLUDE_PARAMETER = {
    "name": "include",
    "in": "query",
    "required": False,
    "description": "`deprecated` adds deprecated models to active and stale ones.",
    "schema": {"type": "string", "enum": ["deprecated"]},
}
REF_PARAMETER = {
    "name": "ref",
    "in": "path",
    "required": True,
    "description": "Id (may contain `/`), alias, old id or old alias.",
    "schema": {"type": "string"},
}


def _choice(value: str | None, name: str, allowed: tuple[str, ...], default: str | None) -> Any:
    if value is None:
        return default
    if value not in allowed:
        raise _query_error(name, f"Input should be one of {', '.join(allowed)}; got {value!r}")
    return value


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
) -> FastAPI:
    """The reader service over ``registry``. ``refresh_seconds`` 0 disables polling."""
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
            state.update(runId=snap.run_id, version=snap.version, ageSeconds=age)
            if age is None or age > max_age_seconds:
                reason = f"catalog of run {snap.run_id} is older than {max_age_seconds:.0f}s"
        body = encode({"ready": reason is None, "reason": reason, **state}, 503 if reason else 200)
        return respond(request, body, LIVE_CACHE)

    # -- native lists ----------------------------------------------------------------------

    # The two hottest routes read their few parameters from the request themselves: FastAPI's
    # per-request parameter solving costs about as much as the rest of the request, and would
    # keep them well under the throughput of a constant-bytes endpoint. The parameters are
    # declared in the spec by hand (openapi_extra) and validated with the same 422 shape.

    @app.get(
        "/v1/models",
        response_model=None,
        responses={200: {"model": OpenAIList | AnthropicList | GeminiList}, **_errors(304, 503)},
        openapi_extra={"parameters": [FORMAT_PARAMETER, INCLUDE_PARAMETER]},
    )
    async def list_models(request: Request) -> Response:
        """The model list in the native shape of the OpenAI, Anthropic or Gemini API."""
        query = request.query_params
        format = _choice(query.get("format"), "format", formats.FORMATS, "openai")
        include = _choice(query.get("include"), "include", ("deprecated",), None)
        states = {"active", "stale"} | ({"deprecated"} if include == "deprecated" else set())

        def build(snap: Snapshot) -> Any:
            chosen = [m for m in snap.models if m.get("lifecycle", {}).get("state") in states]
            return formats.LISTS[str(format)](chosen)

        return respond(request, cached(("list", format, include), build), CATALOG_CACHE)

    @app.get(
        "/v1/models/{ref:path}",
        response_model=None,
        responses={
            200: {"model": ResolvedModel},
            404: {"model": NotFound, "description": "Nothing resolves; close matches given."},
            **_errors(304, 503),
        },
        openapi_extra={"parameters": [REF_PARAMETER]},
    )
    async def get_model(request: Request) -> Response:
        """One model by reference, resolved through aliases, redirects and alias history."""
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
        """Search the catalog; pages of `limit` models in id order."""
        after = _decode_cursor(cursor) if cursor else None
        filters = (capability, tier, bucket, state, provider, q)

        def matching(snap: Snapshot) -> list[dict[str, Any]]:
            return snap.search(
                capability=capability, tier=tier, bucket=bucket, state=state, provider=provider, q=q
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
                "buckets": snap.curated(bucket) if available else {},
            }

        return respond(request, cached(("curated", bucket), build), CATALOG_CACHE)

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
    )
    def admin_refresh(body: RefreshBody | None = None) -> Response:
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

    app.add_middleware(MetricsMiddleware, metrics=metrics)
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
