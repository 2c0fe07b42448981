"""The explorer's pages: each function gathers what one page shows and renders its template.

The markup lives in ``templates/`` (one template per page on ``base.html``, partials named
``_*.html``, the Atom feed in ``changes.atom``); the engine escapes every value that came from
upstream (names, descriptions, evidence). Links go through ``Links`` so the same pages serve
``catalog serve`` (``/models/openai/gpt-4o``) and the static export
(``models/openai/gpt-4o.html``, relative to wherever the site is hosted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from pipeline.printable import for_xml
from pipeline.registry.filters import BUCKETS, CAPABILITIES, KINDS, STATES, TIERS
from pipeline.web import figures, shown
from pipeline.web.chart import price_chart
from pipeline.web.figures import usd
from pipeline.web.rows import View
from pipeline.web.shown import FLAGS, describe_change, price_rows_of
from pipeline.web.templating import render

__all__ = [
    "CSP",
    "CSP_META",
    "Links",
    "Masthead",
    "atom",
    "changes_page",
    "compare_page",
    "curated_page",
    "error_page",
    "model_page",
    "removed_page",
    "table_page",
    "table_rows",
]


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""The explorer's Content-Security-Policy: every request stays on the page's origin, no inline
script or style (the pages load one script and one stylesheet of their own)."""
CSP_META = CSP.removesuffix("; frame-ancestors 'none'")
"""The same policy as a static page's ``<meta>`` (browsers ignore ``frame-ancestors`` there)."""


@dataclass(frozen=True)
class Links:
    """Where things are: the live service (absolute paths) or a static export (relative)."""

    root: str = "/"
    static: bool = False

    @property
    def csp(self) -> str | None:
        """The policy a page states itself: a static page has no server to send the header
        (``catalog serve`` sends it with every page)."""
        return CSP_META if self.static else None

    def page(self, name: str, query: Mapping[str, str] | None = None) -> str:
        if self.static:
            path = f"{self.root}{'index' if name == '' else name}.html"
        else:
            path = f"{self.root}{name}"
        return path + (f"?{urlencode(query)}" if query else "")

    def model(self, model_id: str) -> str:
        suffix = ".html" if self.static else ""
        return f"{self.root}models/{quote(str(model_id), safe='/~')}{suffix}"

    def provider(self, name: str) -> str:
        suffix = ".html" if self.static else ""
        return f"{self.root}providers/{quote(str(name), safe='')}{suffix}"

    def asset(self, name: str) -> str:
        return f"{self.root}assets/{name}" if self.static else f"{self.root}explorer/static/{name}"

    def rows(self) -> str:
        return f"{self.root}data/rows.json" if self.static else f"{self.root}explorer/rows.json"

    def table(self) -> str | None:
        """Where the live table's script asks for one page of a view (None on a static site:
        there its script filters ``rows.json``)."""
        return None if self.static else f"{self.root}explorer/table.json"

    def feed(self) -> str:
        return f"{self.root}feeds/changes.atom"

    def for_depth(self, depth: int) -> Links:
        """The links of a static page ``depth`` folders below the site root."""
        return Links("../" * depth or "./", True) if self.static else self


@dataclass(frozen=True)
class Masthead:
    """What every page's header says about the data: the subtitle (models, date, run) and,
    when the data is older than the schedule says it should be or is the embedded catalog, a
    banner with its age (``pipeline.registry.freshness``). The script keeps the banner true
    when a page is read later than it was rendered (a static export)."""

    text: str = ""
    banner: str = ""
    as_of: str = ""
    """The data's ``dataAsOf``, for the script."""
    stale_after: int = 0
    """Seconds after ``as_of`` the data is stale, for the script."""
    degraded: bool = False

    def __str__(self) -> str:
        return self.text

    @classmethod
    def of(cls, value: Masthead | str) -> Masthead:
        """A masthead, or a plain subtitle as one (no banner)."""
        return value if isinstance(value, Masthead) else cls(value)


def error_page(
    title: str,
    message: str,
    links: Links,
    *,
    heading: str = "",
    current: str = "",
    matches: Sequence[str] = (),
) -> str:
    """A page saying what went wrong (and the close matches of a model that is not there)."""
    return render(
        "error.html",
        title=title,
        heading=heading or title,
        message=message,
        matches=matches,
        links=links,
        # Not "" (the catalog's): the script would look for the catalog's form on it.
        current=current or "error",
        subtitle=Masthead(),
    )


# -- the catalog table -------------------------------------------------------------------------

