"""The explorer's HTML, rendered on the server from the published data.

Every value that came from upstream (names, descriptions, evidence) is escaped; the pages load
one stylesheet and one script from their own origin and nothing else. Links go through
``Links`` so the same renderers serve ``catalog serve`` (``/models/openai/gpt-4o``) and the
static export (``models/openai/gpt-4o.html``, relative to wherever the site is hosted).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from pipeline.registry.core import BUCKETS, CAPABILITIES, STATES, TIERS
from pipeline.stages.capabilities import FLAGS as CAPABILITY_FLAGS
from pipeline.web.rows import KINDS, View

CAP_LABELS = {
    "vision": "vision",
    "tools": "tools",
    "reasoning": "reasoning",
    "structured-output": "JSON",
    "image-gen": "image gen",
    "free": "free",
}
FLAGS = (*CAPABILITY_FLAGS, "priceTier")
"""The flags a model page lists with the layer that decided each."""


def e(value: Any) -> str:
    """Escaped text of any value (None → empty)."""
    return "" if value is None else html.escape(str(value), quote=True)


@dataclass(frozen=True)
class Links:
    """Where things are: the live service (absolute paths) or a static export (relative)."""

    root: str = "/"
    static: bool = False

    def page(self, name: str, query: Mapping[str, str] | None = None) -> str:
        if self.static:
            path = f"{self.root}{'index' if name == '' else name}.html"
        else:
            path = f"{self.root}{name}"
        return path + (f"?{urlencode(query)}" if query else "")

    def model(self, model_id: str) -> str:
        suffix = ".html" if self.static else ""
        return f"{self.root}models/{quote(model_id, safe='/~')}{suffix}"

    def asset(self, name: str) -> str:
        return f"{self.root}assets/{name}" if self.static else f"{self.root}explorer/static/{name}"

    def rows(self) -> str:
        return f"{self.root}data/rows.json" if self.static else f"{self.root}explorer/rows.json"

    def for_depth(self, depth: int) -> Links:
        """The links of a static page ``depth`` folders below the site root."""
        return Links("../" * depth or "./", True) if self.static else self


def usd(value: Any) -> str:
    """A price per 1M tokens as shown (exact digits up to 6 significant, no float noise)."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return e(value)
    number = float(value)
    if number == 0:
        return "$0"
    return "$" + format(number, ",.6g")


def count(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


def day(epoch: Any) -> str:
    if not isinstance(epoch, int | float):
        return "—"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def layout(
    title: str,
    body: str,
    links: Links,
    *,
    current: str,
    data: Mapping[str, str] | None = None,
    subtitle: str = "",
) -> str:
    """A whole page: header with navigation, ``body``, the script."""
    nav = "".join(
        f'<a href="{e(links.page(name))}"{" aria-current=page" if name == current else ""}>{label}</a>'
        for name, label in (
            ("", "Catalog"),
            ("curated", "Curated"),
            ("changes", "Changes"),
            ("compare", "Compare"),
        )
    )
    attrs = "".join(f' data-{k}="{e(v)}"' for k, v in (data or {}).items())
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · model catalog</title>"
        f'<link rel="stylesheet" href="{e(links.asset("explorer.css"))}">'
        f'<link rel="alternate" type="application/atom+xml" title="Catalog changes" href="{e(links.root)}feeds/changes.atom">'
        f'</head><body data-page="{e(current or "catalog")}" data-rows="{e(links.rows())}"'
        f' data-model-base="{e(links.root)}models/" data-model-suffix="{".html" if links.static else ""}"'
        f' data-compare="{e(links.page("compare"))}"{attrs}>'
        f'<header><a class="brand" href="{e(links.page(""))}">model catalog</a><nav>{nav}</nav>'
        f'<span class="subtitle">{e(subtitle)}</span></header>'
        f"<main>{body}</main>"
        f'<script src="{e(links.asset("explorer.js"))}" defer></script>'
        "</body></html>\n"
    )


