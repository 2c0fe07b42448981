"""Request bodies read only after the caller is known, with a cap, validated by a model.

FastAPI reads and parses a declared body before it runs a route's dependencies, so a token
check written as a dependency runs after an anonymous client has had its 100 MB parsed (issue
27). Routes that take a body declare it through ``json_body`` instead: a dependency that runs
after the route's own (the token check), refuses a declared ``Content-Length`` over the cap
before reading, stops reading at the cap, and validates with the model's JSON parser (which
bounds nesting: deep JSON is a 422, never a RecursionError). Whatever the ``Content-Type``
(``curl -d`` sends a form type): the body is JSON or it is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, or a 413 as soon as it is known to exceed ``limit`` bytes (its declared
    length, or what has arrived so far); a 415 for a compressed body."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", ""):
        raise HTTPException(415, f"content-encoding {encoding[:20]!r} is not accepted here")
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared.strip()} bytes is over {limit} bytes")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise HTTPException(413, f"body is over {limit} bytes")
    return bytes(chunks)


def json_body(
    model: type[M], limit: int, *, empty: str | None = None
) -> Callable[[Request], Awaitable[M]]:
    """A dependency giving the request body as ``model``; ``empty`` is the JSON an empty body
    stands for (None: a body is required)."""

    async def read(request: Request) -> M:
        raw = await read_capped(request, limit)
        if not raw.strip():
            if empty is None:
                raise RequestValidationError(
                    [{"loc": ["body"], "msg": "a JSON body is required", "type": "missing"}]
                )
            raw = empty.encode()
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in errors]
            ) from exc

    return read


def documented(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` declaring the body ``json_body`` reads (FastAPI cannot see it)."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


__all__ = ["documented", "json_body", "read_capped"]
