"""``GET /api/models/core``: the curated core over HTTP (included with the catalog routes).

In: the registry the app serves (``request.app.state.registry``). Out: the core published in
``curated.json`` — specialty, concise alias, summary, help, safe defaults, rank and scores,
where each value came from — with each model's current record, as bytes serialized once per
catalog version (ETag, 304) like the service's other catalog answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from pipeline.registry.core import Registry, Snapshot
from pipeline.service.bodies import CATALOG_CACHE, cached, respond
from pipeline.service.query import declared_only


class CoreEntryOut(BaseModel):
    """One core model (see `CoreModel` in curated.schema.json), with its record."""

    model_config = ConfigDict(extra="allow")
    id: str
    alias: str
    specialty: str
    summary: str
    help: str
    defaults: dict[str, Any]
    model: dict[str, Any] | None


class CoreOut(BaseModel):
    available: bool
    """False when the published set has no curated.json yet."""
    runId: str | None
    """The curated.json run the core comes from."""
    core: list[CoreEntryOut]
    issues: list[dict[str, Any]]
    """Entries a maintainer should look at (curated.json `coreIssues`)."""


core_router = APIRouter()


@core_router.get(
    "/api/models/core",
    response_model=None,
    responses={200: {"model": CoreOut}},
    dependencies=[Depends(declared_only)],
)
async def core(
    request: Request,
    specialty: Annotated[
        str | None,
        Query(max_length=24, pattern=r"^[A-Za-z][A-Za-z0-9-]*$", description="Only this one."),
    ] = None,
) -> Response:
    """The curated core: the hand-maintained shortlist a product lists first (`/use`,
    `/help`, onboarding), with safe defaults, ranks and each model's record."""
    registry: Registry = request.app.state.registry

    def build(snap: Snapshot) -> Any:
        curated = snap.set.curated
        return {
            "available": curated is not None,
            "runId": curated.get("runId") if curated else None,
            "core": snap.core(specialty),
            "issues": (curated or {}).get("coreIssues", []),
        }

    return respond(request, cached(registry, ("core", specialty), build), CATALOG_CACHE)