# -- the catalog table -------------------------------------------------------------------------


def _options(
    name: str, values: Sequence[str], chosen: Sequence[str], labels: Mapping[str, str] | None = None
) -> str:
    boxes = "".join(
        f'<label><input type="checkbox" name="{name}" value="{e(v)}"{" checked" if v in chosen else ""}> {e((labels or {}).get(v, v))}</label>'
        for v in values
    )
    return (
        f'<fieldset class="filter" data-filter="{name}"><legend>{name}</legend>{boxes}</fieldset>'
    )


def _caps(r: Mapping[str, Any]) -> str:
    return " ".join(
        f'<span class="cap cap-{e(c)}">{e(CAP_LABELS.get(c, c))}</span>' for c in r["caps"]
    )


def table_rows(rows: Iterable[Mapping[str, Any]], links: Links) -> str:
    out = []
    for r in rows:
        price_in = "variable" if r["variable"] else usd(r["in"])
        price_out = "variable" if r["variable"] else usd(r["out"])
        out.append(
            f'<tr data-id="{e(r["id"])}"><td><input type="checkbox" class="pick" value="{e(r["id"])}" aria-label="compare {e(r["id"])}"></td>'
            f'<td class="id"><a href="{e(links.model(r["id"]))}">{e(r["id"])}</a><div class="name">{e(r["name"])}</div></td>'
            f'<td>{e(r["kind"])}</td><td class="num">{price_in}</td><td class="num">{price_out}</td>'
            f'<td class="num">{count(r["ctx"])}</td><td class="num">{count(r["maxOut"])}</td>'
            f'<td>{day(r["created"])}</td><td class="num">{"—" if r["rank"] is None else format(r["rank"], ".3f")}</td>'
            f"<td>{e(r['tier'])}</td><td>{e(r['state'])}</td><td>{_caps(r)}</td></tr>"
        )
    return "".join(out)


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


def table_page(
    page_rows: Sequence[Mapping[str, Any]],
    total: int,
    pages: int,
    view: View,
    links: Links,
    *,
    subtitle: str,
) -> str:
    """The catalog table: filters, sortable headers, the first page of rows (server-side)."""
    heads = []
    for label, sort in COLUMNS:
        if sort is None:
            heads.append(f"<th>{label}</th>")
            continue
        desc = (
            not view.desc
            if view.sort == sort
            else sort in ("created", "rank", "context", "max-output")
        )
        mark = (" ▼" if view.desc else " ▲") if view.sort == sort else ""
        href = links.page(
            "", view.query(sort=sort if sort != "id" else "", dir="desc" if desc else "", page="")
        )
        heads.append(
            f'<th><a class="sort" data-sort="{sort}" href="{e(href)}">{label}{mark}</a></th>'
        )
    filters = (
        f'<form class="filters" method="get" action="{e(links.page(""))}">'
        f'<input type="search" name="q" value="{e(view.q)}" placeholder="search id, alias or name" aria-label="search">'
        f'<input type="text" name="provider" value="{e(view.provider)}" placeholder="provider or family" aria-label="provider">'
        + _options("capability", list(CAPABILITIES), view.capability, CAP_LABELS)
        + _options("tier", TIERS, view.tier)
        + _options("state", STATES, view.state)
        + _options("kind", KINDS, view.kind)
        + '<label class="bucket">bucket <select name="bucket"><option value="">any</option>'
        + "".join(f"<option{' selected' if b == view.bucket else ''}>{b}</option>" for b in BUCKETS)
        + "</select></label>"
        + f'<input type="hidden" name="sort" value="{e(view.sort)}"><input type="hidden" name="dir" value="{"desc" if view.desc else "asc"}">'
        + '<button type="submit">Apply</button></form>'
    )
    prev_href = links.page("", view.query(page=view.page - 1)) if view.page > 1 else ""
    next_href = links.page("", view.query(page=view.page + 1)) if view.page < pages else ""
    pager = (
        '<nav class="pager">'
        + (f'<a rel="prev" href="{e(prev_href)}">← previous</a>' if prev_href else "<span></span>")
        + f'<span class="count"><b id="total">{total:,}</b> models · page <span id="page">{min(view.page, pages)}</span> of <span id="pages">{pages}</span></span>'
        + (f'<a rel="next" href="{e(next_href)}">next →</a>' if next_href else "<span></span>")
        + "</nav>"
    )
    body = (
        filters
        + '<div class="actions"><button type="button" id="compare-picked" disabled>Compare selected</button></div>'
        + pager
        + f'<table class="catalog"><thead><tr>{"".join(heads)}</tr></thead>'
        + f'<tbody id="rows">{table_rows(page_rows, links)}</tbody></table>'
    )
    return layout("Catalog", body, links, current="", subtitle=subtitle)


