"""Request bodies read as JSON whatever their Content-Type.

``curl -d '{"model": "gpt-4o"}'`` sends ``application/x-www-form-urlencoded``: FastAPI's own
body parameters would hand those bytes to the model undecoded and answer 422, so the commands
the docs show (and an operator types) would fail. The bodies of the admin and runtime routes
are only ever JSON, so they are read as JSON, bounded in size, and validated against their
model here; a failure is a 422 in FastAPI's own shape (``loc`` starting with ``body``). A
body is read only when the route's other dependencies (its bearer token) have passed: nothing
unauthenticated is parsed. ``documented`` puts the body back in ``/openapi.json``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def json_body(
    model: type[M], *, limit: int, required: bool = True
) -> Callable[[Request], Awaitable[M | None]]:
    """A dependency giving the request body as ``model``: 413 over ``limit`` bytes; an empty
    body is None when not ``required``, else a 422 like FastAPI's "Field required"."""

    async def read(request: Request) -> M | None:
        raw = await request.body()
        if len(raw) > limit:
            raise HTTPException(413, f"request body over {limit} bytes")
        if not raw.strip():
            if required:
                missing = {"loc": ("body",), "msg": "Field required", "type": "missing"}
                raise RequestValidationError([missing])
            return None
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False)
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in errors]
            ) from exc

    return read


def documented(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """The ``openapi_extra`` declaring ``model`` as the route's JSON body in the spec."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
