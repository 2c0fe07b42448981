"""Validate artifacts against their schemas and write them to a store.

Nothing is written unless it validates: an artifact is encoded once, parsed back, checked
against the committed JSON Schema, and only then handed to the store.
"""

from __future__ import annotations

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from pipeline import jsonio, keys, schemas
from pipeline.records import JobStatus, Status
from pipeline.store import Store


def encode(name: str, artifact: BaseModel) -> bytes:
    """Published bytes of ``artifact``, validated against schema ``name``.

    The bytes are parsed back and validated, so what is checked is exactly what is written.
    """
    data = jsonio.dump_model(artifact)
    document = jsonio.loads_plain(data)
    schemas.validate(name, document)
    return data


def encode_listing(name: str, artifact: BaseModel, field: str, item_def: str) -> bytes:
    """Like :func:`encode`, for documents dominated by one large list (``current.json``).

    Each item is serialized, parsed back and validated on its own against the schema's
    ``item_def`` definition, then spliced into the envelope. The bytes are identical to
    :func:`encode`'s, but only one item's intermediate copies exist at a time, which keeps a
    100k-model publish within its memory budget.
    """
    items = getattr(artifact, field)
    envelope = artifact.model_copy(update={field: []})
    head = jsonio.dump_model(envelope)
    schemas.validate(name, jsonio.loads_plain(head))
    if not items:
        return head
    key = f'"{to_camel(field)}": []'.encode()
    before, found, after = head.partition(key)
    if not found:
        raise schemas.SchemaViolation(f"{name}: cannot find the {field!r} list to fill in")
    out = bytearray(before)
    out += key[:-2] + b"[\n"
    for index, item in enumerate(items):
        text = jsonio.dump_model(item)
        schemas.validate_definition(name, item_def, jsonio.loads_plain(text))
        if index:
            out += b",\n"
        out += b"    " + text.rstrip(b"\n").replace(b"\n", b"\n    ")
    out += b"\n  ]" + after
    return bytes(out)


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