COLUMNS = (
    ("", None),
    ("Model", "id"),
    ("Kind", None),
    ("Input $/1M", "input"),
    ("Output $/1M", "output"),
    ("Context", "context"),
    ("Max output", "max-output"),
    ("Created", "created"),
    ("Rank", "rank"),
    ("Tier", None),
    ("State", None),
    ("Capabilities", None),
)
"""The table's columns: (heading, the sort its heading links to, if any)."""
DESCENDING_FIRST = ("created", "rank", "context", "max-output")
"""Sorts whose first click shows the largest (newest, best) first."""


@dataclass(frozen=True)
class Column:
    label: str
    sort: str | None = None
    href: str = ""
    mark: str = ""
    """`` ▲`` or `` ▼`` on the column the table is sorted by."""


@dataclass(frozen=True)
class Filter:
    """A group of checkboxes: (value, label) choices, the ones ticked."""

    name: str
    choices: list[tuple[str, str]]
    chosen: list[str]


def _column(label: str, sort: str | None, view: View, links: Links) -> Column:
    if sort is None:
        return Column(label)
    sorted_here = view.sort == sort
    desc = not view.desc if sorted_here else sort in DESCENDING_FIRST
    query = view.query(sort=sort if sort != "id" else "", dir="desc" if desc else "", page="")
    mark = (" ▼" if view.desc else " ▲") if sorted_here else ""
    return Column(label, sort, links.page("", query), mark)


def _filter(name: str, values: Sequence[str], chosen: list[str]) -> Filter:
    labels = [shown.cap_label(v) if name == "capability" else v for v in values]
    return Filter(name, list(zip(values, labels, strict=True)), chosen)


def table_rows(rows: Iterable[Mapping[str, Any]], links: Links) -> str:
    """The ``<tr>`` of each table row (``rows.row``)."""
    return render("_rows.html", rows=rows, links=links)


def table_page(
    page_rows: Sequence[Mapping[str, Any]],
    total: int,
    pages: int,
    view: View,
    links: Links,
    *,
    subtitle: Masthead | str,
) -> str:
    """The catalog table: filters, sortable headers, the first page of rows (server-side)."""
    return render(
        "table.html",
        links=links,
        subtitle=Masthead.of(subtitle),
        view=view,
        filters=[
            _filter("capability", list(CAPABILITIES), view.capability),
            _filter("tier", TIERS, view.tier),
            _filter("state", STATES, view.state),
            _filter("kind", KINDS, view.kind),
        ],
        buckets=BUCKETS,
        columns=[_column(label, sort, view, links) for label, sort in COLUMNS],
        rows=page_rows,
        total=total,
        page=min(view.page, pages),
        pages=pages,
        previous=links.page("", view.query(page=view.page - 1)) if view.page > 1 else "",
        next=links.page("", view.query(page=view.page + 1)) if view.page < pages else "",
    )


# -- one model -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A recorded event as the timeline shows it."""

    at: Any
    kind: Any
    model: str
    changes: list[str]


def timeline_of(events: Iterable[Mapping[str, Any]]) -> list[Event]:
    """Recorded events as the timeline (and the changes page) lists them."""
    return [
        Event(
            at=event.get("at"),
            kind=event.get("event"),
            model=str(event.get("id")),
            changes=[describe_change(k, v) for k, v in sorted(event.get("changes", {}).items())],
        )
        for event in events
    ]


def model_page(
    model: Mapping[str, Any],
    *,
    timeline: Sequence[Mapping[str, Any]],
    redirects_in: Sequence[Mapping[str, Any]],
    redirect_out: Mapping[str, Any] | None,
    old_aliases: Sequence[str],
    curated: Mapping[str, Any] | None,
    links: Links,
    end: str,
    subtitle: Masthead | str,
    providers: Sequence[Mapping[str, Any]] = (),
) -> str:
    """Everything about one model: facts, each flag with its layer and evidence, lifecycle and
    redirects, sources, offers, the providers serving it (rows of
    ``pipeline.web.providers.serving_rows``), the price history chart and the change
    timeline."""
    verification = model.get("verification")
    decided_by, evidence = shown.decided(model)
    return render(
        "model.html",
        model=model,
        model_id=str(model["id"]),
        old_aliases=old_aliases,
        modalities=model.get("modalities") or {},
        prices=price_rows_of(model.get("pricing") or {}),
        lifecycle=model.get("lifecycle") or {},
        redirect_out=redirect_out,
        redirects_in=redirects_in,
        sources=model.get("sources") or [],
        flags=[f for f in FLAGS if f in model],
        decided_by=decided_by,
        evidence=evidence,
        verification=verification if isinstance(verification, Mapping) else None,
        curated=curated,
        providers=providers,
        chart=price_chart(timeline, end),
        events=timeline_of(timeline),
        links=links,
        subtitle=Masthead.of(subtitle),
    )


