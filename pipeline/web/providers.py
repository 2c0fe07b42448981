"""The explorer's provider pages (issue 30): every provider, one provider's models, and on a
model's page every provider that serves it — each figure with the source behind it.

What a page shows is gathered here from the published lists as plain mappings (the reader's
``Registry.providers`` / ``provider`` / ``model_providers``); the markup is in
``templates/providers.html``, ``provider.html`` and ``_providers.html``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pipeline.web.pages import Links, Masthead
from pipeline.web.templating import render

__all__ = ["provider_page", "providers_page", "serving_rows", "source_of"]

FIGURES = (("input", "pricing"), ("output", "pricing"), ("maxContext", None))


def source_of(origin: str | None, own: str) -> str:
    """The source a provenance string names, shortly: ``openrouter``, an independent catalog
    (``modelsdev:google/… cost.input`` → ``modelsdev``), a capability layer (``heuristic``,
    ``override``), else the provider's own list, by the provider's name."""
    if not origin or origin == "unknown":
        return ""
    if origin.startswith(("openrouter", "all: openrouter", "input openrouter")):
        return "openrouter"
    head, colon, _ = origin.partition(":")
    if colon and head not in ("native", "all") and " " not in head and "(" not in head:
        return head
    return own


def _figure(
    model: Mapping[str, Any], provenance: Mapping[str, str], name: str, own: str
) -> dict[str, Any]:
    value = (
        (model.get("pricing") or {}).get(name) if name in ("input", "output") else model.get(name)
    )
    agreement = (model.get("agreement") or {}).get(name)
    dissent = [d for d in model.get("disagreements") or () if d.get("field") == name]
    return {
        "value": value,
        "source": source_of(provenance.get(name), own),
        "origin": provenance.get(name, ""),
        "agree": f"{agreement['agree']}/{agreement['sources']}" if agreement else "",
        "dissent": ", ".join(f"{d['source']}: {d['value']}" for d in dissent),
        "alone": name in (model.get("unconfirmed") or ()),
    }


def _row(model: Mapping[str, Any], provenance: Mapping[str, str], own: str) -> dict[str, Any]:
    lifecycle = model.get("lifecycle") or {}
    return {
        "id": model["id"],
        "name": model.get("name"),
        "alias": model.get("alias"),
        "state": lifecycle.get("state"),
        "expires": lifecycle.get("expiresAt"),
        "figures": {name: _figure(model, provenance, name, own) for name, _ in FIGURES},
        "announced": [
            {
                "from": a.get("from"),
                "input": (a.get("pricing") or {}).get("input"),
                "output": (a.get("pricing") or {}).get("output"),
                "source": a.get("source"),
            }
            for a in model.get("announcedPrices") or ()
        ],
        "sources": sorted({str(r.get("source")) for r in model.get("sources") or ()}),
        "openrouter": next(
            (
                r.get("nativeId")
                for r in model.get("sources") or ()
                if r.get("source") == "openrouter"
            ),
            None,
        ),
    }


def providers_page(
    summaries: Sequence[Mapping[str, Any]], links: Links, *, subtitle: Masthead | str
) -> str:
    """Every provider with a list: models by state, the sources merged, served how, when."""
    total = sum(int(p.get("count") or 0) for p in summaries)
    return render(
        "providers.html",
        providers=summaries,
        total=total,
        links=links,
        current="providers",
        subtitle=subtitle,
    )


def provider_page(document: Mapping[str, Any], links: Links, *, subtitle: Masthead | str) -> str:
    """One provider's models: price and context with the source of each, agreement,
    lifecycle, announced prices; the sources its list was merged from."""
    own = str(document.get("source"))
    provenance = document.get("provenance") or {}
    models: Iterable[Mapping[str, Any]] = document.get("models") or []
    return render(
        "provider.html",
        provider=own,
        document=document,
        contributors=document.get("contributors") or {},
        rows=[_row(m, provenance.get(m["id"], {}), own) for m in models],
        links=links,
        current="providers",
        subtitle=subtitle,
    )


def serving_rows(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a model page's providers section (``Registry.model_providers``)."""
    return [
        {
            **_row(e["record"], e.get("provenance") or {}, str(e["provider"])),
            "provider": e["provider"],
        }
        for e in entries
    ]
