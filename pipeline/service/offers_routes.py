"""`GET /api/models/{ref}/offers`: who serves a model, at what price, and how well (issue 16).

Kept in its own router so the service module only includes it. The body is built from the
published record (``offers``, ``offerPriceRange``, ``offersAsOf``, the listed ``pricing``) and
cached per snapshot like every other catalog answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from pipeline.registry.core import CatalogUnavailable, Registry, Snapshot

router = APIRouter()
CACHE = "public, max-age=60"


def offers_document(snap: Snapshot, ref: str) -> tuple[int, dict[str, Any]]:
    """(status, body) for ``ref``: 200 with the offers (``[]`` when none are known), or 404
    with close matches."""
    resolution = snap.resolve(ref)
    model = resolution.model
    if model is None:
        return 404, {"detail": f"no model matches {ref!r}", "closeMatches": snap.close_matches(ref)}
    return 200, {
        "id": model["id"],
        "alias": model.get("alias"),
        "listedPricing": model.get("pricing", {}),
        "offersAsOf": model.get("offersAsOf"),
        "priceRange": model.get("offerPriceRange"),
        "offers": model.get("offers") or [],
        "resolution": resolution.as_dict(),
    }


@router.get(
    "/api/models/{ref:path}/offers",
    response_model=None,
    responses={404: {"description": "Nothing resolves; close matches given."}},
)
def model_offers(request: Request, ref: str) -> Response:
    """Every provider endpoint serving the model on OpenRouter: price, limits, quantization,
    uptime, latency and throughput, with the price range and when they were fetched."""
    registry: Registry = request.app.state.registry
    try:
        snap = registry.snapshot
    except CatalogUnavailable as exc:
        return JSONResponse({"detail": f"catalog not loaded: {exc}"}, status_code=503)
    status, body = snap.memo(("offers", ref), lambda: offers_document(snap, ref))
    return JSONResponse(body, status_code=status, headers={"Cache-Control": CACHE})
