"""The availability overlay over HTTP: ``/api/runtime/…`` and ``/v1/models?available=true``.

Every ``/api/runtime`` route needs a bearer token that names a gateway identity (issue 27): one
of ``CATALOG_RUNTIME_TOKENS`` (``name=token,…`` or a file of such lines) or the single
``CATALOG_RUNTIME_TOKEN`` (identity ``gateway``); read from the environment, never logged. With
neither set the routes answer 403 — the runtime API is closed by default. These are separate
tokens from the admin one: a gateway reports quota errors many times a second and should not
hold the key that starts syncs.

The token is checked before a byte of a body is read; bodies are capped
(``REGISTER_BODY_BYTES`` for a registration, ``CHANGE_BODY_BYTES`` for the others) and parsed
only then (``request_bodies``). A gateway manages its own clients only: the names it uses are
in its own namespace (``<identity>/<name>`` inside the overlay; the identity ``gateway`` uses
plain names, shared with a gateway embedding the library), its listings show only its own, and
its registrations count against its limits (``MAX_CLIENTS_PER_OWNER``, ``MAX_REFS_PER_OWNER``).

The service and a gateway embedding the library share one state per Registry
(``Availability.attach``). ``/v1/models?available=true`` is served from bytes rebuilt only when
availability (or the catalog) changed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from pipeline.identities import Tokens, load_tokens
from pipeline.registry import formats
from pipeline.registry.availability import (
    DEFAULT_COOLDOWN_SECONDS,
    MAX_COOLDOWN_SECONDS,
    MAX_MODELS_PER_CLIENT,
    MAX_REASON_CHARS,
    MAX_TIME,
    Availability,
    AvailabilityError,
)
from pipeline.registry.core import Registry, Snapshot
from pipeline.registry.filters import QueryError
from pipeline.service.bodies import encode, respond
from pipeline.service.request_bodies import documented, json_body
from pipeline.timeutil import parse_iso

RUNTIME_TOKEN_ENV = "CATALOG_RUNTIME_TOKEN"
RUNTIME_TOKENS_ENV = "CATALOG_RUNTIME_TOKENS"
SINGLE_GATEWAY = "gateway"
"""The identity of the single ``CATALOG_RUNTIME_TOKEN``: it manages the plain client names."""
REGISTER_BODY_BYTES = 1 << 20
"""Bytes of a registration body: 10,000 refs of 100 characters fit."""
CHANGE_BODY_BYTES = 4096
"""Bytes of a quota, suspend or resume body (`{"model": …, "reason": …}`)."""
COOLDOWN_ENV = "CATALOG_RUNTIME_COOLDOWN_SECONDS"
"""Cooldown after a quota report without a retry time (default 300 s)."""
RUNTIME_CACHE = "no-cache"
"""Availability changes at any moment: clients revalidate every time (ETag → 304)."""

RUNTIME_BEARER = HTTPBearer(
    auto_error=False, description="A token of CATALOG_RUNTIME_TOKENS (or CATALOG_RUNTIME_TOKEN)."
)

ClientId = Annotated[
    str,
    Path(min_length=1, max_length=256, pattern=r"^[^/\s]+$", description="The client's name."),
]
ModelRef = Annotated[str, Field(min_length=1, max_length=256)]


class Problem(BaseModel):
    detail: str


RUNTIME_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong bearer token.", "model": Problem},
    403: {"description": "Runtime API disabled (no runtime token set).", "model": Problem},
    404: {"description": "Unknown client, or a model the client does not serve.", "model": Problem},
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "Body over its cap.", "model": Problem},
    415: {"description": "A compressed body.", "model": Problem},
}


class RegisterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Annotated[str, Field(min_length=1, max_length=64)]
    """The client's provider (`openai`, `anthropic`, `azure`, `ollama`…): native ids of that
    provider resolve through the catalog's `sources`."""
    models: Annotated[list[ModelRef], Field(max_length=MAX_MODELS_PER_CLIENT)]
    """Model ids the client serves: catalog ids, aliases, native, dated or old ids."""


