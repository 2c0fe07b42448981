"""``catalog crosscheck``: the published catalog against an independent catalog file.

In: a store holding ``models/openrouter/current.json`` and the provider lists
(``models/providers/<source>/current.json``), and a reference file — models.dev ``api.json``,
LiteLLM's ``model_prices_and_context_window.json`` or pydantic's genai-prices ``data.json``
(``reference.load_reference``; the last read by ``genai_prices``).
Out: a ``CrosscheckResult`` (``compare.crosscheck``): per list the reference provider and how
many records matched, per field (input/output/cache prices, context, max output, vision,
tools, reasoning, structured output) the overlap and agreements, and every disagreement with
both values, our provenance/evidence and the reference's raw value. ``render_text`` prints it
for people; ``CrosscheckResult.as_json`` is the machine form, ``summary`` the compact figures.

The comparison itself is read-only; ``record_crosscheck`` (the full refresh's optional last
step, ``crosscheck.reference_file`` in catalog.yaml) writes its summary as a run report and
the ``crosscheck`` entry of ``status.json``. The store and the clock are parameters.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from pipeline.crosscheck.compare import (
    FIELDS,
    CrosscheckResult,
    Disagreement,
    PublishedList,
    crosscheck,
)
from pipeline.crosscheck.reference import Reference, ReferenceError, load_reference
from pipeline.publishing import keys, publish
from pipeline.publishing.store import Store
from pipeline.records.base import Outcome
from pipeline.records.catalog import CurrentCatalog
from pipeline.records.runs import JobStatus, RunReport
from pipeline.stages.enrich import published_provider_lists
from pipeline.timeutil import iso

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
    "record_crosscheck",
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


JOB = "crosscheck"


def record_crosscheck(store: Store, reference_path: str, now: datetime) -> str:
    """Run the crosscheck and record its summary (run report + status.json entry ``crosscheck``).
    Returns a one-line summary; an unreadable reference or catalog is recorded as a failed
    check and returned as the line, never raised (it must not fail the refresh)."""
    stamp = iso(now)
    run_id = f"{now:%Y%m%dT%H%M%SZ}-{hashlib.sha256(reference_path.encode()).hexdigest()[:8]}"
    counts: dict[str, int] = {}
    details: dict[str, Any] = {}
    per_source: dict[str, dict[str, int]] = {}
    error: str | None = None
    try:
        result = run_crosscheck(store, reference_path)
    except (ReferenceError, ValidationError) as exc:
        error = f"crosscheck: {exc}".splitlines()[0]
        line = error
    else:
        counts = {
            "disagreements": len(result.disagreements),
            "overlap": sum(c.overlap for f in result.counts.values() for c in f.values()),
        }
        details = {JOB: result.summary()}
        per_source = {s.source: {"matched": s.matched, "disagreements": 0} for s in result.sources}
        for d in result.disagreements:
            per_source[d.source]["disagreements"] += 1
        line = (
            f"crosscheck: {counts['disagreements']} disagreements in {counts['overlap']} "
            f"compared values against {reference_path}"
        )
    outcome: Outcome = "failed" if error else "ok"
    report = RunReport(
        generated_at=stamp,
        run_id=run_id,
        job=JOB,
        outcome=outcome,
        published=error is None,
        error=error,
        counts=counts,
        details=details,
    )
    entry = JobStatus(
        last_start=stamp,
        last_end=stamp,
        outcome=outcome,
        run_id=run_id,
        published=error is None,
        last_success=None if error else stamp,
        error=error,
        counts=counts,
        sources=per_source,
    )
    store.put(keys.run_report(run_id), publish.encode("run-report", report))
    publish.record_status(store, JOB, entry, stamp)
    return line


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
    header = f"{'field':<18}" + "".join(f"{scope + ' agree/overlap':>38}" for scope in scopes)
    lines.append(header)
    for name in FIELDS:
        row = f"{name:<18}"
        for scope in scopes:
            c = result.counts[scope][name]
            row += f"{f'{c.agree}/{c.overlap} ({c.disagree} differ, {c.unknown} unknown)':>38}"
        lines.append(row)
    lines.append("(unknown: the reference states the field, our record does not)")
    lines.append("")
    origins = "; ".join(
        f"{scope}: " + ", ".join(f"{n} {origin}" for origin, n in counts.items())
        for scope, counts in result.by_origin().items()
    )
    lines.append(f"{len(result.disagreements)} disagreements (by origin of our value: {origins}):")
    for d in result.disagreements:
        paired = " (dated id vs undated entry)" if d.match == "undated" else ""
        lines.append(
            f"  {d.source}:{d.id} {d.field}: ours {_shown(d.ours)} ({d.origin}) [{d.our_evidence}] "
            f"vs {d.reference_id}{paired} {_shown(d.theirs)} {d.their_evidence}"
        )
    by_match = ", ".join(f"{n} {how}" for how, n in result.by_match().items())
    if by_match:
        lines.append(f"paired by: {by_match} (exact id, key, undated, reference rule)")
    return lines
