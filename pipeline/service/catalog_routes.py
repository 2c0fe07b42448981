"""The catalog's own routes: search (``/api/models``), the curated buckets and core,
deprecations, and one model's published record with its resolution (``/api/models/{ref}``).

In: the registry the service reads. Out: the routes, registered on the app by
``add_catalog_routes``; each answer is encoded once per catalog version (``bodies.cached``).
The record route matches every path under ``/api/models/``: the service moves it after every
other route once all are registered (``RECORD_ROUTE``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints

from pipeline.records.catalog import Deprecations
from pipeline.records.model import ModelRecord
from pipeline.registry.core import Registry, Snapshot
from pipeline.registry.filters import CAPABILITIES, KINDS, STATES, TIERS
from pipeline.service.bodies import CATALOG_CACHE, Body, cached, current_snapshot, encode, respond
from pipeline.service.core_routes import core_router
from pipeline.service.query import declared_only
from pipeline.service.spec import REF_PARAMETER, Open, error_responses

RECORD_ROUTE = "/api/models/{ref:path}"


# ── documented shapes (OpenAPI only; never used to re-validate responses) ─────────────────


class NotFound(BaseModel):
    detail: str
    closeMatches: list[str] = []


class HopOut(BaseModel):
    step: str
    ref: str
    to: str
    detail: str


class NoticeOut(BaseModel):
    id: str
    text: str


class ResolutionOut(BaseModel):
    ref: str
    modelId: str | None
    hops: list[HopOut]
    notice: NoticeOut | None


class ResolvedModel(ModelRecord):
    """A published record plus how the reference led to it."""

    resolution: ResolutionOut


class ModelPage(BaseModel):
    data: list[ModelRecord]
    total: int
    nextCursor: str | None
    runId: str


class CuratedEntry(Open):
    id: str
    alias: str | None
    rank: float | None
    scores: dict[str, Any]
    pinned: bool
    """A core model placed ahead of rank order (curated-core.json `pin`)."""
    model: ModelRecord | None


class CuratedOut(BaseModel):
    available: bool
    runId: str | None
    buckets: dict[str, list[CuratedEntry]]


def _enum_list_pattern(values: tuple[str, ...] | list[str]) -> str:
    one = "|".join(values)
    return f"^({one})(,({one}))*$"


# One value of a filter of several: a comma list of allowed values (the key may repeat).
CapabilityList = Annotated[str, StringConstraints(pattern=_enum_list_pattern(list(CAPABILITIES)))]
TierList = Annotated[str, StringConstraints(pattern=_enum_list_pattern(TIERS))]
StateList = Annotated[str, StringConstraints(pattern=_enum_list_pattern(STATES))]
KindList = Annotated[str, StringConstraints(pattern=_enum_list_pattern(KINDS))]


def _joined(values: list[str] | None) -> str | None:
    """The values of a repeated key as the one comma list the library takes (and the memo
    keys on): ``capability=vision&capability=tools`` is ``capability=vision,tools``."""
    return ",".join(values) if values else None


def _query_error(name: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ["query", name], "msg": message, "type": "value_error", "input": None}]
    )


def _buckets(snap: Snapshot, bucket: str | None) -> dict[str, list[dict[str, Any]]]:
    if bucket is None:
        return snap.curated()
    return {bucket: snap.curated(bucket)}


def _encode_cursor(model_id: str) -> str:
    return base64.urlsafe_b64encode(model_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _query_error("cursor", "not a cursor returned by this API") from exc


def add_catalog_routes(app: FastAPI, registry: Registry) -> None:
    """Register search, curated, core, deprecations and the record route on ``app``."""

    @app.get(
        "/api/models",
        response_model=None,
        responses={200: {"model": ModelPage}, **error_responses(304, 503)},
        dependencies=[Depends(declared_only)],
    )
    async def search_models(  # noqa: PLR0917 - FastAPI query parameters
        request: Request,
        capability: Annotated[
            list[CapabilityList] | None,
            Query(
                description=f"One or more of {', '.join(CAPABILITIES)}: all must hold "
                "(comma-separated or repeated).",
            ),
        ] = None,
        tier: Annotated[
            list[TierList] | None,
            Query(description="Price tier(s), any of them (comma-separated or repeated)."),
        ] = None,
        bucket: Annotated[
            Literal["coding", "reasoning", "chat", "fastCheap", "vision", "imageGen"] | None,
            Query(description="Curated bucket membership."),
        ] = None,
        state: Annotated[
            list[StateList] | None,
            Query(description="Lifecycle state(s), any of them (comma-separated or repeated)."),
        ] = None,
        kind: Annotated[
            list[KindList] | None,
            Query(
                description=f"Kind(s), any of them: {', '.join(KINDS)} (comma-separated or "
                "repeated).",
            ),
        ] = None,
        provider: Annotated[
            str | None,
            Query(
                max_length=100,
                description="Provider or family (vendor prefix), or a provider whose list "
                "serves the model (`/api/providers`).",
            ),
        ] = None,
        q: Annotated[
            str | None, Query(max_length=200, description="Substring of id, alias or name.")
        ] = None,
        open_weights: Annotated[
            bool | None,
            Query(description="true: models whose weights the feed names; false: the others."),
        ] = None,
        knowledge_cutoff_after: Annotated[
            str | None,
            Query(
                pattern=r"^\d{4}-\d{2}(-\d{2})?$",
                description="Models with a training cutoff later than this date (YYYY-MM-DD).",
            ),
        ] = None,
        served_by: Annotated[
            str | None,
            Query(
                max_length=100,
                description="Some offer (issue 16) is by this provider name or tag "
                "(`DeepInfra`, `deepinfra/fp8`).",
            ),
        ] = None,
        max_offer_price: Annotated[
            float | None,
            Query(ge=0, description="Some offer costs at most this, USD per 1M input tokens."),
        ] = None,
        quantization: Annotated[
            str | None,
            Query(max_length=40, description="Some offer serves this quantization (`fp8`, …)."),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Annotated[
            str | None,
            Query(
                max_length=1024,
                pattern=r"^[A-Za-z0-9_-]+$",
                description="`nextCursor` of the previous page.",
            ),
        ] = None,
    ) -> Response:
        """Search the catalog; pages of `limit` models in id order. The offer filters hold
        when one offer meets all of them."""
        after = _decode_cursor(cursor) if cursor else None
        filters = (
            _joined(capability),
            _joined(tier),
            bucket,
            _joined(state),
            _joined(kind),
            provider,
            q,
            open_weights,
            knowledge_cutoff_after,
            served_by,
            max_offer_price,
            quantization,
            # `provider` also matches what the provider's list serves (issue 30): the lists
            # change apart from the catalog, so their version is part of the key.
            registry.provider_lists.version if provider else "",
        )
        served = registry.serves(provider) if provider else frozenset()

        def build(snap: Snapshot) -> Any:
            # Answered from the set's search indexes: a page reads about `limit` models, and
            # the total is counted once per filters (issue 29).
            found = snap.select(
                capability=_joined(capability),
                tier=_joined(tier),
                bucket=bucket,
                state=_joined(state),
                kind=_joined(kind),
                provider=provider,
                q=q,
                open_weights=open_weights,
                knowledge_cutoff_after=knowledge_cutoff_after,
                served_by=served_by,
                max_offer_price=max_offer_price,
                quantization=quantization,
                served=served,
            )
            page = found.page(after, limit + 1)
            more = len(page) > limit
            page = page[:limit]
            return {
                "data": page,
                "total": snap.memo(("search-total", *filters), lambda: found.total),
                "nextCursor": _encode_cursor(str(page[-1]["id"])) if more and page else None,
                "runId": snap.run_id,
            }

        # Only first pages are cached: a cursor is any string a client likes, so caching
        # cursor pages let clients create entries at will (issue 12). A cursor page costs a
        # bisect over the memoized ids and the encoding of one page.
        if after is None:
            body = cached(registry, ("page", *filters, limit), build)
        else:
            body = encode(build(current_snapshot(registry)))
        return respond(request, body, CATALOG_CACHE)

    @app.get(
        "/api/models/curated",
        response_model=None,
        responses={200: {"model": CuratedOut}, **error_responses(304, 503)},
        dependencies=[Depends(declared_only)],
    )
    async def curated(
        request: Request,
        bucket: Annotated[
            Literal["coding", "reasoning", "chat", "fastCheap", "vision", "imageGen"] | None,
            Query(description="Only this bucket."),
        ] = None,
    ) -> Response:
        """The curated shortlist per bucket, with scores and each model's record."""

        def build(snap: Snapshot) -> Any:
            available = snap.set.curated is not None
            return {
                "available": available,
                "runId": (snap.set.curated or {}).get("runId") if available else None,
                "buckets": _buckets(snap, bucket) if available else {},
            }

        return respond(request, cached(registry, ("curated", bucket), build), CATALOG_CACHE)

    app.include_router(core_router)  # /api/models/core: before any /api/models/{ref} route

    @app.get(
        "/api/models/deprecations",
        response_model=None,
        responses={200: {"model": Deprecations}, **error_responses(304, 422, 503)},
        dependencies=[Depends(declared_only)],
    )
    async def deprecations(request: Request) -> Response:
        """Redirects, tombstones of removed models and alias history, as published."""

        def build(snap: Snapshot) -> Any:
            if snap.set.deprecations:
                return snap.set.deprecations
            # Not published yet: an empty document of the same shape.
            return {
                "schemaVersion": 1,
                "generatedAt": snap.generated_at,
                "runId": snap.run_id,
                "redirects": [],
                "tombstones": [],
                "aliasHistory": [],
            }

        return respond(request, cached(registry, ("deprecations",), build), CATALOG_CACHE)

    # -- one model: the catalog's own record ----------------------------------------------

    @app.get(
        RECORD_ROUTE,
        response_model=None,
        responses={
            200: {"model": ResolvedModel},
            404: {"model": NotFound, "description": "Nothing resolves; close matches given."},
            **error_responses(304, 422, 503),
        },
        openapi_extra={"parameters": [REF_PARAMETER]},
        dependencies=[Depends(declared_only)],
    )
    async def get_record(request: Request) -> Response:
        """The published record of one model, resolved through aliases, redirects, alias
        history, provider-native and dated ids, with `resolution` (hops, notice)."""
        ref: str = request.path_params["ref"]

        def build(snap: Snapshot) -> Body:
            resolution = snap.resolve(ref)
            if resolution.model is None:
                matches = snap.close_matches(ref)
                return encode({"detail": f"no model matches {ref!r}", "closeMatches": matches}, 404)
            return encode({**resolution.model, "resolution": resolution.as_dict()})

        snap = current_snapshot(registry)
        body = snap.memo(("model", ref), lambda: build(snap))
        return respond(request, body, CATALOG_CACHE)


__all__ = ["RECORD_ROUTE", "add_catalog_routes"]