def removed_page(
    model_id: str,
    timeline: Sequence[Mapping[str, Any]],
    links: Links,
    *,
    end: str,
    subtitle: Masthead | str,
) -> str:
    """A model that left the catalog: what the history remembers of it."""
    return render(
        "removed.html",
        model_id=model_id,
        chart=price_chart(timeline, end),
        events=timeline_of(timeline),
        links=links,
        subtitle=Masthead.of(subtitle),
    )


# -- compare, curated, changes -------------------------------------------------------------------

COMPARE_FIELDS = (
    ("Name", "name"),
    ("Alias", "alias"),
    ("Provider", "provider"),
    ("Kind", "kind"),
    ("Input $/1M", "in"),
    ("Output $/1M", "out"),
    ("Cache read $/1M", "cacheRead"),
    ("Context", "ctx"),
    ("Max output", "maxOut"),
    ("Created", "created"),
    ("Rank", "rank"),
    ("Tier", "tier"),
    ("State", "state"),
    ("Reasoning", "reasoning"),
    ("Capabilities", "caps"),
    ("Input modalities", "modIn"),
    ("Output modalities", "modOut"),
    ("Buckets", "buckets"),
)
"""The compare table's rows: (heading, table row field)."""


@dataclass(frozen=True)
class Compared:
    """One field across the compared models; ``differs`` when the values are not all equal."""

    key: str
    label: str
    cells: list[str]
    differs: bool


def _cell(key: str, value: Any) -> str:
    if key in ("in", "out", "cacheRead"):
        return usd(value)
    if key in ("ctx", "maxOut"):
        return figures.count(value)
    if key == "created":
        return shown.day(value)
    if key == "rank":
        return shown.rank(value)
    if isinstance(value, list):
        return ", ".join(sorted(str(v) for v in value)) or figures.DASH
    return str(value) if value not in (None, "") else figures.DASH


def compare_page(
    rows: Sequence[Mapping[str, Any]],
    links: Links,
    *,
    subtitle: Masthead | str,
    missing: Sequence[str] = (),
) -> str:
    """Two to four models side by side, fields down, models across."""
    fields = []
    for label, key in COMPARE_FIELDS:
        cells = [_cell(key, r.get(key)) for r in rows]
        fields.append(Compared(key, label, cells, len(set(cells)) > 1))
    return render(
        "compare.html",
        ids=",".join(str(r["id"]) for r in rows),
        rows=rows,
        fields=fields,
        missing=missing,
        links=links,
        subtitle=Masthead.of(subtitle),
    )


def curated_page(
    curated: Mapping[str, Sequence[Mapping[str, Any]]],
    links: Links,
    *,
    subtitle: Masthead | str,
    core: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The hand-maintained core (issue 20), then each curated bucket with its scores."""
    return render(
        "curated.html", buckets=curated, core=core, links=links, subtitle=Masthead.of(subtitle)
    )


def changes_page(
    events: Sequence[Mapping[str, Any]],
    links: Links,
    *,
    subtitle: Masthead | str,
    heading: str,
    older: str | None,
) -> str:
    """Changes across the catalog, newest first, each linking to its model."""
    return render(
        "changes.html",
        heading=heading,
        events=timeline_of(events),
        older=older,
        links=links,
        subtitle=Masthead.of(subtitle),
    )


@dataclass(frozen=True)
class Entry:
    """An event as an Atom entry."""

    run_id: Any
    model: str
    kind: Any
    at: Any
    href: str
    summary: str


def atom(events: Sequence[Mapping[str, Any]], *, base: str, updated: str, links: Links) -> str:
    """An Atom feed of ``events`` (newest first). ``base`` is the absolute site URL, or empty
    for links relative to the feed. Characters XML 1.0 does not allow are removed from the
    rendered feed (escaping cannot make them legal), so it is always well-formed."""
    base = base.rstrip("/")
    entries = []
    for event in events:
        model_id = str(event["id"])
        path = links.model(model_id).removeprefix(".").removeprefix(links.root.rstrip("/"))
        summary = "; ".join(
            describe_change(k, v) for k, v in sorted(event.get("changes", {}).items())
        )
        entries.append(
            Entry(
                event.get("runId"),
                model_id,
                event.get("event"),
                event.get("at"),
                base + path,
                summary,
            )
        )
    return for_xml(render("changes.atom", base=base, updated=updated, entries=entries))
