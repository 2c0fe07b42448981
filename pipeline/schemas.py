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

from jsonschema import Draft202012Validator
from pydantic import BaseModel

from pipeline.overrides import OVERRIDE_FILES, schema_name
from pipeline.records import (
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
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(committed(name)))


def first_error(name: str, document: Any) -> tuple[str, str] | None:
    """(JSON path, message) of the first violation of schema ``name``, or None."""
    errors = sorted(_validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    first = errors[0]
    path = "$"
    for part in first.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    message = first.message if len(first.message) <= 300 else first.message[:297] + "..."
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return path, message


def validate(name: str, document: Any) -> None:
    """Raise SchemaViolation if ``document`` does not match artifact ``name``'s schema."""
    error = first_error(name, document)
    if error is not None:
        raise SchemaViolation(f"{name}: {error[0]}: {error[1]}")
