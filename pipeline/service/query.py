"""The catalog routes' query strings: only the parameters a route declares, each given once
unless it takes several.

FastAPI ignores a parameter a route does not declare and keeps the last value of a repeated
one, so ``/api/models?kind=chat`` answered every model and ``?bucket=coding&bucket=vision``
answered one of the two without a word. ``declared_only`` (a route dependency) answers both
with a 422 naming the parameter and the allowed ones, in FastAPI's own error shape. A filter
of several values (``capability``, ``tier``, ``state``, ``kind``) may repeat: its values add
up as a comma list does.

The SDK-compatible routes (``/v1/models``, ``/v1beta/models``) do not use it: they accept
whatever the official SDKs send.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError

SEQUENCES = (list, tuple, set, frozenset)


def _takes_many(annotation: Any) -> bool:
    """True for ``list[str]``, ``list[str] | None`` and the like."""
    origin = get_origin(annotation)
    if origin in SEQUENCES:
        return True
    if origin is Union or origin is types.UnionType:
        return any(_takes_many(arg) for arg in get_args(annotation))
    return False


def _declared(request: Request) -> tuple[list[str], set[str]]:
    """(every query parameter the matched route declares, the ones that take several)."""
    route = request.scope.get("route")
    pending = [getattr(route, "dependant", None)]
    params = []
    while pending:  # the route's own parameters and those of its dependencies
        dependant = pending.pop()
        if dependant is not None:
            params.extend(dependant.query_params)
            pending.extend(dependant.dependencies)
    names = list(dict.fromkeys(p.alias for p in params))
    many = {p.alias for p in params if _takes_many(p.field_info.annotation)}
    return names, many


def _problem(name: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ["query", name], "msg": message, "type": "value_error", "input": None}]
    )


async def declared_only(request: Request) -> None:
    """Refuse (422) a query parameter the route does not declare, and a parameter of one value
    given twice with different values."""
    query = request.query_params
    if not query:
        return
    names, many = _declared(request)
    allowed = ", ".join(names) or "none"
    for name in query:
        if name not in names:
            shown = name[:40]
            raise _problem(shown, f"unknown parameter {shown!r}; this route takes: {allowed}")
    for name in query:
        values = set(query.getlist(name))
        if name not in many and len(values) > 1:
            raise _problem(name, f"given {len(values)} different values; give one")


__all__ = ["declared_only"]
