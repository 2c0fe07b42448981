"""The explorer's routes on ``catalog serve``: the pages, their machine twins and the feed.

| route | what |
|---|---|
| ``GET /`` | the catalog table (filters and sort in the query string, first page rendered) |
| ``GET /models/{id}`` | one model (also a removed one, from its history) |
| ``GET /compare?ids=a,b`` | two to four models side by side |
| ``GET /curated`` | curated buckets with each score's source |
| ``GET /changes[?since=&model=&provider=&page=]`` | latest changes, newest first |
| ``GET /feeds/changes.atom`` | the same as an Atom feed |
| ``GET /providers`` | every provider with a list (twin: ``/api/providers``) |
| ``GET /providers/{provider}`` | one provider's models, each figure with its source |
| ``GET /explorer/rows.json`` | every model's table row (what the compare page's script reads) |
| ``GET /explorer/table.json`` | one page of a view's rows, filtered, sorted and paged here |
| ``GET /api/changes?since=&limit=&cursor=&provider=`` | changes after a date or run id |
| ``GET /api/models/{ref}/history[?at=DATE]`` | a model's timeline (and its prices at a date) |

Pages depend only on the set being served, so the expensive ones are built once per catalog
version (the snapshot's memo); everything carries a Content-Security-Policy that keeps every
request on this origin.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from pipeline.history.query import HistoryError
from pipeline.registry.core import CatalogUnavailable, ModelNotFound, Registry, Snapshot
from pipeline.registry.filters import QueryError
from pipeline.registry.freshness import DEFAULT_STALE_AFTER, age_of
from pipeline.registry.providers import ProviderNotFound
from pipeline.web import pages, rows
from pipeline.web import providers as web_providers
from pipeline.web.pages import CSP, Links, Masthead

PAGE_CACHE = "public, max-age=60"
# Starlette's path converter never matches a line break, so a ref cannot hold one; saying so
# in the spec keeps clients (and schemathesis) from sending refs no route can receive.
NO_LINE_BREAK = r"^[^\r\n]+$"
REF_DOC = "Id (may contain `/`), alias, or the id of a removed model."
STATIC = {
    "explorer.js": "text/javascript",
    "explorer.css": "text/css",
    "favicon.svg": "image/svg+xml",
}
CHANGES_PAGE = 100
API_LIMIT_MAX = 1000


class ChangesPage(BaseModel):
    """A page of changes, oldest first; pass ``nextCursor`` back as ``cursor``."""

    data: list[dict[str, Any]]
    total: int
    nextCursor: str | None
    runId: str


class PriceAtOut(BaseModel):
    at: str
    prices: dict[str, Any]
    since: str
    until: str | None
    state: str | None


class HistoryOut(BaseModel):
    """A model's recorded changes, oldest first (and its prices at ``at`` when asked)."""

    id: str
    events: list[dict[str, Any]]
    priceAt: PriceAtOut | None = None


class NotFoundOut(BaseModel):
    detail: str
    closeMatches: list[str]


class ProblemOut(BaseModel):
    detail: str


def _html(text: str, status: int = 200, etag: str | None = None) -> Response:
    headers = {"Content-Security-Policy": CSP, "Cache-Control": PAGE_CACHE}
    if etag:
        headers["ETag"] = etag
    return Response(
        text, status_code=status, media_type="text/html; charset=utf-8", headers=headers
    )


def _etag(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()[:24]}"'


