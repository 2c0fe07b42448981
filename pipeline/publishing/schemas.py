"""Validation against the committed JSON Schemas (``pipeline/schemas/<name>.schema.json``).

This module only reads the committed files; which model each schema is generated from lives in
``pipeline.schemagen`` (``catalog schemas --write``), which knows the override and payload
models too. Keeping generation out of here lets the override loader validate against a schema
without an import cycle. Artifact schemas are also published to
``models/schemas/<artifact>.schema.json``.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema_rs

from pipeline.publishing.jsonpath import json_path

# Every published artifact with a schema of its own, in publishing order. Which model each is
# generated from is pipeline.schemagen's business: validating needs only the committed file,
# and reading status.json (`catalog status`) should not build every record model.
ARTIFACTS: tuple[str, ...] = (
    "catalog-current",
    "current",
    "curated",
    "deprecations",
    "history",
    "history-segment",
    "manifest",
    "provider-current",
    "providers-index",
    "run-report",
    "status",
    "telemetry",
)


class SchemaViolation(ValueError):
    """An artifact does not match its schema; the message names the artifact and the path."""


def committed(name: str) -> bytes:
    """The schema file shipped in the package."""
    return resources.files("pipeline").joinpath(f"schemas/{name}.schema.json").read_bytes()


@functools.cache
def _validator(name: str) -> Any:
    # jsonschema-rs (Rust) validates a 10k-model catalog in ~40 ms where the pure-Python
    # jsonschema package takes ~10 s; both implement Draft 2020-12 and report JSON paths.
    return jsonschema_rs.validator_for(json.loads(committed(name)))


def first_error(name: str, document: Any) -> tuple[str, str] | None:
    """(JSON path, message) of the first violation of schema ``name``, or None."""
    validator = _validator(name)
    if validator.is_valid(document):
        return None
    errors = sorted(
        validator.iter_errors(document), key=lambda e: [str(p) for p in e.instance_path]
    )
    first = errors[0]
    path = json_path(first.instance_path)
    message = first.message
    # Optional fields are `anyOf: [X, null]`; "is not valid under any of the given schemas"
    # hides what X wanted, so name it ("'yes' is not of type 'boolean'").
    branches = getattr(first.kind, "context", None) or []
    wanted = [
        sub
        for branch in branches
        for sub in branch
        if not (sub.schema_path and sub.schema_path[-1] == "type" and "null" in sub.message)
    ]
    if len(wanted) == 1:
        message = wanted[0].message
    message = message if len(message) <= 300 else message[:297] + "..."
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return path, message


@functools.cache
def _definition_validator(name: str, definition: str) -> Any:
    schema = json.loads(committed(name))
    return jsonschema_rs.validator_for({"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]})


def validate_definition(name: str, definition: str, document: Any) -> None:
    """Validate one part of artifact ``name`` against its ``$defs/definition`` schema."""
    validator = _definition_validator(name, definition)
    if validator.is_valid(document):
        return
    error = next(iter(validator.iter_errors(document)))
    path = json_path(error.instance_path)
    raise SchemaViolation(
        f"{name}: {definition} {document.get('id', '?')}: {path}: {error.message[:300]}"
    )


def validate(name: str, document: Any) -> None:
    """Raise SchemaViolation if ``document`` does not match artifact ``name``'s schema."""
    error = first_error(name, document)
    if error is not None:
        raise SchemaViolation(f"{name}: {error[0]}: {error[1]}")