# -- one model -----------------------------------------------------------------------------------


def _price_series(
    timeline: Sequence[Mapping[str, Any]], name: str
) -> list[tuple[str, float | None]]:
    """(time, value after the event) for every event that set or cleared ``pricing.<name>``."""
    field = f"pricing.{name}"
    points: list[tuple[str, float | None]] = []
    for event in timeline:
        change = event.get("changes", {}).get(field)
        if change is not None:
            points.append((str(event["at"]), None if change[1] is None else float(change[1])))
        elif event.get("event") == "removed":
            points.append((str(event["at"]), None))
    return points


def price_chart(timeline: Sequence[Mapping[str, Any]], end: str) -> str:
    """A step chart of input and output prices per 1M tokens over time (inline SVG), with
    every data point also in a table (and in ``data-`` attributes for scripts and tests)."""
    series = {name: _price_series(timeline, name) for name in ("input", "output")}
    points = [(at, v) for s in series.values() for at, v in s]
    values = [v for _, v in points if v is not None]
    if not points:
        return '<p class="empty">No price history recorded for this model.</p>'
    times = sorted({at for at, _ in points} | {end})
    start_t = _epoch(times[0])
    end_t = max(_epoch(times[-1]), start_t + 1)
    top = max(values) if values else 1.0
    top = top * 1.1 if top > 0 else 1.0
    width, height, pad = 640, 220, 40

    def x(at: str) -> float:
        return pad + (width - 2 * pad) * (_epoch(at) - start_t) / (end_t - start_t)

    def y(value: float) -> float:
        return height - pad - (height - 2 * pad) * value / top

    shapes = []
    rows = []
    for name, pts in series.items():
        path: list[str] = []
        for index, (at, value) in enumerate(pts):
            upto = pts[index + 1][0] if index + 1 < len(pts) else end
            if value is not None:
                path.append(f"M{x(at):.1f},{y(value):.1f}H{x(upto):.1f}")
                shapes.append(
                    f'<circle class="point {name}" data-series="{name}" data-at="{e(at)}" data-usd="{value!r}"'
                    f' cx="{x(at):.1f}" cy="{y(value):.1f}" r="4"><title>{name} {usd(value)} per 1M from {e(at[:10])}</title></circle>'
                )
            rows.append(f"<tr><td>{e(at)}</td><td>{name}</td><td class=num>{usd(value)}</td></tr>")
        if path:
            shapes.insert(0, f'<path class="series {name}" d="{"".join(path)}"/>')
    axis = (
        f'<line class="axis" x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"/>'
        f'<line class="axis" x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}"/>'
        f'<text class="label" x="{pad}" y="{height - pad + 16}">{e(times[0][:10])}</text>'
        f'<text class="label end" x="{width - pad}" y="{height - pad + 16}">{e(end[:10])}</text>'
        f'<text class="label" x="4" y="{pad - 8}">{usd(top / 1.1)} / 1M</text>'
        f'<text class="legend input" x="{width - 180}" y="{pad - 8}">● input</text>'
        f'<text class="legend output" x="{width - 100}" y="{pad - 8}">● output</text>'
    )
    svg = (
        f'<svg class="chart" id="price-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="input and output price per 1M tokens over time">{axis}{"".join(shapes)}</svg>'
    )
    table = (
        '<details><summary>Data points</summary><table class="points"><thead><tr><th>From</th>'
        f"<th>Price</th><th>USD / 1M</th></tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
    )
    return svg + table


