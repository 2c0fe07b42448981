"""``models/status.json`` read for ``catalog status``, without pydantic at import.

The jobs write status.json through its record (pipeline.records.runs.Status), and
pipeline.publishing.publish.read_status reads it back the same way. ``catalog status`` reads it
on every call, and importing the records costs more than the rest of the command (issue 29):
here a document exactly as the jobs write it (camelCase keys of the record, values of its
types) is taken as it is, and anything else is handed to the record, which accepts, coerces or
refuses it as before. Either way the command sees the same values.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

OUTCOMES = frozenset({"ok", "degraded", "guarded", "failed", "locked"})
"""pipeline.records.base.Outcome's values (a test keeps the two in step)."""

# JobStatus's fields as published (camelCase) → the types a value may have.
_NONE = type(None)
_REQUIRED: dict[str, tuple[type, ...]] = {
    "lastStart": (str,),
    "lastEnd": (str,),
    "outcome": (str,),
    "runId": (str,),
    "published": (bool,),
}
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "lastSuccess": (str, _NONE),
    "error": (str, _NONE),
    "counts": (dict,),
    "sources": (dict,),
    "warnings": (list,),
    "dataAsOf": (str, _NONE),
}
STATUS_KEYS = frozenset({"schemaVersion", "generatedAt", "jobs"})
"""Status's fields as published (a test keeps them in step with the record)."""
JOB_KEYS = frozenset(_REQUIRED) | frozenset(_OPTIONAL)
"""JobStatus's fields as published (a test keeps them in step with the record)."""


# Named tuples rather than dataclasses, which would load ``inspect`` (as pipeline.registry's
# records do, for the same reason).
class JobView(NamedTuple):
    """One job's entry (pipeline.records.runs.JobStatus's fields)."""

    last_start: str
    last_end: str
    outcome: str
    run_id: str
    published: bool
    last_success: str | None
    error: str | None
    counts: dict[str, int]
    sources: dict[str, Any]
    warnings: list[str]
    data_as_of: str | None


class StatusView(NamedTuple):
    """status.json (pipeline.records.runs.Status's fields)."""

    generated_at: str
    jobs: dict[str, JobView]


def _plain_job(entry: Any) -> bool:
    if not isinstance(entry, dict) or not set(entry) <= JOB_KEYS:
        return False
    if any(not isinstance(entry.get(k), types) for k, types in _REQUIRED.items()):
        return False
    if any(k in entry and not isinstance(entry[k], types) for k, types in _OPTIONAL.items()):
        return False
    counts = entry.get("counts", {})
    return (
        entry["outcome"] in OUTCOMES
        and all(type(v) is int for v in counts.values())
        and all(isinstance(w, str) for w in entry.get("warnings", []))
    )


def _plain(document: Any) -> bool:
    """True when ``document`` is status.json exactly as the record writes it."""
    return (
        isinstance(document, dict)
        and set(document) <= STATUS_KEYS
        and isinstance(document.get("generatedAt"), str)
        and type(document.get("schemaVersion", 1)) is int
        and isinstance(document.get("jobs", {}), dict)
        and all(_plain_job(entry) for entry in document.get("jobs", {}).values())
    )


def read_status(data: bytes) -> StatusView | None:
    """status.json's bytes as the record reads them; None when the record refuses them."""
    try:
        document = json.loads(data)
    except ValueError:
        document = None
    if not _plain(document):
        return _through_the_record(data)
    jobs = {
        name: JobView(
            last_start=entry["lastStart"],
            last_end=entry["lastEnd"],
            outcome=entry["outcome"],
            run_id=entry["runId"],
            published=entry["published"],
            last_success=entry.get("lastSuccess"),
            error=entry.get("error"),
            counts=entry.get("counts", {}),
            sources=entry.get("sources", {}),
            warnings=entry.get("warnings", []),
            data_as_of=entry.get("dataAsOf"),
        )
        for name, entry in document.get("jobs", {}).items()
    }
    return StatusView(generated_at=document["generatedAt"], jobs=jobs)


def _through_the_record(data: bytes) -> StatusView | None:
    """A document the plain reading does not take: the record decides, as it always did."""
    from pipeline.records.runs import Status

    try:
        status = Status.model_validate_json(data)
    except ValueError:
        return None
    jobs = {
        name: JobView(
            last_start=job.last_start,
            last_end=job.last_end,
            outcome=job.outcome,
            run_id=job.run_id,
            published=job.published,
            last_success=job.last_success,
            error=job.error,
            counts=job.counts,
            sources=job.sources,
            warnings=job.warnings,
            data_as_of=job.data_as_of,
        )
        for name, job in status.jobs.items()
    }
    return StatusView(generated_at=status.generated_at, jobs=jobs)
