"""How old the published data is, and whether it is older than the schedule says it should be.

In: a catalog's ``dataAsOf`` (when the data was observed upstream), its ``degraded`` flag (the
embedded catalog, served when OpenRouter could not be reached) and the reader's clock. Out: a
``DataAge`` whose ``words`` every human view prints when it is ``stale``: ``data as of
2026-08-19, 110 days old (embedded catalog, degraded)``. The CLI's views print it, the
explorer shows it as a banner.

Stale means older than twice the period of the job that refreshes the catalog (the OpenRouter
fetch runs every 6 hours per jobs/schedule.yaml, so 12 hours), the rule by which
``catalog status`` flags a job as overdue; ``pipeline.runs.schedule.stale_after`` computes it
from the effective schedule. The embedded catalog is always called out, whatever its age.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.timeutil import data_age, parse_iso

DEFAULT_STALE_AFTER = timedelta(hours=12)
"""Twice the 6-hour period of the OpenRouter job in jobs/schedule.yaml (`full_refresh`), for
when the schedule is not at hand; tests/test_data_age.py keeps the two in step."""


@dataclass(frozen=True)
class DataAge:
    """The age of one published catalog's data at one moment."""

    as_of: str
    """When the data was observed upstream (``dataAsOf``, else ``generatedAt``), ISO-8601."""
    now: datetime
    """The moment the age is measured at."""
    degraded: bool = False
    """The catalog is the embedded one (OpenRouter was unreachable when it was published)."""
    stale_after: timedelta = DEFAULT_STALE_AFTER
    """Older than this is older than the schedule says the data should be."""

    @property
    def age(self) -> timedelta:
        try:
            return self.now - parse_iso(self.as_of)
        except ValueError:
            return timedelta.max  # an unreadable date is no evidence of fresh data

    @property
    def stale(self) -> bool:
        """Older than the schedule allows, or the embedded catalog: the views say so."""
        return self.degraded or self.age > self.stale_after

    @property
    def words(self) -> str:
        """``data as of 2026-08-19, 110 days old (embedded catalog, degraded)``."""
        try:
            text = data_age(self.as_of, self.now)
        except ValueError:
            text = f"data as of {self.as_of!r} (not a date)"
        return text + (" (embedded catalog, degraded)" if self.degraded else "")


def age_of(
    current: Mapping[str, Any],
    now: datetime | None = None,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> DataAge:
    """The ``DataAge`` of a catalog document (current.json as plain data) at ``now``."""
    as_of = str(current.get("dataAsOf") or current.get("generatedAt") or "")
    moment = now if now is not None else datetime.now(UTC).replace(microsecond=0)
    return DataAge(as_of, moment, bool(current.get("degraded")), stale_after)
