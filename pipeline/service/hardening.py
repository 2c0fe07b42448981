"""The reader's guards against hostile clients (issue 12).

- :func:`install` makes every HTTP error body go through :func:`pipeline.redact.redact`, so
  an exception text quoting a key never reaches a client.

The memo that caches answers is bounded in bytes in :mod:`pipeline.registry.core`
(``MEMO_BYTES``), and cursor pages are computed, not cached (catalog_routes.py), so no request
pattern can grow the service past its Kubernetes memory limit.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.logs.redact import redact


def scrubbed(exc: StarletteHTTPException) -> JSONResponse:
    """An HTTP error's ``{"detail": …}`` body with secrets scrubbed from the detail."""
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse(
        {"detail": redact(detail)}, status_code=exc.status_code, headers=exc.headers
    )


def install(app: FastAPI) -> None:
    """Scrub secrets from every error body the app sends."""

    async def on_http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return scrubbed(exc)

    async def on_crash(_: Request, exc: Exception) -> JSONResponse:
        # The exception text may quote anything; the client gets its type only.
        return JSONResponse({"detail": f"internal error ({type(exc).__name__})"}, status_code=500)

    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_crash)