def _epoch(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


def _rules(value: list[Any]) -> str:
    """Long-context / time-of-day price rules, compactly (``≥272,000 tok: input $10, …``)."""
    out = []
    for rule in value:
        if not isinstance(rule, Mapping):
            continue
        when = []
        if "minPromptTokens" in rule:
            when.append(f"≥{int(rule['minPromptTokens']):,} tok")
        if "utcStart" in rule or "utcEnd" in rule:
            when.append(f"{rule.get('utcStart', '')}–{rule.get('utcEnd', '')} UTC")
        prices = [
            f"{k} {usd(float(v))}"
            for k, v in rule.items()
            if k not in ("minPromptTokens", "utcStart", "utcEnd", "other") and _number(v)
        ]
        out.append(f"{' '.join(when) or 'rule'}: {', '.join(prices)}")
    return "; ".join(out) or "—"


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list) and value and isinstance(value[0], Mapping):
        return _rules(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_change(name: str, change: Sequence[Any]) -> str:
    before, after = change[0], change[1]
    if name.startswith("pricing."):
        shown = [usd(v) if isinstance(v, int | float) else _shown(v) for v in (before, after)]
    else:
        shown = [_shown(v) for v in (before, after)]
    return f"{name}: {shown[0]} → {shown[1]}"


def timeline_table(
    events: Sequence[Mapping[str, Any]], links: Links, *, with_model: bool = False
) -> str:
    if not events:
        return '<p class="empty">No changes recorded.</p>'
    rows = []
    for event in events:
        changes = "<br>".join(
            e(describe_change(k, v)) for k, v in sorted(event.get("changes", {}).items())
        )
        model = (
            f'<td><a class="model-link" href="{e(links.model(str(event["id"])))}">{e(event["id"])}</a></td>'
            if with_model
            else ""
        )
        rows.append(
            f'<tr class="event event-{e(event.get("event"))}"><td>{e(event.get("at"))}</td>{model}'
            f'<td>{e(event.get("event"))}</td><td class="changes">{changes}</td></tr>'
        )
    head = (
        "<th>Observed</th>"
        + ("<th>Model</th>" if with_model else "")
        + "<th>Event</th><th>Changes</th>"
    )
    return f'<table class="timeline"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _kv(rows: Iterable[tuple[str, str]]) -> str:
    return (
        '<table class="kv">'
        + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        + "</table>"
    )


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
    subtitle: str,
) -> str:
    """Everything about one model: facts, each flag with its layer and evidence, lifecycle and
    redirects, sources, offers, the price history chart and the change timeline."""
    pricing = model.get("pricing") or {}
    life = model.get("lifecycle") or {}
    facts = _kv(
        [
            ("Id", e(model["id"])),
            ("Name", e(model.get("name"))),
            (
                "Alias",
                f"<code>{e(model.get('alias'))}</code>"
                + (f" (formerly {e(', '.join(old_aliases))})" if old_aliases else ""),
            ),
            ("Provider / family", f"{e(model.get('provider'))} / {e(model.get('family'))}"),
            ("Kind", e(model.get("kind"))),
            ("Created", day(model.get("created"))),
            ("Context", count(model.get("maxContext"))),
            ("Max output", count(model.get("maxOutput"))),
            (
                "Modalities",
                e(" + ".join((model.get("modalities") or {}).get("input", [])))
                + " → "
                + e(" + ".join((model.get("modalities") or {}).get("output", []))),
            ),
            (
                "Price",
                e(model.get("cost")) + f' <span class="tier">{e(model.get("priceTier"))}</span>',
            ),
            ("Knowledge cutoff", e(model.get("knowledgeCutoff") or "—")),
            ("Canonical slug", e(model.get("canonicalSlug") or "—")),
        ]
    )
    price_rows = price_rows_of(pricing)
    prices = _kv(price_rows) if price_rows else '<p class="empty">No prices published.</p>'
    sources = model.get("detectionSource") or {}
    evidence = model.get("evidence") or {}
    flags = "".join(
        f'<tr data-flag="{f}"><th>{f}</th><td>{e(_shown(model.get(f)))}</td><td><span class="layer layer-{e(sources.get(f))}">{e(sources.get(f, "—"))}</span></td><td>{e(evidence.get(f, ""))}</td></tr>'
        for f in FLAGS
        if f in model
    )
    flags_table = f'<table class="flags"><thead><tr><th>Flag</th><th>Value</th><th>Decided by</th><th>Evidence</th></tr></thead><tbody>{flags}</tbody></table>'
    lifecycle = _kv(
        [(e(k), e(v)) for k, v in life.items()]
        + (
            [
                (
                    "Redirected to",
                    f'<a href="{e(links.model(str(redirect_out["to"])))}">{e(redirect_out["to"])}</a> ({e(redirect_out.get("reason"))} since {e(redirect_out.get("since"))})',
                )
            ]
            if redirect_out
            else []
        )
        + [
            (
                "Redirected from",
                ", ".join(
                    f'<a href="{e(links.model(str(r["from"])))}">{e(r["from"])}</a> ({e(r.get("reason"))})'
                    for r in redirects_in
                ),
            )
        ]
        * bool(redirects_in)
    )
    srcs = model.get("sources") or []
    sources_html = (
        "<ul>"
        + "".join(
            f"<li>{e(s.get('source'))}: <code>{e(s.get('nativeId'))}</code></li>" for s in srcs
        )
        + "</ul>"
        if srcs
        else '<p class="empty">Listed by OpenRouter only.</p>'
    )
    offers_html = ""
    if model.get("offers") is not None:
        as_of = model.get("offersAsOf")
        offers_html = (
            f"<section><h2>Offers</h2><p>Provider endpoints on OpenRouter"
            f"{' as of ' + e(as_of) if as_of else ''}.</p>{offers_table(model['offers'])}</section>"
        )
    verification_html = verification_section(model.get("verification"))
    curated_html = ""
    if curated:
        scores = curated.get("scores") or {}
        curated_html = (
            f"<h2>Curation</h2><p>Rank <b>{e(format(curated.get('rank', 0), '.3f'))}</b> in "
            f"{e(', '.join(curated.get('buckets', [])) or 'no bucket')}</p>" + score_table(scores)
        )
    body = (
        f'<h1>{e(model.get("name"))} <code class="model-id">{e(model["id"])}</code></h1>'
        f'<p class="actions"><a href="{e(links.page("compare", {"ids": str(model["id"])}))}">Compare with…</a> · '
        f'<a href="{e(links.page("changes", {"model": str(model["id"])}))}">All changes</a></p>'
        '<div class="grid">'
        f"<section><h2>Facts</h2>{facts}</section>"
        f"<section><h2>Prices (USD per 1M tokens unless stated)</h2>{prices}"
        f"<h2>Lifecycle</h2>{lifecycle}<h2>Sources</h2>{sources_html}</section></div>"
        f"<section><h2>Capabilities</h2>{flags_table}</section>"
        f"{verification_html}{offers_html}{curated_html}"
        f"<section><h2>Price history</h2>{price_chart(timeline, end)}</section>"
        f"<section><h2>Change timeline</h2>{timeline_table(timeline, links)}</section>"
    )
    return layout(str(model["id"]), body, links, current="model", subtitle=subtitle)