class QuotaBody(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

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


def _retry_at(value: str | float | None) -> float | None:
    """``retryAt`` as Unix seconds; a 422 for anything that is not a time from 1970 to 9999
    (``-1e308``, ``NaN`` and ``Infinity`` included), before any state changes."""
    if value is None:
        return None
    if isinstance(value, int | float):
        if not (math.isfinite(value) and 0 <= value <= MAX_TIME):
            raise _invalid(f"retryAt: {value!r} is not a time between 1970 and 9999")
        return float(value)
    try:
        return parse_iso(value).timestamp()
    except (ValueError, OverflowError) as exc:
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


def runtime_tokens(token: str | None = None) -> Tokens:
    """The gateway identities: ``token`` alone (tests, embedding) as ``gateway``, else the
    environment's (``CATALOG_RUNTIME_TOKENS``, ``CATALOG_RUNTIME_TOKEN``)."""
    environ = {RUNTIME_TOKEN_ENV: token} if token is not None else None
    return load_tokens(
        many_env=RUNTIME_TOKENS_ENV,
        single_env=RUNTIME_TOKEN_ENV,
        single_name=SINGLE_GATEWAY,
        environ=environ,
    )


class Namespace:
    """One gateway identity's client names: ``<identity>/<name>`` in the overlay, plain for
    ``gateway``. Path names cannot hold `/`, so no gateway can name another's client."""

    def __init__(self, identity: str) -> None:
        self.identity = identity
        self.prefix = "" if identity == SINGLE_GATEWAY else f"{identity}/"

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def owns(self, key: str) -> bool:
        return key.startswith(self.prefix) if self.prefix else "/" not in key

    def name(self, key: str) -> str:
        return key[len(self.prefix) :]


def current_caller(request: Request) -> Namespace:
    """The namespace of the gateway the router's token check identified (set on the request
    by it: route dependencies run first)."""
    found: Namespace = request.state.runtime_caller
    return found


Caller = Annotated[Namespace, Depends(current_caller)]


def runtime_router(
    registry: Registry,
    *,
    token: str | None = None,
    tokens: Tokens | None = None,
    availability: Availability | None = None,
) -> APIRouter:
    """The ``/api/runtime`` routes over ``registry``'s availability (``Availability.attach``
    unless given). ``tokens`` (else ``token``, else the environment) name the gateways;
    none → closed."""
    identities = tokens if tokens is not None else runtime_tokens(token)
    live = availability or Availability.attach(registry, cooldown_seconds=_cooldown_from_env())

    def guard(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(RUNTIME_BEARER)],
    ) -> None:
        if not identities:
            raise HTTPException(
                403,
                f"runtime API disabled: set {RUNTIME_TOKENS_ENV} or {RUNTIME_TOKEN_ENV} "
                "to enable it",
            )
        given = f"Bearer {credentials.credentials}" if credentials is not None else None
        identity = identities.identify(given)
        if identity is None:
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        request.state.runtime_caller = Namespace(identity)

    router = APIRouter(
        prefix="/api/runtime",
        tags=["runtime"],
        # Route dependencies run before any other, so no body is read before the token check.
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

    async def in_thread(action: Callable[[], Any]) -> Any:
        """``call`` off the event loop (the overlay takes a lock; a registration resolves
        thousands of refs)."""
        return await run_in_threadpool(call, action)

    def mine(caller: Namespace, client_id: str) -> str:
        key = caller.key(client_id)
        if not live.has_client(key):
            raise HTTPException(404, f"no client {client_id!r} is registered by this gateway")
        return key

    @router.get("/summary")
    def summary() -> JSONResponse:
        """Clients (per gateway identity too) and models by availability state."""
        return JSONResponse(live.summary(), headers={"Cache-Control": RUNTIME_CACHE})

    @router.get("/clients")
    def clients(caller: Caller) -> JSONResponse:
        """This gateway's client names."""
        names = [caller.name(key) for key in live.clients() if caller.owns(key)]
        return JSONResponse({"clients": names}, headers={"Cache-Control": RUNTIME_CACHE})

    @router.put(
        "/clients/{client_id}",
        responses=BODY_ERRORS,
        openapi_extra=documented(RegisterBody),
    )
    async def register(
        client_id: ClientId,
        caller: Caller,
        body: Annotated[RegisterBody, Depends(json_body(RegisterBody, REGISTER_BODY_BYTES))],
    ) -> JSONResponse:
        """Register a client, or reconcile it with a new model list. The answer says what each
        ref counts for, which refs name removed models (with the catalog's offered target, not
        used) and which the catalog does not know. Over this gateway's limits: 422."""
        result = await in_thread(
            lambda: live.register(
                caller.key(client_id), body.provider, body.models, owner=caller.identity
            )
        )
        answer = result.as_dict()
        answer["clientId"] = client_id
        return JSONResponse(answer)

    @router.get("/clients/{client_id}")
    def client(client_id: ClientId, caller: Caller) -> JSONResponse:
        """A client's models with its own state for each, and its removed refs."""
        info = call(lambda: live.client_info(mine(caller, client_id)))
        info["clientId"] = client_id
        return JSONResponse(info, headers={"Cache-Control": RUNTIME_CACHE})

    @router.delete("/clients/{client_id}", status_code=204)
    def unregister(client_id: ClientId, caller: Caller) -> Response:
        """Forget a client (its quota and suspension state too)."""
        if not live.unregister(caller.key(client_id)):
            raise HTTPException(404, f"no client {client_id!r} is registered by this gateway")
        return Response(status_code=204)

    @router.post(
        "/clients/{client_id}/quota",
        responses=BODY_ERRORS,
        openapi_extra=documented(QuotaBody, required=False),
    )
    async def quota(
        client_id: ClientId,
        caller: Caller,
        body: Annotated[QuotaBody, Depends(json_body(QuotaBody, CHANGE_BODY_BYTES, empty="{}"))],
    ) -> JSONResponse:
        """The client hit a quota for a model (or all its models) until `retryAt`."""
        when = _retry_at(body.retryAt)
        retry = await in_thread(
            lambda: live.mark_quota(
                mine(caller, client_id), body.model, retry_at=when, retry_after=body.retryAfter
            )
        )
        return JSONResponse({"clientId": client_id, "model": body.model, "retryAt": _iso(retry)})

    @router.delete("/clients/{client_id}/quota", status_code=204)
    def clear_quota(
        client_id: ClientId,
        caller: Caller,
        model: Annotated[str | None, Query(max_length=256)] = None,
    ) -> Response:
        """The quota is over before its time (for `model`, or every model)."""
        call(lambda: live.clear_quota(mine(caller, client_id), model))
        return Response(status_code=204)

    @router.post(
        "/clients/{client_id}/suspend",
        status_code=204,
        responses=BODY_ERRORS,
        openapi_extra=documented(SuspendBody, required=False),
    )
    async def suspend(
        client_id: ClientId,
        caller: Caller,
        body: Annotated[
            SuspendBody, Depends(json_body(SuspendBody, CHANGE_BODY_BYTES, empty="{}"))
        ],
    ) -> Response:
        """Suspend the client for a model (or all) until resumed, with a reason."""
        await in_thread(lambda: live.suspend(mine(caller, client_id), body.model, body.reason))
        return Response(status_code=204)

    @router.post(
        "/clients/{client_id}/resume",
        status_code=204,
        responses=BODY_ERRORS,
        openapi_extra=documented(ResumeBody, required=False),
    )
    async def resume(
        client_id: ClientId,
        caller: Caller,
        body: Annotated[ResumeBody, Depends(json_body(ResumeBody, CHANGE_BODY_BYTES, empty="{}"))],
    ) -> Response:
        """End a suspension (for a model, or all)."""
        await in_thread(lambda: live.resume(mine(caller, client_id), body.model))
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
    def model_state(ref: Annotated[str, Path(max_length=256)], caller: Caller) -> JSONResponse:
        """A model's state (by id, alias, old or native id): counts over every gateway,
        retryAt, reason, providers most available first, and this gateway's clients that can
        serve it now; `removed` with the catalog's offered target."""
        state = live.state(ref)
        body = {
            **state.as_dict(),
            "providers": [p.as_dict() for p in live.providers(ref)],
            "availableClients": [
                caller.name(key) for key in live.available_clients(ref) if caller.owns(key)
            ],
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


__all__ = [
    "CHANGE_BODY_BYTES",
    "COOLDOWN_ENV",
    "REGISTER_BODY_BYTES",
    "RUNTIME_TOKENS_ENV",
    "RUNTIME_TOKEN_ENV",
    "available_list",
    "runtime_router",
    "runtime_tokens",
]
