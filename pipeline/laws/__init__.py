"""The catalog's laws (DESIGN.md §7): what every published store must hold, whatever wrote it.

In: a published set — OpenRouter's ``current.json`` and ``deprecations.json``, every provider
list, and the raw snapshots they were normalized from (``PublishedSet``: ``read_set`` reads
one from a store, a sync assembles its own before it publishes). Out: ``Violation``s, each
naming its law, the list, the model and the values. ``LAWS`` holds the laws in order; each
law's docstring is the law.

Used by ``catalog check`` (any store), by every sync (its run report's ``details.laws`` and
the ``lawViolations`` count in ``status.json``) and by the tests over every recorded snapshot.
"""

from __future__ import annotations

from pipeline.laws.check import LAWS, check, summary
from pipeline.laws.published import Listing, PublishedSet, RawRecords, read_set
from pipeline.laws.violation import Violation

__all__ = [
    "LAWS",
    "Listing",
    "PublishedSet",
    "RawRecords",
    "Violation",
    "check",
    "read_set",
    "summary",
]
