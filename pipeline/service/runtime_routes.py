"""The availability overlay over HTTP: ``/api/runtime/…`` and ``/v1/models?available=true``.

Every ``/api/runtime`` route needs ``Authorization: Bearer <CATALOG_RUNTIME_TOKEN>`` (compared
in constant time, read from the environment, never logged); with the variable unset they answer
403 — the runtime API is closed by default. It is a separate token from the admin one: a
gateway reports quota errors many times a second and should not hold the key that starts syncs.

The service and a gateway embedding the library share one state per Registry
(``Availability.attach``). ``/v1/models?available=true`` is served from bytes rebuilt only when
availability (or the catalog) changed.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from pipeline.registry import formats
from pipeline.registry.availability import (
    DEFAULT_COOLDOWN_SECONDS,
    MAX_COOLDOWN_SECONDS,
    MAX_MODELS_PER_CLIENT,
    MAX_REASON_CHARS,
    Availability,
    AvailabilityError,
)
from pipeline.registry.core import QueryError, Registry, Snapshot
from pipeline.service.bodies import encode, respond
from pipeline.service.json_bodies import documented, json_body
from pipeline.timeutil import parse_iso

RUNTIME_TOKEN_ENV = "CATALOG_RUNTIME_TOKEN"
COOLDOWN_ENV = "CATALOG_RUNTIME_COOLDOWN_SECONDS"
"""Cooldown after a quota report without a retry time (default 300 s)."""
RUNTIME_CACHE = "no-cache"
"""Availability changes at any moment: clients revalidate every time (ETag → 304)."""

RUNTIME_BEARER = HTTPBearer(auto_error=False, description="The value of CATALOG_RUNTIME_TOKEN.")

ClientId = Annotated[
    str,
    Path(min_length=1, max_length=256, pattern=r"^[^/\s]+$", description="The client's name."),
]
ModelRef = Annotated[str, Field(min_length=1, max_length=256)]


class Problem(BaseModel):
    detail: str


RUNTIME_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong bearer token.", "model": Problem},
    403: {"description": "Runtime API disabled (CATALOG_RUNTIME_TOKEN unset).", "model": Problem},
    404: {"description": "Unknown client, or a model the client does not serve.", "model": Problem},
}


class RegisterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Annotated[str, Field(min_length=1, max_length=100)]
    """The client's provider (`openai`, `anthropic`, `azure`, `ollama`…): native ids of that
    provider resolve through the catalog's `sources`."""
    models: Annotated[list[ModelRef], Field(max_length=MAX_MODELS_PER_CLIENT)]
    """Model ids the client serves: catalog ids, aliases, native, dated or old ids."""


class QuotaBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: ModelRef | None = None
    """The model over quota; every model of the client when absent."""
    retryAt: str | float | None = None
    """When it may be retried: ISO-8601 or Unix seconds (an upstream's reset time)."""
    retryAfter: Annotated[float | None, Field(ge=0, le=MAX_COOLDOWN_SECONDS)] = None
    """Seconds from now (an upstream's `Retry-After`). Neither: the default cooldown."""


class SuspendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: ModelRef | None = None
    """The model suspended; every model of the client when absent."""
    reason: Annotated[str, Field(max_length=MAX_REASON_CHARS)] = ""
    """`quota` keeps the model listed (cooling down); anything else hides it when no other
    client serves it."""


class ResumeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: ModelRef | None = None


SMALL_BODY_LIMIT = 16 * 1024
"""Bytes: a quota, suspend or resume body names one model and a short reason."""
REGISTER_BODY_LIMIT = MAX_MODELS_PER_CLIENT * 300
"""Bytes: a client's whole model list, each ref at most 256 characters, JSON-quoted."""
# Bodies are JSON whatever their Content-Type (`curl -d` sends a form type): json_bodies.py.
REGISTER = json_body(RegisterBody, limit=REGISTER_BODY_LIMIT)
QUOTA = json_body(QuotaBody, limit=SMALL_BODY_LIMIT)
SUSPEND = json_body(SuspendBody, limit=SMALL_BODY_LIMIT)
RESUME = json_body(ResumeBody, limit=SMALL_BODY_LIMIT, required=False)


