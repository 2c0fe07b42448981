"""The history in the store: events per model, immutable segments and the index that commits
them."""

from __future__ import annotations

from typing import Any, Literal

from pipeline.records.base import SCHEMA_VERSION, Record

HistoryEventKind = Literal["added", "tracked", "changed", "removed"]


class HistoryEvent(Record):
    """One model's change in one run. ``changes`` maps a tracked field (``pricing.input``,
    ``maxContext``, ``supportsTools``, ``state``, ``alias``, ``redirectTo``, …) to
    ``[before, after]``; ``null`` means the field was absent (unknown, or not in the catalog)."""

    at: str
    """When the change was observed: the run's clock (the data's time for replays), ISO UTC."""
    run_id: str
    """The run that observed it."""
    id: str
    """Model id."""
    event: HistoryEventKind
    """`added` (new in the catalog), `tracked` (its values when history began on an existing
    catalog), `changed`, or `removed` (left current.json; a tombstone now)."""
    changes: dict[str, list[Any]]
    """Field → [before, after]."""


class HistorySegment(Record):
    """`models/openrouter/history/<seq>-<runId>.json`: an immutable slice of the history,
    events in the order they were observed. A run rewrites only the last, bounded segment
    (under a new key), so appending costs at most one segment whatever the history's age."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """The run that wrote this segment."""
    seq: int
    """Position of the segment in the history (0-based)."""
    events: list[HistoryEvent]
    """Events, oldest first; within one run sorted by model id."""


class HistorySegmentRef(Record):
    """One segment as the index lists it."""

    seq: int
    """Position of the segment (0-based)."""
    key: str
    """Store key of the segment."""
    sha256: str
    """Hex SHA-256 of the segment's bytes."""
    events: int
    """How many events it holds."""
    first_at: str
    """Time of its first event."""
    last_at: str
    """Time of its last event."""


class HistoryIndex(Record):
    """`models/openrouter/history.json`: the segments of the catalog's history, committed with
    the set through the manifest (artifact `history`)."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """The run that last appended to the history."""
    fields: list[str]
    """The tracked fields."""
    events: int
    """Events in all segments."""
    segments: list[HistorySegmentRef]
    """Segments, oldest first."""


# -- runtime telemetry (issue 17) --------------------------------------------------------
