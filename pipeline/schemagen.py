"""Which model each committed JSON Schema is generated from, and the generator.

The schemas are committed under ``pipeline/schemas/`` (``catalog schemas --write``); a test
fails when a committed file drifts from its model, so a field change is always a visible diff.
Published artifacts come from ``pipeline.records`` (serialization shape), hand-maintained files
from ``pipeline.overrides`` and ``pipeline.payloads`` (validation shape).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from pipeline.overrides.files import OVERRIDE_FILES, schema_name
from pipeline.records.catalog import CurrentCatalog, Deprecations, ProviderCatalog, ProvidersIndex
from pipeline.records.curated import CuratedCatalog
from pipeline.records.history import HistoryIndex, HistorySegment
from pipeline.records.independent import CatalogSnapshot
from pipeline.records.payloads import PinnedManifest
from pipeline.records.runs import Manifest, RunReport, Status
from pipeline.records.telemetry import TelemetryDocument

# Published artifact name (pipeline.publishing.schemas.ARTIFACTS) → the model its schema is
# generated from. Later stages add theirs to both.
ARTIFACTS: dict[str, type[BaseModel]] = {
    "catalog-current": CatalogSnapshot,
    "current": CurrentCatalog,
    "curated": CuratedCatalog,
    "deprecations": Deprecations,
    "history": HistoryIndex,
    "history-segment": HistorySegment,
    "manifest": Manifest,
    "provider-current": ProviderCatalog,
    "providers-index": ProvidersIndex,
    "run-report": RunReport,
    "status": Status,
    "telemetry": TelemetryDocument,
}


# Override file schemas (validated at load time; not published).
OVERRIDES: dict[str, type[BaseModel]] = {
    **{schema_name(file): model for file, model in OVERRIDE_FILES.items()},
    # overrides/pinned/<provider>.yaml (validated by pipeline.sources.pinned).
    "pinned-manifest": PinnedManifest,
}


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
