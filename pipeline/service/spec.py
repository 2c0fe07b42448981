"""Pieces of the service's OpenAPI document that several route modules share.

The models here only document shapes in ``/openapi.json``: handlers return ``Response``
objects built from ``bodies``, never re-validated against them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Open(BaseModel):
    """A documented object that may carry more fields than it lists."""

    model_config = ConfigDict(extra="allow")


class Problem(BaseModel):
    detail: str


class QueryProblem(BaseModel):
    """A query parameter the route does not take, or a bad value (FastAPI's error shape)."""

    detail: list[dict[str, Any]]


ERROR_TEXT = {
    304: "Not modified: If-None-Match matched the current ETag.",
    401: "Missing or wrong bearer token.",
    403: "Admin API disabled (CATALOG_ADMIN_TOKEN unset).",
    404: "Not found.",
    409: "A refresh is already running or the run lease is held.",
    422: "A query parameter the route does not take, or a bad value.",
    503: "No catalog loaded (yet).",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entries of ``codes`` (a 304 has no body; the others a `Problem`)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        if code == 304:
            out[code] = {"description": ERROR_TEXT[code]}
        elif code == 422:
            out[code] = {"description": ERROR_TEXT[code], "model": QueryProblem}
        else:
            out[code] = {"description": ERROR_TEXT[code], "model": Problem}
    return out


def parameter(
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


REF_PARAMETER = parameter(
    "ref",
    "path",
    "Id (may contain `/`), alias, old id or old alias.",
    # Starlette's `path` converter (`.*`) never matches a line break: such a path is not this
    # route at all (a plain 404), so the spec does not promise one.
    {"type": "string", "pattern": "^[^\\r\\n]+$"},
    required=True,
)


__all__ = ["REF_PARAMETER", "Open", "Problem", "QueryProblem", "error_responses", "parameter"]
