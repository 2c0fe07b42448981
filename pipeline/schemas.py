"""JSON Schemas of the published artifacts and of the override files, generated from models.

The generated schemas are committed under ``pipeline/schemas/`` (``catalog schemas --write``).
Artifact schemas are also published to ``models/schemas/<artifact>.schema.json``. A test fails
when a committed file drifts from its model, so a field change is always a visible diff.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema_rs
from pydantic import BaseModel

from pipeline.jsonpath import json_path
from pipeline.overrides import OVERRIDE_FILES, schema_name
from pipeline.records import (
    CuratedCatalog,
    CurrentCatalog,
    Deprecations,
    Manifest,
    ProviderCatalog,
    RunReport,
    Status,
)
from pipeline.sources.pinned import PinnedManifest

# Published artifact name → the model its schema is generated from. Later stages add theirs.
ARTIFACTS: dict[str, type[BaseModel]] = {
    "current": CurrentCatalog,
    "curated": CuratedCatalog,
    "deprecations": Deprecations,
    "manifest": Manifest,
    "provider-current": ProviderCatalog,
    "run-report": RunReport,
    "status": Status,
}

# Override file schemas (validated at load time; not published).
OVERRIDES: dict[str, type[BaseModel]] = {
    **{schema_name(file): model for file, model in OVERRIDE_FILES.items()},
    # overrides/pinned/<provider>.yaml (validated by pipeline.sources.pinned).
    "pinned-manifest": PinnedManifest,
}


class SchemaViolation(ValueError):
    """An artifact does not match its schema; the message names the artifact and the path."""


def all_names() -> list[str]:
    """Every committed schema."""
    return sorted({*ARTIFACTS, *OVERRIDES})


def generate(name: str) -> dict[str, Any]:
    """The JSON Schema for ``name``, as generated from its model."""
    if name in ARTIFACTS:
        schema = ARTIFACTS[name].model_json_schema(by_alias=True, mode="serialization")
    else:
        schema = OVERRIDES[name].model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"models/schemas/{name}.schema.json"
    return schema


def render(name: str) -> bytes:
    """The committed file's bytes for ``name``."""
    return (json.dumps(generate(name), indent=2, sort_keys=True) + "\n").encode("utf-8")


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
