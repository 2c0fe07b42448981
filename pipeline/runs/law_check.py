"""Every sync holds the catalog's laws (pipeline/laws) over what it publishes, and records
what it finds: ``details.laws`` of the run report (laws checked, counts per law, the
violations), the ``lawViolations`` count in the report and ``status.json``, and one warning
naming the broken laws. A violation never stops a run: the laws report, they do not decide
what is published (bad input never sinks a run); ``catalog check`` says the same of any store
at any time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.laws import Listing, PublishedSet, RawRecords, check, summary
from pipeline.laws.published import provider_listing, read_set
from pipeline.publishing.store import Store
from pipeline.records.catalog import CurrentCatalog, Deprecations, ProviderCatalog

COUNT = "lawViolations"


def openrouter_set(
    store: Store,
    catalog: CurrentCatalog,
    deprecations: Deprecations | None,
    *,
    raw: bytes | None,
    reserved: Mapping[str, str],
) -> PublishedSet:
    """The OpenRouter catalog a sync is about to publish, with its raw snapshot in memory
    (the carried models' snapshots are read from the store)."""
    loaded = {catalog.raw_key: raw} if raw is not None and catalog.raw_key else {}
    return PublishedSet(
        lists=[Listing("openrouter", "openrouter", catalog.models, raw_key=catalog.raw_key)],
        raw=RawRecords.of(store, loaded),
        deprecations=deprecations,
        catalog_key=catalog.raw_key,
        generated_at=catalog.generated_at,
        reserved=reserved,
    )


def providers_set(store: Store, written: list[ProviderCatalog]) -> PublishedSet:
    """The provider lists a providers run wrote, against the OpenRouter catalog published in
    the store (their enrichment cites its records)."""
    published = read_set(store)
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
