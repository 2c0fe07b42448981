"""The provider lists over HTTP (issue 30): ``/api/providers``, one provider's models, and who
serves one of the catalog's models.

| route | what |
|---|---|
| ``GET /api/providers[?q=&source=]`` | every provider with a list: counts, sources, data age |
| ``GET /api/providers/{provider}/models[?capability=&tier=&state=&q=&source=]`` | its records |
| ``GET /api/models/{ref}/providers`` | every provider serving a model, its record and sources |

Lists answer ``{"data": [...]}`` like the other list routes. The provider lists are published by
the providers job on their own cadence, so answers are keyed by the lists' version (the
index's run id), not the catalog's, and revalidate after ``LIST_CACHE``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel

from pipeline.registry.core import ModelNotFound, Registry
from pipeline.registry.filters import CAPABILITIES, STATES, TIERS, QueryError
from pipeline.registry.providers import ProviderNotFound
from pipeline.service.bodies import current_snapshot, encode, respond
from pipeline.service.spec import Open, error_responses

LIST_CACHE = "public, max-age=60"
PROVIDER = r"^[a-z0-9][a-z0-9._-]{0,62}$"


# ── documented shapes (OpenAPI only; never used to re-validate responses) ─────────────────


class ProvidersOut(BaseModel):
    data: list[Open]
    total: int
    runId: str | None


class ProviderModelsOut(BaseModel):
    provider: str
    data: list[Open]
    provenance: dict[str, dict[str, str]]
    total: int
    runId: str | None
    dataAsOf: str | None


class NotFoundOut(BaseModel):
    detail: str
    closeMatches: list[str] = []


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": NotFoundOut, "description": "Not found; close names given."}
}


def _pattern(values: tuple[str, ...] | list[str]) -> str:
    one = "|".join(values)
    return f"^({one})(,({one}))*$"


def provider_router(registry: Registry) -> APIRouter:
    """The routes over ``registry``'s provider lists."""
    router = APIRouter()

    def answer(request: Request, key: tuple[Any, ...], build: Any) -> Response:
        snap = current_snapshot(registry)  # 503 before a catalog is loaded, like every route
        version = registry.provider_lists.version
        body = snap.memo(("providers-body", version, *key), lambda: build(version))
        return respond(request, body, LIST_CACHE)

    @router.get(
        "/api/providers",
        response_model=None,
        responses={200: {"model": ProvidersOut}, **error_responses(304, 503)},
    )
    def providers(
        request: Request,
        q: Annotated[
            str | None, Query(max_length=100, description="Substring of the name.")
        ] = None,
        source: Annotated[
            str | None,
            Query(max_length=64, description="Only lists this source contributes to."),
        ] = None,
    ) -> Response:
        """Every provider with a published list, sorted by name: display name, models (by
        lifecycle state), the sources merged into it, how its data was served and when it was
        observed upstream."""

        def build(version: str) -> Any:
            found = registry.providers(q=q, source=source)
            return encode({"data": found, "total": len(found), "runId": version or None})

        return answer(request, ("list", q, source), build)

    @router.get(
        "/api/providers/{provider}/models",
        response_model=None,
        responses={200: {"model": ProviderModelsOut}, **NOT_FOUND, **error_responses(304, 503)},
    )
    def provider_models(  # noqa: PLR0917 - FastAPI query parameters
        request: Request,
        provider: Annotated[str, PathParam(pattern=PROVIDER, description="Provider name.")],
        capability: Annotated[
            str | None,
            Query(pattern=_pattern(list(CAPABILITIES)), description="All must hold."),
        ] = None,
        tier: Annotated[str | None, Query(pattern=_pattern(TIERS))] = None,
        state: Annotated[str | None, Query(pattern=_pattern(STATES))] = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        source: Annotated[
            str | None, Query(max_length=64, description="A source that lists the model.")
        ] = None,
    ) -> Response:
        """The provider's records meeting every filter, each with its values' sources
        (`provenance`), agreement and disagreements; sorted by id."""

        def build(version: str) -> Any:
            try:
                found = registry.provider_models(
                    provider, capability=capability, tier=tier, state=state, q=q, source=source
                )
            except ProviderNotFound as exc:
                detail = {"detail": str(exc), "closeMatches": exc.matches}
                return encode(detail, 404)
            except QueryError as exc:
                return encode({"detail": str(exc)}, 422)
            document = registry.provider(provider)
            provenance = document.get("provenance") or {}
            return encode(
                {
                    "provider": provider,
                    "data": found,
                    "provenance": {m["id"]: provenance.get(m["id"], {}) for m in found},
                    "total": len(found),
                    "runId": document.get("runId"),
                    "dataAsOf": document.get("dataAsOf") or document.get("fetchedAt"),
                }
            )

        key = ("models", provider, capability, tier, state, q, source)
        return answer(request, key, build)

    @router.get(
        "/api/models/{ref:path}/providers",
        response_model=None,
        responses={200: {"model": ProvidersOut}, **NOT_FOUND, **error_responses(304, 503)},
    )
    def model_providers(request: Request, ref: str) -> Response:
        """Every provider that serves the model: its record there (prices, limits, lifecycle)
        and the source behind each value."""

        def build(version: str) -> Any:
            try:
                found = registry.model_providers(ref)
            except ModelNotFound:
                matches = registry.snapshot.close_matches(ref)
                return encode({"detail": f"no model matches {ref!r}", "closeMatches": matches}, 404)
            return encode({"data": found, "total": len(found), "runId": version or None})

        return answer(request, ("serving", ref), build)

    return router


__all__ = ["LIST_CACHE", "provider_router"]
