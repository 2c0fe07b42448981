"""The reader's guards against hostile clients (issue 12).

- :func:`install` makes every HTTP error body go through :func:`pipeline.redact.redact`, so
  an exception text quoting a key never reaches a client.
- :func:`approx_size` estimates the bytes a memoized value holds, so the snapshot memo
  (:meth:`pipeline.registry.core.Snapshot.memo`) is bounded in bytes, not entries: the
  service stays inside its Kubernetes memory limit whatever a client asks for.
"""

from __future__ import annotations

import sys
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.redact import redact

POINTER = 8
"""Bytes per reference in a list (a memoized search result only points at shared models)."""


def approx_size(value: Any) -> int:
    """Bytes ``value`` keeps alive beyond what the snapshot already holds.

    Serialized bodies count their bytes; lists of models count their pointers (the models
    belong to the snapshot); anything else its shallow size.
    """
    data = getattr(value, "data", None)
    if isinstance(data, bytes | bytearray):
        return len(data) + 512
    if isinstance(value, bytes | bytearray | str):
        return len(value) + 64
    if isinstance(value, list | tuple | set | frozenset | dict):
        return 64 + POINTER * len(value) * (2 if isinstance(value, dict) else 1)
    return sys.getsizeof(value)


def install(app: FastAPI) -> None:
    """Scrub secrets from every error body the app sends."""

    async def on_http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(
            {"detail": redact(detail)}, status_code=exc.status_code, headers=exc.headers
        )

    async def on_crash(_: Request, exc: Exception) -> JSONResponse:
        # The exception text may quote anything; the client gets its type only.
        return JSONResponse({"detail": f"internal error ({type(exc).__name__})"}, status_code=500)

    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_crash)
