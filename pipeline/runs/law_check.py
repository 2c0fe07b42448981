"""Every sync holds the catalog's laws (pipeline/laws) over what it publishes, and records
what it finds: ``details.laws`` of the run report (laws checked, counts per law, the
violations), the ``lawViolations`` count in the report and ``status.json``, and one warning
naming the broken laws. A violation never stops a run: the laws report, they do not decide
what is published (bad input never sinks a run); ``catalog check`` says the same of any store
at any time. ``recite`` brings the evidence of records an earlier release published, and the
sync carries, to the form the laws check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.laws import Listing, PublishedSet, RawRecords, check, summary
from pipeline.laws.evidence import CITATION, has_path
from pipeline.laws.published import provider_listing, read_set
from pipeline.publishing import keys
from pipeline.publishing.store import Store
from pipeline.records.catalog import CurrentCatalog, Deprecations, ProviderCatalog
from pipeline.records.model import ModelRecord
from pipeline.stages.capabilities import FLAG_ATTRS, Resolver
from pipeline.timeutil import parse_iso

COUNT = "lawViolations"


def openrouter_set(
    store: Store,
    catalog: CurrentCatalog,
    deprecations: Deprecations | None,
    *,
    raw: bytes | None,
    reserved: Mapping[str, str],
    raws: RawRecords | None = None,
    raw_records: Mapping[str, Any] | None = None,
) -> PublishedSet:
    """The OpenRouter catalog a sync is about to publish, with its raw snapshot in memory:
    ``raw_records`` as the sync read them (id → raw record), or else the payload's bytes
    ``raw`` (the carried models' snapshots are read from the store, through ``raws`` when the
    run has read some already)."""
    raws = raws or RawRecords.of(store)
    if raw_records is not None and catalog.raw_key:
        raws.preload_records(catalog.raw_key, "openrouter", raw_records)
    elif raw is not None and catalog.raw_key:
        raws.preload(catalog.raw_key, raw)
    return PublishedSet(
        lists=[Listing("openrouter", "openrouter", catalog.models, raw_key=catalog.raw_key)],
        raw=raws,
        deprecations=deprecations,
        catalog_key=catalog.raw_key,
        generated_at=catalog.generated_at,
        reserved=reserved,
    )


def providers_set(store: Store, written: list[ProviderCatalog]) -> PublishedSet:
    """The provider lists a providers run wrote, against the OpenRouter catalog published in
    the store (their enrichment cites its records)."""
    published = read_set(store, provider_lists=False)
    published.lists = [
        *(listing for listing in published.lists if listing.is_openrouter),
        *(provider_listing(document) for document in written),
    ]
    return published


def hold(
    published: PublishedSet,
    details: dict[str, Any],
    counts: dict[str, int],
    warnings: list[str],
    *,
    skip_openrouter: bool = False,
) -> int:
    """Run every law over ``published`` and record the result; returns the violation count.
    ``skip_openrouter``: the set's OpenRouter catalog is only there to be cited (a providers
    run): its own laws are the OpenRouter sync's to report."""
    violations = [v for v in check(published) if not (skip_openrouter and v.source == "openrouter")]
    checked = [
        listing for listing in published.lists if not (skip_openrouter and listing.is_openrouter)
    ]
    details["laws"] = summary(violations, len(checked))
    counts[COUNT] = len(violations)
    if violations:
        broken = ", ".join(f"{name} ×{n}" for name, n in details["laws"]["byLaw"].items())
        warnings.append(
            f"laws: {len(violations)} violation(s) ({broken}), first: {violations[0].line()}; "
            "see `catalog check`"
        )
    return len(violations)


def recite(raws: RawRecords, carried: list[ModelRecord], resolver: Resolver) -> int:
    """Bring the evidence of carried records (missing from this feed, published by an earlier
    release) to the form the laws check: an `api` flag whose evidence cites no field of the
    raw record the model was last seen in is decided again from that record, and takes that
    decision's evidence when value and layer are the same. Values never change here; a
    record whose raw snapshot is gone keeps its evidence. Returns how many records changed."""
    from pydantic import ValidationError

    from pipeline.records.payloads import OpenRouterModel
    from pipeline.stages.normalize import NormalizeError, normalize_openrouter

    changed = 0
    for record in carried:
        api = [flag for flag, layer in record.detection_source.items() if layer == "api"]
        if not api:
            continue
        raw = raws.get(
            keys.openrouter_raw(parse_iso(record.lifecycle.last_seen)), "openrouter", record.id
        )
        if not isinstance(raw, dict) or all(_cites(record.evidence.get(f, ""), raw) for f in api):
            continue
        try:
            caps = resolver.resolve(normalize_openrouter(OpenRouterModel.model_validate(raw)))
        except (ValidationError, NormalizeError):
            continue
        evidence = dict(record.evidence)
        for flag in api:
            same = caps.source.get(flag) == "api"
            if same and caps.value(flag) == getattr(record, FLAG_ATTRS[flag]):
                evidence[flag] = caps.evidence[flag]
        if evidence != record.evidence:
            record.evidence = evidence
            changed += 1
    return changed


def _cites(evidence: str, raw: dict[str, Any]) -> bool:
    found = CITATION.match(evidence)
    return found is not None and found.group("origin") is None and has_path(raw, found["path"])