def price_rows_of(pricing: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(component, shown price) rows of a published pricing object."""
    limits = ("minPromptTokens", "utcStart", "utcEnd")
    out: list[tuple[str, str]] = []
    for key, value in pricing.items():
        if key == "variable":
            if value:
                out.append(("variable", "dynamic: the router bills the model it picks"))
        elif key == "other" and isinstance(value, Mapping):
            out.extend((e(f"other.{k}"), usd(v)) for k, v in value.items())
        elif key == "tiers" and isinstance(value, list):
            for rule in value:
                if isinstance(rule, Mapping):
                    when = ", ".join(f"{k} {v}" for k, v in rule.items() if k in limits)
                    prices = ", ".join(
                        f"{k} {usd(v)}"
                        for k, v in rule.items()
                        if k not in limits and isinstance(v, int | float)
                    )
                    out.append(("rule", e(f"{when}: {prices}")))
        elif isinstance(value, bool):
            out.append((e(key), e(value)))
        elif isinstance(value, int | float):
            out.append((e(key), usd(value)))
        else:
            out.append((e(key), e(value)))
    return out


def score_table(scores: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{e(name)}</th><td class=num>{e(format(float(s.get('value', 0)), '.2f'))}</td>"
        f'<td><span class="layer">{e(s.get("source"))}</span></td><td>{e(s.get("detail"))}</td></tr>'
        for name, s in scores.items()
        if isinstance(s, Mapping)
    )
    return f'<table class="scores"><thead><tr><th>Score</th><th>Value</th><th>Source</th><th>Detail</th></tr></thead><tbody>{rows}</tbody></table>'


def removed_page(
    model_id: str, timeline: Sequence[Mapping[str, Any]], links: Links, *, end: str, subtitle: str
) -> str:
    """A model that left the catalog: what the history remembers of it."""
    body = (
        f'<h1><code class="model-id">{e(model_id)}</code> <span class="tier">removed</span></h1>'
        "<p>This model is no longer in the catalog; its recorded history follows.</p>"
        f"<section><h2>Price history</h2>{price_chart(timeline, end)}</section>"
        f"<section><h2>Change timeline</h2>{timeline_table(timeline, links)}</section>"
    )
    return layout(model_id, body, links, current="model", subtitle=subtitle)


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


def _cell(key: str, value: Any) -> str:
    if key in ("in", "out", "cacheRead"):
        return usd(value)
    if key in ("ctx", "maxOut"):
        return count(value)
    if key == "created":
        return day(value)
    if key == "rank":
        return "—" if value is None else format(value, ".3f")
    if isinstance(value, list):
        return e(", ".join(sorted(str(v) for v in value))) or "—"
    return e(value) if value not in (None, "") else "—"


def compare_table(rows: Sequence[Mapping[str, Any]], links: Links) -> str:
    """Fields down, models across; a row whose values differ is marked ``diff``."""
    head = "".join(
        f'<th><a href="{e(links.model(str(r["id"])))}">{e(r["id"])}</a></th>' for r in rows
    )
    body = []
    for label, key in COMPARE_FIELDS:
        cells = [_cell(key, r.get(key)) for r in rows]
        differs = len(set(cells)) > 1
        body.append(
            f'<tr data-field="{key}"{" class=diff" if differs else ""}><th>{label}</th>'
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr>"
        )
    return f'<table class="compare" id="compare-table"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def compare_page(
    rows: Sequence[Mapping[str, Any]], links: Links, *, subtitle: str, missing: Sequence[str] = ()
) -> str:
    ids = ",".join(str(r["id"]) for r in rows)
    form = (
        f'<form class="compare-form" method="get" action="{e(links.page("compare"))}">'
        f'<label>Models (2–4 ids or aliases, comma-separated) <input type="text" name="ids" value="{e(ids)}" size="80" list="model-ids"></label>'
        '<datalist id="model-ids"></datalist><button type="submit">Compare</button></form>'
    )
    note = f'<p class="warn">Not in the catalog: {e(", ".join(missing))}</p>' if missing else ""
    table = (
        compare_table(rows, links)
        if rows
        else '<p class="empty" id="compare-empty">Pick two to four models.</p>'
    )
    body = f"<h1>Compare models</h1>{form}{note}<div id=compare>{table}</div>"
    return layout("Compare", body, links, current="compare", subtitle=subtitle)


def core_section(core: Sequence[Mapping[str, Any]], links: Links) -> str:
    """The hand-maintained curated core, in its published order (issue 20)."""
    if not core:
        return ""
    rows = []
    for entry in core:
        defaults = ", ".join(f"{k}={_shown(v)}" for k, v in (entry.get("defaults") or {}).items())
        rank = entry.get("rank")
        rows.append(
            f'<tr data-core="{e(entry["id"])}"><td><code>{e(entry.get("alias"))}</code></td>'
            f'<td><a href="{e(links.model(str(entry["id"])))}">{e(entry["id"])}</a></td>'
            f"<td>{e(entry.get('specialty'))}</td><td>{e(entry.get('summary'))}</td>"
            f'<td class="defaults">{e(defaults) or "—"}</td><td>{e(entry.get("state"))}</td>'
            f"<td class=num>{'—' if rank is None else format(rank, '.3f')}</td></tr>"
        )
    return (
        '<section id="core"><h2>Core</h2><p>The hand-maintained core: a concise alias, a '
        "specialty, one line of copy and safe request defaults per model "
        "(<code>overrides/curated-core.json</code>).</p>"
        '<table class="core"><thead><tr><th>Alias</th><th>Model</th><th>Specialty</th>'
        "<th>Summary</th><th>Defaults</th><th>State</th><th>Rank</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def verification_section(verification: Any) -> str:
    """What observed calls say about the model (issue 17); absent reads as unverified."""
    if not isinstance(verification, Mapping):
        return (
            '<section id="verification"><h2>Verification</h2><p class="empty">Unverified: no '
            "call to this model was reported in the telemetry window.</p></section>"
        )
    rows = [
        ("Status", e(verification.get("status"))),
        ("Calls", f"{e(verification.get('calls'))} in {e(verification.get('windowDays'))} days"),
        ("Verified", e(", ".join(verification.get("verifiedCapabilities") or [])) or "—"),
        ("Failing", e(", ".join(verification.get("failingCapabilities") or [])) or "—"),
        ("Downgraded", e(", ".join(verification.get("downgraded") or {})) or "—"),
        ("Latency p50", _number_or_dash(verification.get("latencyP50Ms"), "ms")),
        ("Last checked", e(verification.get("lastChecked"))),
    ]
    return f'<section id="verification"><h2>Verification</h2>{_kv(rows)}</section>'


def offers_table(offers: Sequence[Mapping[str, Any]]) -> str:
    """Who serves the model on OpenRouter, at what price and how well (issue 16)."""
    if not offers:
        return '<p class="empty">OpenRouter lists no provider endpoint for this model.</p>'
    rows = []
    for offer in offers:
        pricing = offer.get("pricing") or {}
        cells = [
            e(offer.get("provider")),
            f"<code>{e(offer.get('tag'))}</code>",
            e(offer.get("quantization") or "—"),
            usd(pricing.get("input")),
            usd(pricing.get("output")),
            count(offer.get("maxContext")),
            count(offer.get("maxOutput")),
            _percent(offer.get("uptime1d")),
            _percent(offer.get("uptime30m")),
            _number_or_dash(offer.get("latencyP50Ms"), "ms"),
            _number_or_dash(offer.get("throughputP50"), "tok/s"),
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "Provider",
            "Tag",
            "Quantization",
            "Input $/1M",
            "Output $/1M",
            "Context",
            "Max output",
            "Uptime 1d",
            "Uptime 30m",
            "Latency p50",
            "Throughput p50",
        )
    )
    return f'<table class="offers"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _percent(value: Any) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:.2f}%"


def _number_or_dash(value: Any, unit: str) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:,.0f} {unit}"


def curated_page(
    curated: Mapping[str, Sequence[Mapping[str, Any]]],
    links: Links,
    *,
    subtitle: str,
    core: Sequence[Mapping[str, Any]] = (),
) -> str:
    if not curated and not core:
        body = '<h1>Curated</h1><p class="empty">No curated.json published yet.</p>'
        return layout("Curated", body, links, current="curated", subtitle=subtitle)
    sections = []
    for bucket, entries in curated.items():
        rows = []
        for position, entry in enumerate(entries, 1):
            scores = entry.get("scores") or {}
            cells = "".join(
                f'<td class=num title="{e(s.get("source"))}: {e(s.get("detail"))}">{float(s.get("value", 0)):.2f}'
                f' <span class="layer">{e(s.get("source"))}</span></td>'
                for s in (scores.get(k, {}) for k in ("quality", "reliability", "latency", "cost"))
            )
            rank = entry.get("rank")
            rows.append(
                f'<tr><td class=num>{position}</td><td><a href="{e(links.model(str(entry["id"])))}">{e(entry["id"])}</a>'
                f" <code>{e(entry.get('alias'))}</code></td><td class=num>{'—' if rank is None else format(rank, '.3f')}</td>{cells}</tr>"
            )
        sections.append(
            f'<section id="bucket-{e(bucket)}"><h2>{e(bucket)}</h2><table class="curated"><thead><tr><th>#</th><th>Model</th><th>Rank</th>'
            "<th>Quality</th><th>Reliability</th><th>Latency</th><th>Cost</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>"
        )
    body = (
        "<h1>Curated buckets</h1><p>Each score says where it came from (hover for the detail); "
        "rank = quality·0.45 + reliability·0.25 + latency·0.15 + cost·0.15 by default.</p>"
        + core_section(core, links)
        + "".join(sections)
    )
    return layout("Curated", body, links, current="curated", subtitle=subtitle)


def changes_page(
    events: Sequence[Mapping[str, Any]],
    links: Links,
    *,
    subtitle: str,
    heading: str,
    older: str | None,
) -> str:
    more = f'<p><a rel="next" href="{e(older)}">older changes →</a></p>' if older else ""
    body = (
        f"<h1>{e(heading)}</h1>"
        f'<p><a href="{e(links.root)}feeds/changes.atom">Atom feed</a></p>'
        + timeline_table(events, links, with_model=True)
        + more
    )
    return layout("Changes", body, links, current="changes", subtitle=subtitle)


def atom(events: Sequence[Mapping[str, Any]], *, base: str, updated: str, links: Links) -> str:
    """An Atom feed of ``events`` (newest first). ``base`` is the absolute site URL."""
    entries = []
    for event in events:
        model_id = str(event["id"])
        summary = "; ".join(
            describe_change(k, v) for k, v in sorted(event.get("changes", {}).items())
        )
        href = base.rstrip("/") + links.model(model_id).removeprefix(".").removeprefix(
            links.root.rstrip("/")
        )
        entries.append(
            "<entry>"
            f"<id>urn:model-catalog:{e(event.get('runId'))}:{e(model_id)}</id>"
            f"<title>{e(model_id)} {e(event.get('event'))}</title>"
            f"<updated>{e(event.get('at'))}</updated>"
            f'<link href="{e(href)}"/>'
            f"<summary>{e(summary)}</summary>"
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Model catalog changes</title>"
        f"<id>urn:model-catalog:changes</id><updated>{e(updated)}</updated>"
        f'<link rel="self" href="{e(base.rstrip("/"))}/feeds/changes.atom"/>'
        + "".join(entries)
        + "</feed>\n"
    )
