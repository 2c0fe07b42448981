"""The admin routes: ``/api/admin/models/status``, ``/refresh`` and ``/runs/{run_id}``.

They need ``Authorization: Bearer <CATALOG_ADMIN_TOKEN>`` (constant-time compare); with the
variable unset they answer 403 — the admin API is never open by default. In: the registry, its
``admin.Refresher`` (which runs the jobs) and the token. Out: the routes, registered on the app
by ``add_admin_routes``.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from pipeline.publishing import keys
from pipeline.registry.core import Registry
from pipeline.service.admin import (
    RUN_ID_PATTERN,
    SCOPE_PATTERN,
    RefreshBusy,
    Refresher,
    lease_holder,
)
from pipeline.service.bodies import ADMIN_CACHE, encode, respond
from pipeline.service.request_bodies import documented, json_body
from pipeline.service.spec import Open, error_responses
from pipeline.timeutil import utcnow

# The service's logger: admin lines keep the name they had when these routes lived there.
log = logging.getLogger("pipeline.registry.service")

ADMIN_TOKEN_ENV = "CATALOG_ADMIN_TOKEN"

# Module level: FastAPI evaluates the (postponed) annotations that reference it.
BEARER = HTTPBearer(auto_error=False, description="The value of CATALOG_ADMIN_TOKEN.")


# ── documented shapes (OpenAPI only; never used to re-validate responses) ─────────────────


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


# The refresh body is read as JSON whatever its Content-Type (`curl -d '{"scope": …}'` sends
# a form type); an empty body means scope `all` (request_bodies.py).
refresh_body = json_body(RefreshBody, REFRESH_BODY_LIMIT, empty="{}")


class RefreshAccepted(BaseModel):
    runId: str
    scope: str
    state: str
    statusUrl: str


class RunOut(Open):
    runId: str
    state: str
    outcome: str | None


def add_admin_routes(
    app: FastAPI,
    registry: Registry,
    refresher: Refresher,
    *,
    admin_token: str | None,
    refresh_seconds: float,
    max_age_seconds: float,
) -> None:
    """Register the admin routes on ``app``; ``admin_token`` unset or empty closes them (403).
    ``refresh_seconds`` and ``max_age_seconds`` are reported in the status."""

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

    admin_errors = error_responses(304, 401, 403)

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
        responses={202: {"model": RefreshAccepted}, **error_responses(401, 403, 409)},
        # The body is read by refresh_body (any Content-Type); declared here for the spec.
        openapi_extra=documented(RefreshBody, required=False),
    )
    def admin_refresh(
        body: Annotated[RefreshBody, Depends(refresh_body)],
    ) -> Response:
        """Start a sync job in the background (same code path as `syncmodels`)."""
        scope = body.scope
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
        responses={200: {"model": RunOut}, **admin_errors, **error_responses(404)},
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


__all__ = ["ADMIN_TOKEN_ENV", "add_admin_routes"]
