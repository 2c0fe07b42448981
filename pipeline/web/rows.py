"""The explorer's table: one compact row per model, and the filters and sorts over them.

The same rows feed the server-rendered pages, the pages the live table's script asks for
(``/explorer/table.json``), the ``rows.json`` a static export's script filters in the browser,
and ``catalog list``. The filters are the library's (``Snapshot.search``, as
``/api/models`` answers them); the script applies the same rules (see explorer.js).

A view's query string may give a filter of several values as one comma list
(``capability=vision,tools``) or as a repeated key (``capability=vision&capability=tools``,
what the form sends without JavaScript): both mean the same. A key of one value (``q``,
``provider``, ``bucket``, ``sort``, ``dir``, ``page``) given twice with different values is
an error, as it is on ``/api/models``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pipeline.registry.core import Snapshot
from pipeline.registry.filters import BUCKETS, CAPABILITIES, KINDS, STATES, TIERS, QueryError

PAGE_SIZE = 100

# Sort key → (row field, label). Missing values sort last whatever the direction.
SORTS: dict[str, str] = {
    "id": "id",
    "name": "name",
    "input": "in",
    "output": "out",
    "context": "ctx",
    "max-output": "maxOut",
    "created": "created",
    "rank": "rank",
}


def row(model: Mapping[str, Any], rank: float | None, buckets: list[str]) -> dict[str, Any]:
    """The compact row of one published record."""
    pricing = model.get("pricing") or {}
    modalities = model.get("modalities") or {}
    caps = [name for name, check in CAPABILITIES.items() if check(model)]
    out: dict[str, Any] = {
        "id": model["id"],
        "name": model.get("name", ""),
        "alias": model.get("alias", ""),
        "provider": model.get("provider", ""),
        "family": model.get("family", ""),
        "kind": model.get("kind", ""),
        "tier": model.get("priceTier", ""),
        "state": (model.get("lifecycle") or {}).get("state", ""),
        "in": pricing.get("input"),
        "out": pricing.get("output"),
        "cacheRead": pricing.get("cacheRead"),
        "variable": bool(pricing.get("variable")),
        "ctx": model.get("maxContext"),
        "maxOut": model.get("maxOutput"),
        "created": model.get("created"),
        "rank": rank,
        "caps": caps,
        "reasoning": model.get("reasoning", "none"),
        "modIn": modalities.get("input", []),
        "modOut": modalities.get("output", []),
        "buckets": buckets,
        "cost": model.get("cost", ""),
    }
    return out


# Row field a view sorts on → its value read from the published record (as ``row`` reads it),
# so a page sorts the models it selects without building every model's row first.
SORT_VALUES: dict[str, Callable[[Mapping[str, Any], Mapping[str, float]], Any]] = {
    "id": lambda m, ranks: m["id"],
    "name": lambda m, ranks: m.get("name", ""),
    "in": lambda m, ranks: (m.get("pricing") or {}).get("input"),
    "out": lambda m, ranks: (m.get("pricing") or {}).get("output"),
    "ctx": lambda m, ranks: m.get("maxContext"),
    "maxOut": lambda m, ranks: m.get("maxOutput"),
    "created": lambda m, ranks: m.get("created"),
    "rank": lambda m, ranks: ranks.get(str(m["id"])),
}


def memberships(snapshot: Snapshot) -> dict[str, list[str]]:
    """Model id → the curated buckets it is in (once per catalog version)."""

    def build() -> dict[str, list[str]]:
        member: dict[str, list[str]] = {}
        for bucket, entries in snapshot.buckets.items():
            for entry in entries:
                member.setdefault(str(entry["id"]), []).append(bucket)
        return member

    return snapshot.memo(("explorer-buckets",), build)


def row_at(snapshot: Snapshot, position: int) -> dict[str, Any]:
    """The row of the model at ``position`` (its place in id order)."""
    model = snapshot.models[position]
    model_id = str(model["id"])
    return row(model, snapshot.index.ranks.get(model_id), memberships(snapshot).get(model_id, []))


def all_rows(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Every published model's row, sorted by id (built once per catalog version)."""

    def build() -> list[dict[str, Any]]:
        return [row_at(snapshot, i) for i in range(len(snapshot.models))]

    return snapshot.memo(("explorer-rows",), build)


def given(params: Any, name: str) -> list[str]:
    """Every value of ``name`` in ``params``, in order (none when it is absent). ``params``:
    a mapping of one value or a list of values per key, or starlette's ``QueryParams`` (its
    ``getlist`` gives every value of a repeated key)."""
    getlist = getattr(params, "getlist", None)
    if getlist is not None:
        return [str(v) for v in getlist(name)]
    value = params.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def one(params: Any, name: str) -> str:
    """The value of a key that takes one; a QueryError when it is given twice, differently."""
    values = list(dict.fromkeys(v for v in given(params, name) if v != ""))
    if len(values) > 1:
        shown = ", ".join(repr(v[:40]) for v in values)
        raise QueryError(f"{name}: given {len(values)} different values ({shown}); give one")
    return values[0] if values else ""


def _many(params: Any, name: str, allowed: tuple[str, ...] | list[str]) -> list[str]:
    """The values of a filter of several: comma lists and repeated keys alike, each once."""
    wanted = [v.strip() for value in given(params, name) for v in value.split(",") if v.strip()]
    unknown = [v for v in wanted if v not in allowed]
    if unknown:
        raise QueryError(
            f"{name}: unknown value(s) {', '.join(unknown)}; choose from {', '.join(allowed)}"
        )
    return list(dict.fromkeys(wanted))


