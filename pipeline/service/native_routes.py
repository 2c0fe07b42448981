"""The SDK-shaped routes: ``/v1/models`` and ``/v1beta/models`` in the native shapes of the
OpenAI, Anthropic and Gemini APIs (``formats``), errors included, so each official SDK works
against the reader with only its base URL changed.

In: the registry the service reads. Out: the routes, registered on the app by
``add_native_routes``; each answer comes from bytes kept per catalog version (``bodies``).
``?available=true`` hands over to the availability overlay (``runtime_routes.available_list``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar, cast

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from pipeline.registry import formats
from pipeline.registry.core import Registry, Snapshot
from pipeline.service import runtime_routes
from pipeline.service.bodies import (
    CATALOG_CACHE,
    LIVE_CACHE,
    Body,
    current_snapshot,
    encode,
    respond,
)
from pipeline.service.spec import REF_PARAMETER, Open, error_responses, parameter

NATIVE_PREFIXES = ("/v1/models", "/v1beta/models")
"""Paths whose errors answer in the native envelopes, even when no route matches."""


# ── documented shapes (OpenAPI only; never used to re-validate responses) ─────────────────


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


# ── parameters (read from the request by hand; declared for the spec) ──────────────────────


FORMAT_PARAMETER = parameter(
    "format",
    "query",
    "Response shape; without it: `gemini` when `x-goog-api-key` is sent, "
    "`anthropic` when `anthropic-version` is sent, else `openai`.",
    {"type": "string", "enum": list(formats.FORMATS)},
)
INCLUDE_PARAMETER = parameter(
    "include",
    "query",
    "`deprecated` adds deprecated models to active and stale ones.",
    {"type": "string", "enum": ["deprecated"]},
)
ANTHROPIC_PARAMETERS = [
    parameter(
        "limit",
        "query",
        "Anthropic shape: models per page (newest first).",
        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20},
    ),
    parameter("after_id", "query", "Anthropic shape: the page after this model id (`last_id`)."),
    parameter("before_id", "query", "Anthropic shape: the page before this model id (`first_id`)."),
]
GEMINI_PARAMETERS = [
    parameter(
        "pageSize",
        "query",
        "Gemini shape: models per page (0 = 50; above 1000 reads as 1000).",
        {"type": "integer", "minimum": 0, "default": 50},
    ),
    parameter("pageToken", "query", "Gemini shape: `nextPageToken` of the previous page."),
]
SHAPE_HEADERS = [
    parameter(
        "anthropic-version", "header", "Sent by Anthropic's SDKs: selects the Anthropic shape."
    ),
    parameter(
        "x-goog-api-key",
        "header",
        "Sent by Google's SDKs: selects the Gemini shape (the key is ignored).",
    ),
]
KEY_PARAMETER = parameter(
    "key", "query", "Gemini's REST way to pass a key: selects the Gemini shape (ignored)."
)
NAME_PARAMETER = parameter(
    "name",
    "path",
    "`<id>` (may contain `/`), alias, provider-native or dated id.",
    required=True,
)
AVAILABLE_PARAMETER = parameter(
    "available",
    "query",
    "`true`: only models with an available or cooling-down client (runtime "
    "availability), each with `availability` {state, retryAt, reason}.",
    {"type": "string", "enum": ["true", "false"], "default": "false"},
)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_Endpoint = TypeVar("_Endpoint", bound=Handler)


class _RequestRoute(APIRoute):
    """A route whose endpoint takes the ``Request`` and returns the ``Response`` itself, so it
    is called as it is: FastAPI's request handler (parameters solved and validated, response
    model, its telemetry hook) is skipped, which cost about a third of a cached answer's time on
    the server. The route is documented, matched, and its errors handled as any other's."""

    def get_route_handler(self) -> Handler:
        return cast(Handler, self.endpoint)


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


def add_native_routes(app: FastAPI, registry: Registry) -> None:
    """Register the native list and model routes over ``registry`` on ``app``."""

    # The native routes read their few parameters from the request themselves: FastAPI's
    # per-request parameter solving costs about as much as the rest of the request, and would
    # keep them well under the throughput of a constant-bytes endpoint. The parameters are
    # declared in the spec by hand (openapi_extra); errors come in each API's own envelope
    # (formats.error_body), which its SDK turns into a typed exception.

    def get(path: str, **options: Any) -> Callable[[_Endpoint], _Endpoint]:
        """``app.get`` for an endpoint of one ``Request`` (see ``_RequestRoute``)."""

        def register(endpoint: _Endpoint) -> _Endpoint:
            app.router.add_api_route(
                path, endpoint, methods=["GET"], route_class_override=_RequestRoute, **options
            )
            return endpoint

        return register

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
            return runtime_routes.available_list(
                request, registry, current_snapshot(registry), format, include
            )
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

    @get(
        "/v1/models",
        response_model=None,
        responses={
            200: {"model": OpenAIList | AnthropicList | GeminiList},
            **error_responses(304),
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

    @get(
        "/v1/models/{ref:path}",
        response_model=None,
        responses={
            200: {"model": OpenAIModel | AnthropicModel | GeminiModel},
            **error_responses(304),
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

    @get(
        "/v1beta/models",
        response_model=None,
        responses={200: {"model": GeminiList}, **error_responses(304), **NATIVE_ERRORS},
        openapi_extra={"parameters": [INCLUDE_PARAMETER, *GEMINI_PARAMETERS]},
    )
    async def gemini_list(request: Request) -> Response:
        """The model list in the Gemini API's shape (where Google's SDKs look for it)."""
        return list_in(request, "gemini")

    @get(
        "/v1beta/models/{name:path}",
        response_model=None,
        responses={200: {"model": GeminiModel}, **error_responses(304), **NATIVE_ERRORS},
        openapi_extra={"parameters": [NAME_PARAMETER]},
    )
    async def gemini_get(request: Request) -> Response:
        """One model as a Gemini `Model`: `models/<id>` or `<id>` (an id may hold a `/`)."""
        return model_in(request, "gemini", request.path_params["name"].removeprefix("models/"))


__all__ = ["NATIVE_PREFIXES", "add_native_routes"]
