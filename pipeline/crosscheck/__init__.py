"""``catalog crosscheck``: the published catalog against an independent catalog file.

In: a store holding ``models/openrouter/current.json`` and the provider lists
(``models/providers/<source>/current.json``), and a reference file — models.dev ``api.json``
or LiteLLM's ``model_prices_and_context_window.json`` (``reference.load_reference``).
Out: a ``CrosscheckResult`` (``compare.crosscheck``): per list the reference provider and how
many records matched, per field (input/output/cache prices, context, max output, vision,
tools, reasoning, structured output) the overlap and agreements, and every disagreement with
both values, our provenance/evidence and the reference's raw value. ``render_text`` prints it
for people; ``CrosscheckResult.as_json`` is the machine form, ``summary`` the compact figures.

Nothing here writes: the comparison is read-only, and the store is a parameter.
"""

from __future__ import annotations

from pipeline.crosscheck.compare import (
    FIELDS,
    CrosscheckResult,
    Disagreement,
    PublishedList,
    crosscheck,
)
from pipeline.crosscheck.reference import Reference, ReferenceError, load_reference
from pipeline.publishing import keys
from pipeline.publishing.store import Store
from pipeline.records import CurrentCatalog
from pipeline.stages.enrich import published_provider_lists

__all__ = [
    "FIELDS",
    "CrosscheckResult",
    "Disagreement",
    "PublishedList",
    "Reference",
    "ReferenceError",
    "crosscheck",
    "load_reference",
    "published_lists",
    "render_text",
    "run_crosscheck",
]


def published_lists(store: Store) -> list[PublishedList]:
    """OpenRouter's catalog (if published) and every readable provider list, in that order."""
    lists: list[PublishedList] = []
    blob = store.get(keys.CURRENT)
    if blob is not None:
        catalog = CurrentCatalog.model_validate_json(blob.data)
        lists.append(PublishedList("openrouter", "openrouter", catalog.models))
    for provider in sorted(published_provider_lists(store), key=lambda p: p.source):
        lists.append(
            PublishedList(
                provider.source, provider.source_type, provider.models, provider.provenance
            )
        )
    return lists


def run_crosscheck(store: Store, reference_path: str) -> CrosscheckResult:
    """Load the reference and compare every published list with it."""
    return crosscheck(load_reference(reference_path), published_lists(store))


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def render_text(result: CrosscheckResult) -> list[str]:
    """The report for people: matched records, the per-field table, every disagreement."""
    lines = [f"reference: {result.reference} ({result.format})", ""]
    lines.append(f"{'source':<14}{'reference':<14}{'records':>8}{'matched':>8}  ambiguous")
    for s in result.sources:
        lines.append(
            f"{s.source:<14}{s.reference_provider or '-':<14}{s.records:>8}{s.matched:>8}  "
            + (", ".join(s.ambiguous) or "-")
        )
    lines.append("")
    scopes = list(result.counts)
    header = f"{'field':<18}" + "".join(f"{scope + ' agree/overlap':>28}" for scope in scopes)
    lines.append(header)
    for name in FIELDS:
        row = f"{name:<18}"
        for scope in scopes:
            c = result.counts[scope][name]
            row += f"{f'{c.agree}/{c.overlap} ({c.disagree} differ)':>28}"
        lines.append(row)
    lines.append("")
    origins = "; ".join(
        f"{scope}: " + ", ".join(f"{n} {origin}" for origin, n in counts.items())
        for scope, counts in result.by_origin().items()
    )
    lines.append(f"{len(result.disagreements)} disagreements (by origin of our value: {origins}):")
    for d in result.disagreements:
        lines.append(
            f"  {d.source}:{d.id} {d.field}: ours {_shown(d.ours)} ({d.origin}) [{d.our_evidence}] "
            f"vs {d.reference_id} {_shown(d.theirs)} {d.their_evidence}"
        )
    return lines