def masthead(
    snapshot: Snapshot, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> Masthead:
    """The header of every page over ``snapshot`` at ``now``: models, date and run; for data
    older than ``stale_after`` (or the embedded catalog) the age in a banner, and no run id,
    which names when the run was, not when the data was."""
    age = age_of(snapshot.set.current, now, stale_after)
    when = age.as_of[:16].replace("T", " ")
    text = f"{len(snapshot.models):,} models · data as of {when} UTC"
    banner = ""
    if age.stale:
        banner = banner_text(age.words, degraded=age.degraded)
    else:
        text += f" · run {snapshot.run_id}"
    seconds = int(stale_after.total_seconds())
    return Masthead(text, banner, age.as_of, seconds, age.degraded)


def banner_text(words: str, *, degraded: bool) -> str:
    """``Data as of 2026-08-19, 110 days old (embedded catalog, degraded). …`` (explorer.js
    writes the same words when it renews the banner)."""
    why = (
        "OpenRouter could not be reached: this is the catalog shipped with the package. "
        if degraded
        else ""
    )
    return f"{words[:1].upper()}{words[1:]}. {why}Prices and models may have changed since."


def end_of_data(snapshot: Snapshot) -> str:
    current = snapshot.set.current
    return str(current.get("dataAsOf") or current.get("generatedAt"))


def build_router(
    registry: Registry, stale_after: timedelta = DEFAULT_STALE_AFTER, *, public_url: str = ""
) -> APIRouter:
    """The explorer's routes over ``registry`` (include with ``app.include_router``). Pages
    over data older than ``stale_after`` carry a banner saying how old it is. ``public_url``:
    the absolute URL the explorer is reached at, for the Atom feed's links
    (``reader.public_url``); without one they are relative to the feed."""
    router = APIRouter()
    links = Links()

    def snap() -> Snapshot:
        return registry.snapshot

    def subtitle(snapshot: Snapshot) -> Masthead:
        now = datetime.fromtimestamp(int(registry.clock()), UTC)
        return masthead(snapshot, now, stale_after)

    def cached(
        request: Request, key: tuple[Any, ...], build: Callable[[Snapshot], str], media: str
    ) -> Response:
        snapshot = snap()
        # The header says how old the data is, so a page is kept per header too: old data's
        # pages are built again when their age in words changes (once a day, once an hour).
        if media.startswith("text/html"):
            key = (*key, subtitle(snapshot))
        data, etag = snapshot.memo(("explorer", *key), lambda: _encoded(build(snapshot)))
        if _etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers={"ETag": etag})
        headers = {"ETag": etag, "Cache-Control": PAGE_CACHE, "Content-Security-Policy": CSP}
        return Response(data, media_type=media, headers=headers)

    def not_found(message: str, matches: list[str]) -> Response:
        page = pages.error_page("Not found", message, links, current="model", matches=matches)
        return _html(page, status=404)

    def bad_request(message: str) -> Response:
        return _html(pages.error_page("Bad request", message, links), status=400)

    @router.get("/", include_in_schema=False)
    def catalog_page(request: Request) -> Response:
        try:
            snapshot = snap()
        except CatalogUnavailable as exc:
            page = pages.error_page("No catalog", str(exc), links, heading="No catalog yet")
            return _html(page, status=503)
        try:
            view = rows.View.parse(request.query_params)
        except QueryError as exc:
            return bad_request(str(exc))
        if not view.query():
            return cached(
                request,
                ("table",),
                lambda s: _table(s, view, links, subtitle(s)),
                "text/html; charset=utf-8",
            )
        return _html(_table(snapshot, view, links, subtitle(snapshot)))

    @router.get("/explorer/rows.json", include_in_schema=False)
    def rows_json(request: Request) -> Response:
        return cached(
            request,
            ("rows",),
            lambda s: json.dumps(rows.all_rows(s), separators=(",", ":")),
            "application/json",
        )

    @router.get("/explorer/table.json", include_in_schema=False)
    def table_json(request: Request) -> Response:
        """One page of a view, as the page's script shows it: the server filters, sorts and
        pages (issue 29: a 100k-model table is not sent to the browser to filter there)."""
        try:
            view = rows.View.parse(request.query_params)
        except QueryError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)

        def build(snapshot: Snapshot) -> str:
            shown, total, page, pages_count = rows.page_rows(snapshot, view)
            document = {"rows": shown, "total": total, "page": page, "pages": pages_count}
            return json.dumps(document, separators=(",", ":"))

        if not view.query():
            return cached(request, ("table.json",), build, "application/json")
        return Response(build(snap()), media_type="application/json")

    @router.get("/explorer/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC:
            return Response("not found", status_code=404)
        data = resources.files("pipeline.web").joinpath(f"static/{name}").read_bytes()
        return Response(
            data,
            media_type=STATIC[name],
            headers={"Cache-Control": "public, max-age=300", "ETag": _etag(data)},
        )

    @router.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        """What a browser asks for on a page without an icon link (a JSON answer, say)."""
        return static("favicon.svg")

    @router.get("/compare", include_in_schema=False)
    def compare(ids: str = "") -> Response:
        snapshot = snap()
        wanted = [i.strip() for i in ids.split(",") if i.strip()][:4]
        by_id = {r["id"]: r for r in rows.all_rows(snapshot)}
        found, missing = [], []
        for ref in wanted:
            model = snapshot.get(ref)
            if model is not None and model["id"] in by_id:
                found.append(by_id[model["id"]])
            else:
                missing.append(ref)
        return _html(pages.compare_page(found, links, subtitle=subtitle(snapshot), missing=missing))

    @router.get("/curated", include_in_schema=False)
    def curated(request: Request) -> Response:
        return cached(
            request,
            ("curated",),
            lambda s: pages.curated_page(s.curated(), links, subtitle=subtitle(s), core=s.core()),
            "text/html; charset=utf-8",
        )

    @router.get("/changes", include_in_schema=False)
    def changes(
        since: str | None = None,
        model: str | None = None,
        page: int = Query(1, ge=1, le=100_000),
        provider: str | None = Query(None, max_length=64),
    ) -> Response:
        snapshot = snap()
        try:
            history = registry.history()
            if provider:
                found, _ = registry.changes(since, provider=provider)
                events = list(reversed(found))
                heading = f"Changes of {provider}'s list" + (f" since {since}" if since else "")
            elif model:
                events = list(reversed(registry.timeline(model)))
                heading = f"Changes of {model}"
            else:
                found, _ = history.changes(since)
                events = list(reversed(found))
                heading = f"Changes since {since}" if since else "Latest changes"
        except (HistoryError, ModelNotFound) as exc:
            return bad_request(str(exc))
        events = [ev for ev in events if ev.get("event") != "tracked"] if not model else events
        start = (page - 1) * CHANGES_PAGE
        chunk = events[start : start + CHANGES_PAGE]
        older = None
        if start + CHANGES_PAGE < len(events):
            pairs = (("since", since), ("model", model), ("provider", provider))
            query = {k: v for k, v in (*pairs, ("page", str(page + 1))) if v}
            older = links.page("changes", query)
        return _html(
            pages.changes_page(
                chunk, links, subtitle=subtitle(snapshot), heading=heading, older=older
            )
        )

    @router.get("/feeds/changes.atom", include_in_schema=False)
    def feed(request: Request) -> Response:
        # Links come from configuration, never from the request's Host header: a client
        # naming any host must not get (or cache for everyone) a feed pointing there, nor
        # grow the memo by one feed per Host value (issue 27).
        def build(s: Snapshot) -> str:
            return pages.atom(
                registry.history().latest(100), base=public_url, updated=end_of_data(s), links=links
            )

        return cached(request, ("atom",), build, "application/atom+xml")

    @router.get("/providers", include_in_schema=False)
    def providers_page() -> Response:
        snapshot = snap()
        page = web_providers.providers_page(
            registry.providers(), links, subtitle=subtitle(snapshot)
        )
        return _html(page)

    @router.get("/providers/{provider}", include_in_schema=False)
    def provider_page(provider: str) -> Response:
        snapshot = snap()
        try:
            document = registry.provider(provider)
        except ProviderNotFound as exc:
            page = pages.error_page(
                "Not found", str(exc), links, current="providers", matches=exc.matches
            )
            return _html(page, status=404)
        return _html(web_providers.provider_page(document, links, subtitle=subtitle(snapshot)))

    @router.get("/models/{ref:path}", include_in_schema=False)
    def model_page(ref: str) -> Response:
        snapshot = snap()
        try:
            return _html(_model(registry, snapshot, ref, links, subtitle(snapshot)))
        except ModelNotFound:
            message = f"no model {ref!r} in the catalog or its history"
            return not_found(message, snapshot.close_matches(ref))

    @router.get(
        "/api/changes",
        summary="Changes after a date, a time or a run id (oldest first)",
        response_model=None,
        responses={
            200: {"model": ChangesPage},
            503: {"model": ProblemOut, "description": "No catalog loaded (yet)."},
        },
    )
    def api_changes(
        since: str | None = Query(None, description="YYYY-MM-DD, a UTC time, or a run id"),
        limit: int = Query(100, ge=1, le=API_LIMIT_MAX),
        cursor: str | None = Query(None, description="nextCursor of the previous page"),
        provider: str | None = Query(
            None,
            max_length=64,
            description="The changes of this provider's list (`/api/providers`) instead",
        ),
    ) -> Response:
        try:
            offset = int(cursor) if cursor else 0
            if offset < 0:
                raise ValueError(cursor)
        except ValueError:
            return JSONResponse(
                {
                    "detail": [
                        {
                            "loc": ["query", "cursor"],
                            "msg": "not a cursor from this API",
                            "type": "value_error",
                        }
                    ]
                },
                status_code=422,
            )
        try:
            page, total = registry.changes(since, offset=offset, limit=limit, provider=provider)
        except CatalogUnavailable as exc:
            return JSONResponse({"detail": f"catalog not loaded: {exc}"}, status_code=503)
        except HistoryError as exc:
            return JSONResponse(
                {"detail": [{"loc": ["query", "since"], "msg": str(exc), "type": "value_error"}]},
                status_code=422,
            )
        following = offset + len(page)
        return JSONResponse(
            {
                "data": page,
                "total": total,
                "nextCursor": str(following) if following < total else None,
                "runId": snap().run_id,
            }
        )

    @router.get(
        "/api/models/{ref:path}/history",
        summary="A model's recorded changes, oldest first",
        response_model=None,
        responses={
            200: {"model": HistoryOut},
            404: {"model": NotFoundOut, "description": "Not found."},
            503: {"model": ProblemOut, "description": "No catalog loaded (yet)."},
        },
    )
    def api_history(
        ref: Annotated[str, PathParam(description=REF_DOC, pattern=NO_LINE_BREAK)],
        at: str | None = Query(None, description="also answer the prices at this date"),
    ) -> Response:
        try:
            model_id = registry.history_id(ref)
            document: dict[str, Any] = {
                "id": model_id,
                "events": registry.history().timeline(model_id),
            }
            if at is not None:
                price = registry.price_at(model_id, at)
                document["priceAt"] = (
                    None
                    if price is None
                    else {
                        "at": price.at,
                        "prices": price.prices,
                        "since": price.since,
                        "until": price.until,
                        "state": price.state,
                    }
                )
        except CatalogUnavailable as exc:
            return JSONResponse({"detail": f"catalog not loaded: {exc}"}, status_code=503)
        except ModelNotFound:
            return JSONResponse(
                {
                    "detail": f"no model {ref!r} in the catalog or its history",
                    "closeMatches": snap().close_matches(ref),
                },
                status_code=404,
            )
        except HistoryError as exc:
            return JSONResponse(
                {"detail": [{"loc": ["query", "at"], "msg": str(exc), "type": "value_error"}]},
                status_code=422,
            )
        return JSONResponse(document)

    return router


def _etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match against our ETag, or the ``-gz`` ETag the gzip middleware gave the
    compressed copy of the same bytes."""
    if not header:
        return False
    gz = etag[:-1] + '-gz"'
    return any(tag.strip().removeprefix("W/") in (etag, gz) for tag in header.split(","))


def _encoded(text: str) -> tuple[bytes, str]:
    data = text.encode("utf-8")
    return data, _etag(data)


def _table(snapshot: Snapshot, view: rows.View, links: Links, subtitle: Masthead) -> str:
    shown, total, _, pages_count = rows.page_rows(snapshot, view)
    return pages.table_page(shown, total, pages_count, view, links, subtitle=subtitle)


def _model(
    registry: Registry, snapshot: Snapshot, ref: str, links: Links, subtitle: Masthead
) -> str:
    """The page of ``ref`` (an id or alias; a removed model from its history)."""
    model = snapshot.get(ref)
    history = registry.history()
    if model is None:
        if history.known(ref):
            return pages.removed_page(
                ref,
                history.timeline(ref),
                links,
                end=end_of_data(snapshot),
                subtitle=subtitle,
            )
        raise ModelNotFound(ref)
    return model_html(registry, snapshot, model, links, subtitle)


def model_html(
    registry: Registry,
    snapshot: Snapshot,
    model: dict[str, Any],
    links: Links,
    subtitle: Masthead,
) -> str:
    model_id = str(model["id"])
    deprecations = snapshot.set.deprecations or {}
    redirects = deprecations.get("redirects", [])
    alias_history = deprecations.get("aliasHistory", [])
    curated = snapshot.curated_models.get(model_id)
    if curated is not None:
        buckets = [
            b
            for b, entries in snapshot.buckets.items()
            if any(x["id"] == model_id for x in entries)
        ]
        curated = {
            **curated,
            "buckets": buckets,
            "pinned": [b for b in buckets if (b, model_id) in snapshot.pins],
        }
    return pages.model_page(
        model,
        providers=web_providers.serving_rows(registry.model_providers(model_id)),
        timeline=registry.history().timeline(model_id),
        redirects_in=[r for r in redirects if r.get("to") == model_id],
        redirect_out=next((r for r in redirects if r.get("from") == model_id), None),
        old_aliases=[a["oldAlias"] for a in alias_history if a.get("modelId") == model_id],
        curated=curated,
        links=links,
        end=end_of_data(snapshot),
        subtitle=subtitle,
    )
