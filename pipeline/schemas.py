"""JSON Schemas of the published artifacts, generated from the pydantic models.

The generated schemas are committed under ``pipeline/schemas/`` (``catalog schemas --write``)
and published to ``models/schemas/<artifact>.schema.json``. A test fails when the committed
files drift from the models, so a field change is always a visible, reviewed diff.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel

from pipeline.records import CurrentCatalog, RunReport, Status

# Artifact name → the model its schema is generated from. Later stages add theirs here.
ARTIFACTS: dict[str, type[BaseModel]] = {
    "current": CurrentCatalog,
    "run-report": RunReport,
    "status": Status,
}


class SchemaViolation(ValueError):
    """An artifact does not match its schema; the message names the artifact and the path."""


def generate(name: str) -> dict[str, Any]:
    """The JSON Schema for artifact ``name``, as generated from its model."""
    model = ARTIFACTS[name]
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"models/schemas/{name}.schema.json"
    return schema


def render(name: str) -> bytes:
    """The committed file's bytes for artifact ``name``."""
    return (json.dumps(generate(name), indent=2, sort_keys=True) + "\n").encode("utf-8")


def committed(name: str) -> bytes:
    """The schema file shipped in the package."""
    return resources.files("pipeline").joinpath(f"schemas/{name}.schema.json").read_bytes()


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(committed(name)))


def validate(name: str, document: Any) -> None:
    """Raise SchemaViolation if ``document`` does not match artifact ``name``'s schema."""
    errors = sorted(_validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        path = "/".join(str(p) for p in first.absolute_path) or "(root)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SchemaViolation(f"{name}: {path}: {first.message[:300]}{more}")
