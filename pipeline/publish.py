"""Validate artifacts against their schemas and write them to a store.

Nothing is written unless it validates: an artifact is encoded once, parsed back, checked
against the committed JSON Schema, and only then handed to the store.
"""

from __future__ import annotations

from pydantic import BaseModel

from pipeline import jsonio, keys, schemas
from pipeline.records import JobStatus, Status
from pipeline.store import Store


def encode(name: str, artifact: BaseModel) -> bytes:
    """Published bytes of ``artifact``, validated against schema ``name``."""
    data = jsonio.dump_model(artifact)
    schemas.validate(name, jsonio.loads_plain(data))
    return data


def publish_schemas(store: Store) -> None:
    """Publish every artifact schema (rewritten only when it changed)."""
    for name in schemas.ARTIFACTS:
        key = keys.schema(name)
        data = schemas.committed(name)
        current = store.get(key)
        if current is None or current.data != data:
            store.put(key, data)


def read_status(store: Store) -> Status | None:
    """The published status.json, or None when there is none (or it is unreadable)."""
    blob = store.get(keys.STATUS)
    if blob is None:
        return None
    try:
        return Status.model_validate_json(blob.data)
    except ValueError:
        return None


def record_status(store: Store, job: str, entry: JobStatus, generated_at: str) -> None:
    """Update one job's entry in status.json, keeping the others."""
    status = read_status(store) or Status(generated_at=generated_at)
    previous = status.jobs.get(job)
    if entry.last_success is None and previous is not None:
        entry.last_success = previous.last_success
    status.jobs[job] = entry
    status.generated_at = generated_at
    store.put(keys.STATUS, encode("status", status))
