"""The laws in order, and running them over a published set."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pipeline.laws.evidence import api_cites_raw, provider_provenance
from pipeline.laws.identity import (
    alias_unique,
    natural_alias,
    nothing_resolves_to_removed,
    tagged_sibling,
)
from pipeline.laws.money import unit_stated, zero_means_free
from pipeline.laws.published import PublishedSet
from pipeline.laws.violation import Violation

Law = Callable[[PublishedSet], Iterator[Violation]]

LAWS: dict[str, Law] = {
    "alias-unique": alias_unique,
    "natural-alias": natural_alias,
    "tagged-sibling": tagged_sibling,
    "zero-means-free": zero_means_free,
    "unit-stated": unit_stated,
    "api-cites-raw": api_cites_raw,
    "provider-provenance": provider_provenance,
    "nothing-resolves-to-removed": nothing_resolves_to_removed,
}
"""Law name → the function that finds its violations; the function's docstring is the law."""


def check(published: PublishedSet, laws: Iterable[str] | None = None) -> list[Violation]:
    """Every violation of ``laws`` (all of them by default) in ``published``, law by law."""
    found: list[Violation] = []
    for name in laws or LAWS:
        found.extend(LAWS[name](published))
    return found


def describe(name: str) -> str:
    """The law in one paragraph (its function's docstring, on one line)."""
    return " ".join((LAWS[name].__doc__ or "").split())


MAX_REPORTED = 200
"""Violations kept in a run report (all are counted): a broken upstream must not make the
report unbounded."""


def summary(violations: list[Violation], lists: int) -> dict[str, Any]:
    """The run report's ``laws`` section: every law checked, counts per law, the violations
    (at most ``MAX_REPORTED``)."""
    counts = Counter(v.law for v in violations)
    return {
        "checked": list(LAWS),
        "lists": lists,
        "violations": len(violations),
        "byLaw": {name: counts[name] for name in LAWS if counts[name]},
        "list": [v.as_dict() for v in violations[:MAX_REPORTED]],
    }