class View:
    """What the table shows: the whole state lives in the URL's query string.

    A plain class with a dataclass's keyword constructor, equality and repr: ``catalog list``
    builds one, and importing ``dataclasses`` (with ``inspect``, ``ast``, ``dis``) was about a
    tenth of that command's work (issue 29)."""

    __slots__ = FIELDS = (
        "q",
        "capability",
        "tier",
        "state",
        "kind",
        "provider",
        "bucket",
        "sort",
        "desc",
        "page",
    )

    def __init__(
        self,
        *,
        q: str = "",
        capability: list[str] | None = None,
        tier: list[str] | None = None,
        state: list[str] | None = None,
        kind: list[str] | None = None,
        provider: str = "",
        bucket: str = "",
        sort: str = "id",
        desc: bool = False,
        page: int = 1,
    ) -> None:
        self.q = q
        self.capability: list[str] = [] if capability is None else capability
        self.tier: list[str] = [] if tier is None else tier
        self.state: list[str] = [] if state is None else state
        self.kind: list[str] = [] if kind is None else kind
        self.provider = provider
        self.bucket = bucket
        self.sort = sort
        self.desc = desc
        self.page = page

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, View)
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"View({shown})"

    @classmethod
    def parse(cls, params: Any) -> View:
        """From query parameters (a mapping, or starlette's QueryParams with repeated keys);
        raises QueryError naming a bad parameter and the choices."""
        sort = one(params, "sort") or "id"
        if sort not in SORTS:
            raise QueryError(f"sort: unknown value {sort!r}; choose from {', '.join(SORTS)}")
        bucket = one(params, "bucket")
        if bucket and bucket not in BUCKETS:
            raise QueryError(f"bucket: unknown value {bucket!r}; choose from {', '.join(BUCKETS)}")
        direction = one(params, "dir") or "asc"
        if direction not in ("asc", "desc"):
            raise QueryError(f"dir: unknown value {direction!r}; choose from asc, desc")
        page_text = one(params, "page")
        try:
            page = max(1, int(page_text or 1))
        except ValueError as exc:
            raise QueryError(f"page: {page_text!r} is not a number") from exc
        return cls(
            q=one(params, "q").strip(),
            capability=_many(params, "capability", list(CAPABILITIES)),
            tier=_many(params, "tier", TIERS),
            state=_many(params, "state", STATES),
            kind=_many(params, "kind", KINDS),
            provider=one(params, "provider").strip().lower(),
            bucket=bucket,
            sort=sort,
            desc=direction == "desc",
            page=page,
        )

    def query(self, **change: Any) -> dict[str, str]:
        """The query parameters of this view with ``change`` applied (defaults left out)."""
        values: dict[str, Any] = {
            "q": self.q,
            "capability": ",".join(self.capability),
            "tier": ",".join(self.tier),
            "state": ",".join(self.state),
            "kind": ",".join(self.kind),
            "provider": self.provider,
            "bucket": self.bucket,
            "sort": "" if self.sort == "id" else self.sort,
            "dir": "desc" if self.desc else "",
            "page": "" if self.page == 1 else str(self.page),
        }
        values.update({k: ("" if v is None else str(v)) for k, v in change.items()})
        return {k: v for k, v in values.items() if v}


def positions(snapshot: Snapshot, view: View) -> list[int]:
    """The positions of the models the view shows, in its order (missing values last, in id
    order). The models are the ones the library's search finds for the same filters: the
    explorer, ``catalog list`` and ``/api/models`` give one answer."""
    found = snapshot.select(
        capability=view.capability,
        tier=view.tier,
        state=view.state,
        kind=view.kind,
        provider=view.provider or None,
        q=view.q or None,
        bucket=view.bucket or None,
    )
    value_of = SORT_VALUES[SORTS[view.sort]]
    models, ranks = snapshot.models, snapshot.index.ranks
    present: list[tuple[Any, Any, int]] = []
    missing: list[int] = []
    for i in found.positions():
        value = value_of(models[i], ranks)
        if value is None:
            missing.append(i)
        else:
            present.append((value.lower() if isinstance(value, str) else value, models[i]["id"], i))
    present.sort(key=lambda p: (p[0], p[1]), reverse=view.desc)
    return [i for _, _, i in present] + missing


def select(snapshot: Snapshot, view: View) -> list[dict[str, Any]]:
    """The rows the view shows, in its order (see ``positions``)."""
    every = all_rows(snapshot)
    return [every[i] for i in positions(snapshot, view)]


def page_rows(
    snapshot: Snapshot, view: View, size: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int, int, int]:
    """(the rows of the view's page, how many models the view shows, that page's number, the
    number of pages): only the page's rows are built (a 100k-model table answers a page
    without a row per model)."""
    found = positions(snapshot, view)
    pages = max(1, -(-len(found) // size))
    page = min(view.page, pages)
    shown = [row_at(snapshot, i) for i in found[(page - 1) * size : page * size]]
    return shown, len(found), page, pages


def page_of(
    rows: list[dict[str, Any]], view: View, size: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int]:
    """(the rows of the view's page, number of pages)."""
    pages = max(1, -(-len(rows) // size))
    page = min(view.page, pages)
    return rows[(page - 1) * size : page * size], pages
