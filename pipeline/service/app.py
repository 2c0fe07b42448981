"""The reader over HTTP (``catalog serve``): the FastAPI app, its middleware and error
envelopes, the probes and metrics, on uvicorn.

Hot paths answer from bytes serialized once per catalog version (``bodies``: ``Snapshot.memo``),
with an ETag derived from those bytes; ``If-None-Match`` gets a 304. Handlers return
``Response`` objects directly, so nothing is re-validated or re-encoded per request; response
models only document the shapes in ``/openapi.json``. gzip, HEAD, CORS and trailing slashes:
``http.HttpHygiene`` plus the gzip variant each cached ``bodies.Body`` keeps.

The routes live with what they serve, each module registering its own on the app:

- ``native_routes``: ``/v1/models``, ``/v1beta/models`` in the OpenAI, Anthropic and Gemini
  shapes, so each official SDK works with only its base URL changed;
- ``catalog_routes``: search, curated buckets and core (``core_routes``), deprecations, and
  the catalog's own record at ``/api/models/{ref}``;
- ``admin_routes``: status, refresh and runs behind ``CATALOG_ADMIN_TOKEN`` (403 when unset);
- routers: offers (``offers_routes``), the provider lists (``provider_routes``), the
  availability overlay (``runtime_routes``), telemetry
  (``pipeline.telemetry.api``) and the web explorer (``pipeline.web.routes``).
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline import __version__
from pipeline.logs import redact
from pipeline.registry import formats
from pipeline.registry.core import Registry
from pipeline.registry.filters import QueryError
from pipeline.registry.freshness import DEFAULT_STALE_AFTER
from pipeline.service import hardening, runtime_routes
from pipeline.service.admin import JobRunner, Refresher, run_job_adapter
from pipeline.service.admin_routes import ADMIN_TOKEN_ENV, add_admin_routes
from pipeline.service.bodies import LIVE_CACHE, Body, encode, etag_of, respond
from pipeline.service.catalog_routes import RECORD_ROUTE, add_catalog_routes
from pipeline.service.http import HttpHygiene
from pipeline.service.metrics import Metrics, MetricsMiddleware
from pipeline.service.native_routes import NATIVE_PREFIXES, add_native_routes
from pipeline.service.offers_routes import router as offers_router
from pipeline.service.provider_routes import provider_router
from pipeline.service.spec import Open, error_responses
from pipeline.telemetry.api import telemetry_router
from pipeline.web.routes import build_router as explorer_router

log = logging.getLogger("pipeline.registry.service")

DEFAULT_REFRESH_SECONDS = 30.0
DEFAULT_MAX_AGE_SECONDS = 86_400.0
"""Readiness: the OpenRouter refresh runs every 6 hours, so a day-old catalog means about four
missed runs — time to stop routing to this reader."""


class Health(BaseModel):
    status: Literal["ok"]


class Ready(Open):
    ready: bool
    reason: str | None


def create_app(
    registry: Registry,
    *,
    admin_token: str | None = None,
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    config_path: str | None = None,
    runner: JobRunner = run_job_adapter,
    cors_origins: Sequence[str] | None = ("*",),
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    public_url: str = "",
) -> FastAPI:
    """The reader service over ``registry``. ``refresh_seconds`` 0 disables polling.
    ``cors_origins``: origins whose pages may read the catalog (``*`` = any; empty = none).
    ``stale_after``: the explorer's pages over older data say how old in a banner.
    ``public_url``: the absolute URL clients reach the service at, for the links of the Atom
    feed (empty: relative links; never the request's Host)."""
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
    app.include_router(explorer_router(registry, stale_after, public_url=public_url))  # web

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

    @app.get(
        "/healthz", response_model=None, responses={200: {"model": Health}, **error_responses(304)}
    )
    async def healthz(request: Request) -> Response:
        """Liveness: the process answers."""
        return respond(request, health, LIVE_CACHE)

    @app.get(
        "/readyz",
        response_model=None,
        responses={200: {"model": Ready}, 503: {"model": Ready}, **error_responses(304)},
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

    add_native_routes(app, registry)
    add_catalog_routes(app, registry)
    add_admin_routes(
        app,
        registry,
        refresher,
        admin_token=admin_token,
        refresh_seconds=refresh_seconds,
        max_age_seconds=max_age_seconds,
    )

    # -- metrics and spec ------------------------------------------------------------------

    @app.get(
        "/metrics",
        response_model=None,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text."}},
    )
    def prometheus(request: Request) -> Response:
        """Requests, latency, catalog age, models by state, refreshes (Prometheus text)."""
        data = metrics.render(registry, refreshing=refresher.running is not None)
        body = Body(data, etag_of(data))
        return respond(request, body, LIVE_CACHE, "text/plain; version=0.0.4; charset=utf-8")

    document: list[Body] = []  # the spec, encoded on first request

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> Response:
        if not document:
            document.append(encode(app.openapi()))
        return respond(request, document[0], "public, max-age=300")

    app.include_router(offers_router)  # /api/models/{ref}/offers (issue 16)
    app.include_router(provider_router(registry))  # /api/providers… (issue 30)

    app.include_router(runtime_routes.runtime_router(registry))  # /api/runtime (issue 18)

    app.include_router(telemetry_router(registry, config_path=config_path))

    # Routes match in registration order, and `/api/models/{ref:path}` matches every path
    # under /api/models/. Keep it last, whatever registers more specific /api/models/...
    # routes (curated, deprecations, core, {ref}/offers, routers included above): moved to
    # the end here, after every route and router has been added. The native routes go first:
    # FastAPI tries each route before them in turn (about 4 µs a miss, the explorer's dozen
    # included), which was a third of a cached list's time on the server; no other route
    # matches a path under their prefixes, so no request reaches a different route.
    app.router.routes.sort(key=_match_order)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    # Added last = outermost: HEAD, trailing slashes and CORS apply before routing (and the
    # metrics see the route the request reached).
    app.add_middleware(HttpHygiene, cors_origins=cors_origins)
    return app


def _match_order(route: Any) -> int:
    """0 for the native routes (tried first), 2 for the catch-all record route (last)."""
    path = getattr(route, "path", None)
    if path == RECORD_ROUTE:
        return 2
    return 0 if isinstance(path, str) and path.startswith(NATIVE_PREFIXES) else 1


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
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    public_url: str = "",
) -> None:
    """Run the service until interrupted (``catalog serve``). A port it cannot listen on (in
    use, not allowed) raises OSError naming the address, before the catalog is loaded."""
    import uvicorn

    from pipeline.publishing.store import open_store

    sock = listen(host, port)
    try:  # the socket is closed whatever stops the start (a bad token entry, a store error)
        # warm: a set loaded through the compact index is parsed in full in the background.
        registry = Registry(open_store(store_uri, **(store_options or {})), warm=True)
        result = registry.refresh()
        if result.error:
            log.warning(
                "starting without a catalog; will keep polling", extra={"error": result.error}
            )
        app = create_app(
            registry,
            admin_token=admin_token,
            refresh_seconds=refresh_seconds,
            max_age_seconds=max_age_seconds,
            config_path=config_path,
            cors_origins=cors_origins,
            stale_after=stale_after,
            public_url=public_url,
        )
        log.info(
            "serving",
            extra={
                "store": registry.store.uri,
                "host": host,
                "port": port,
                "admin": bool(admin_token),
            },
        )
        server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_config=None, access_log=True)
        )
        try:
            server.run(sockets=[sock])
        except SystemExit as exc:
            # uvicorn exits 3 when its start-up fails; here 3 means "the run lease is held".
            raise OSError(f"catalog serve did not start on {host}:{port} (see the log)") from exc
        except KeyboardInterrupt:
            pass
    finally:
        sock.close()
    if not server.started:
        raise OSError(f"catalog serve did not start on {host}:{port} (see the log)")


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` for uvicorn; OSError saying which address and what
    to do when it cannot be had (another process listens there, a port below 1024, ...)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = (
            "another process listens there: stop it or choose another --port"
            if exc.errno == errno.EADDRINUSE
            else "choose another --host or --port"
        )
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}; {hint}") from exc
    return sock


__all__ = [
    "ADMIN_TOKEN_ENV",
    "DEFAULT_MAX_AGE_SECONDS",
    "DEFAULT_REFRESH_SECONDS",
    "create_app",
    "serve",
]