def _retry_at(value: str | float | None) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    try:
        return parse_iso(value).timestamp()
    except ValueError as exc:
        raise _invalid(f"retryAt: not ISO-8601 or Unix seconds: {value[:40]!r}") from exc


def _invalid(message: str) -> RequestValidationError:
    """A 422 in the same shape as FastAPI's own (and as documented in the spec)."""
    return RequestValidationError([{"loc": ["body"], "msg": message, "type": "value_error"}])


def _cooldown_from_env() -> float:
    raw = os.environ.get(COOLDOWN_ENV)
    if not raw:
        return DEFAULT_COOLDOWN_SECONDS
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{COOLDOWN_ENV}: {raw[:40]!r} is not a number of seconds") from exc
    if not 0 < value <= MAX_COOLDOWN_SECONDS:
        raise ValueError(f"{COOLDOWN_ENV}: must be in (0, {MAX_COOLDOWN_SECONDS:.0f}], got {value}")
    return value


def runtime_router(
    registry: Registry,
    *,
    token: str | None = None,
    availability: Availability | None = None,
) -> APIRouter:
    """The ``/api/runtime`` routes over ``registry``'s availability (``Availability.attach``
    unless given). ``token`` defaults to ``$CATALOG_RUNTIME_TOKEN``; unset → closed."""
    secret = token if token is not None else os.environ.get(RUNTIME_TOKEN_ENV) or None
    live = availability or Availability.attach(registry, cooldown_seconds=_cooldown_from_env())

    def guard(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(RUNTIME_BEARER)],
    ) -> None:
        if not secret:
            raise HTTPException(403, f"runtime API disabled: set {RUNTIME_TOKEN_ENV} to enable it")
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), secret.encode()):
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    router = APIRouter(
        prefix="/api/runtime",
        tags=["runtime"],
        dependencies=[Depends(guard)],
        responses=RUNTIME_ERRORS,
    )

    def call(action: Callable[[], Any]) -> Any:
        try:
            return action()
        except AvailabilityError as exc:
            raise HTTPException(404, str(exc)) from exc
        except ValueError as exc:  # QueryError included: bad filter values
            raise _invalid(str(exc)) from exc

    @router.get("/summary")
    def summary() -> JSONResponse:
        """Clients and models by availability state."""
        return JSONResponse(live.summary(), headers={"Cache-Control": RUNTIME_CACHE})

    @router.get("/clients")
    def clients() -> JSONResponse:
        """Registered client names."""
        return JSONResponse({"clients": live.clients()}, headers={"Cache-Control": RUNTIME_CACHE})

    @router.put("/clients/{client_id}", openapi_extra=documented(RegisterBody))
    def register(
        client_id: ClientId, body: Annotated[RegisterBody, Depends(REGISTER)]
    ) -> JSONResponse:
        """Register a client, or reconcile it with a new model list. The answer says what each
        ref counts for, which refs name removed models (with the catalog's offered target, not
        used) and which the catalog does not know."""
        result = call(lambda: live.register(client_id, body.provider, body.models))
        return JSONResponse(result.as_dict())

    @router.get("/clients/{client_id}")
    def client(client_id: ClientId) -> JSONResponse:
        """A client's models with its own state for each, and its removed refs."""
        info = call(lambda: live.client_info(client_id))
        return JSONResponse(info, headers={"Cache-Control": RUNTIME_CACHE})

    @router.delete("/clients/{client_id}", status_code=204)
    def unregister(client_id: ClientId) -> Response:
        """Forget a client (its quota and suspension state too)."""
        if not live.unregister(client_id):
            raise HTTPException(404, f"no client {client_id!r} is registered")
        return Response(status_code=204)

    @router.post("/clients/{client_id}/quota", openapi_extra=documented(QuotaBody))
    def quota(client_id: ClientId, body: Annotated[QuotaBody, Depends(QUOTA)]) -> JSONResponse:
        """The client hit a quota for a model (or all its models) until `retryAt`."""
        when = _retry_at(body.retryAt)
        retry = call(
            lambda: live.mark_quota(
                client_id, body.model, retry_at=when, retry_after=body.retryAfter
            )
        )
        return JSONResponse({"clientId": client_id, "model": body.model, "retryAt": _iso(retry)})

    @router.delete("/clients/{client_id}/quota", status_code=204)
    def clear_quota(
        client_id: ClientId,
        model: Annotated[str | None, Query(max_length=256)] = None,
    ) -> Response:
        """The quota is over before its time (for `model`, or every model)."""
        call(lambda: live.clear_quota(client_id, model))
        return Response(status_code=204)

    @router.post(
        "/clients/{client_id}/suspend", status_code=204, openapi_extra=documented(SuspendBody)
    )
    def suspend(client_id: ClientId, body: Annotated[SuspendBody, Depends(SUSPEND)]) -> Response:
        """Suspend the client for a model (or all) until resumed, with a reason."""
        call(lambda: live.suspend(client_id, body.model, body.reason))
        return Response(status_code=204)

    @router.post(
        "/clients/{client_id}/resume",
        status_code=204,
        openapi_extra=documented(ResumeBody, required=False),
    )
    def resume(
        client_id: ClientId, body: Annotated[ResumeBody | None, Depends(RESUME)] = None
    ) -> Response:
        """End a suspension (for a model, or all)."""
        model = body.model if body is not None else None
        call(lambda: live.resume(client_id, model))
        return Response(status_code=204)

    @router.get("/first-available")
    def first_available(
        format: Annotated[str | None, Query(pattern="^(openai|anthropic|gemini)$")] = None,
        capability: Annotated[str | None, Query(max_length=200)] = None,
        provider: Annotated[str | None, Query(max_length=100)] = None,
    ) -> JSONResponse:
        """The newest model with an available client now (`format` anthropic / gemini: that
        vendor's models), with its state; `model` is null when none."""
        found = call(lambda: live.first_available(format, capability=capability, provider=provider))
        state = live.state(str(found["id"])).as_dict() if found else None
        return JSONResponse(
            {"model": found, "availability": state}, headers={"Cache-Control": RUNTIME_CACHE}
        )

    @router.get("/models/{ref:path}")
    def model_state(ref: Annotated[str, Path(max_length=256)]) -> JSONResponse:
        """A model's state (by id, alias, old or native id): counts, retryAt, reason,
        providers most available first; `removed` with the catalog's offered target."""
        state = live.state(ref)
        body = {
            **state.as_dict(),
            "providers": [p.as_dict() for p in live.providers(ref)],
            "availableClients": live.available_clients(ref),
        }
        return JSONResponse(body, headers={"Cache-Control": RUNTIME_CACHE})

    return router


def available_list(
    request: Request, registry: Registry, snap: Snapshot, format: str, include: str | None
) -> Response:
    """``GET /v1/models?available=true``: the native list of models with an available or
    cooling-down client, each with ``availability`` {state, retryAt, reason}; the bytes are
    rebuilt only when availability or the catalog changed."""
    if format not in formats.LISTS:
        raise QueryError(f"format: unknown {format!r}")
    live = Availability.attach(registry)
    states = {"active", "stale"} | ({"deprecated"} if include == "deprecated" else set())

    def build() -> Any:
        chosen = [m for m in snap.models if m.get("lifecycle", {}).get("state") in states]
        return encode(live.available_list(chosen, formats.LISTS[format]))

    body = live.memo(("http-list", snap.version, format, include), build)
    return respond(request, body, RUNTIME_CACHE)


def _iso(moment: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


__all__ = ["COOLDOWN_ENV", "RUNTIME_TOKEN_ENV", "available_list", "runtime_router"]
