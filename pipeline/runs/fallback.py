"""The embedded catalog: what a first run publishes when OpenRouter cannot be reached.

It is this project's own normalized output (a ``current.json``), built from a recorded payload
by ``catalog build-fallback --from-file PATH --now DATE`` (or ``make fallback FROM=…``) and
shipped in the package as ``pipeline/data/openrouter-catalog.json``. ``dataAsOf`` says how
old its data is. It is only used when the store has no catalog yet; with a previous catalog,
the run keeps that one instead.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pipeline.publishing import jsonio
from pipeline.records.catalog import CurrentCatalog

EMBEDDED = "data/openrouter-catalog.json"


def embedded_path() -> Path:
    """Where the embedded catalog lives in a source checkout."""
    return Path(__file__).resolve().parents[1] / EMBEDDED


def load_embedded() -> CurrentCatalog:
    """The shipped catalog."""
    data = resources.files("pipeline").joinpath(EMBEDDED).read_bytes()
    return CurrentCatalog.model_validate_json(data)


def write_embedded(catalog: CurrentCatalog, path: Path | None = None) -> Path:
    """Store ``catalog`` as the embedded fallback, stamped with the date of its data."""
    target = path or embedded_path()
    stamped = catalog.model_copy(update={"data_as_of": catalog.generated_at, "raw_key": None})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(jsonio.dump_model(stamped))
    return target
