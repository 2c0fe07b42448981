"""The explorer's table: one compact row per model, and the filters and sorts over them.

The same rows feed the server-rendered first page, the ``rows.json`` the page's script filters
in the browser, and ``catalog list``; the script applies the same rules (see explorer.js).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.registry.core import BUCKETS, CAPABILITIES, STATES, TIERS, QueryError, Snapshot

KINDS = ("chat", "image", "embedding", "video", "speech", "transcription", "rerank", "router")
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


def all_rows(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Every published model's row, sorted by id (built once per catalog version)."""

    def build() -> list[dict[str, Any]]:
        ranks = snapshot.index.ranks
        member: dict[str, list[str]] = {}
        for bucket, entries in snapshot.buckets.items():
            for entry in entries:
                member.setdefault(str(entry["id"]), []).append(bucket)
        return [
            row(m, ranks.get(str(m["id"])), member.get(str(m["id"]), [])) for m in snapshot.models
        ]

    return snapshot.memo(("explorer-rows",), build)


def _many(value: str | None, name: str, allowed: tuple[str, ...] | list[str]) -> list[str]:
    if not value:
        return []
    wanted = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in wanted if v not in allowed]
    if unknown:
        raise QueryError(
            f"{name}: unknown value(s) {', '.join(unknown)}; choose from {', '.join(allowed)}"
        )
    return wanted


@dataclass
class View:
    """What the table shows: the whole state lives in the URL's query string."""

    q: str = ""
    capability: list[str] = field(default_factory=list)
    tier: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    provider: str = ""
    bucket: str = ""
    sort: str = "id"
    desc: bool = False
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> View:
        """From query parameters; raises QueryError naming a bad parameter and the choices."""
        sort = params.get("sort") or "id"
        if sort not in SORTS:
            raise QueryError(f"sort: unknown value {sort!r}; choose from {', '.join(SORTS)}")
        bucket = params.get("bucket") or ""
        if bucket and bucket not in BUCKETS:
            raise QueryError(f"bucket: unknown value {bucket!r}; choose from {', '.join(BUCKETS)}")
        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError as exc:
            raise QueryError(f"page: {params.get('page')!r} is not a number") from exc
        return cls(
            q=(params.get("q") or "").strip(),
            capability=_many(params.get("capability"), "capability", list(CAPABILITIES)),
            tier=_many(params.get("tier"), "tier", TIERS),
            state=_many(params.get("state"), "state", STATES),
            kind=_many(params.get("kind"), "kind", KINDS),
            provider=(params.get("provider") or "").strip().lower(),
            bucket=bucket,
            sort=sort,
            desc=(params.get("dir") or "asc") == "desc",
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

    def matches(self) -> Callable[[Mapping[str, Any]], bool]:
        needle = self.q.lower()
        caps, tiers, states, kinds = (
            set(self.capability),
            set(self.tier),
            set(self.state),
            set(self.kind),
        )

        def check(r: Mapping[str, Any]) -> bool:
            if needle and not any(needle in str(r[f]).lower() for f in ("id", "alias", "name")):
                return False
            if caps and not caps <= set(r["caps"]):
                return False
            if tiers and r["tier"] not in tiers:
                return False
            if states and r["state"] not in states:
                return False
            if kinds and r["kind"] not in kinds:
                return False
            if self.provider and self.provider not in (
                str(r["provider"]).lower(),
                str(r["family"]).lower(),
            ):
                return False
            return not (self.bucket and self.bucket not in r["buckets"])

        return check


def select(rows: list[dict[str, Any]], view: View) -> list[dict[str, Any]]:
    """The rows the view shows, in its order (missing values last)."""
    check = view.matches()
    found = [r for r in rows if check(r)]
    key = SORTS[view.sort]
    present = [r for r in found if r.get(key) is not None]
    missing = [r for r in found if r.get(key) is None]
    present.sort(
        key=lambda r: (
            (r[key], r["id"]) if not isinstance(r[key], str) else (r[key].lower(), r["id"])
        ),
        reverse=view.desc,
    )
    return present + missing


def page_of(
    rows: list[dict[str, Any]], view: View, size: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int]:
    """(the rows of the view's page, number of pages)."""
    pages = max(1, -(-len(rows) // size))
    page = min(view.page, pages)
    return rows[(page - 1) * size : page * size], pages
