"""The embedded catalog and history: what a first run publishes when OpenRouter cannot be reached.

The catalog is this project's own normalized output (a ``current.json``) of one recorded
payload; the history is what ``catalog history rebuild`` records replaying every recorded
payload up to that one, oldest first (2024-02 → 2026-08 with the snapshots of
``../shared/fixtures/real``). Both are built by ``catalog build-fallback --from-file PATH``
(``make fallback FROM=…``, ``pipeline.runs.build_fallback``) and shipped in the package:
``pipeline/data/openrouter-catalog.json`` and ``pipeline/data/openrouter-history/`` (the
history's index as committed, ``history.json``, and its segments under their own names).
``dataAsOf`` says how old the catalog's data is. They are only used when the store has no
catalog yet; with a previous catalog, the run keeps that one instead, and a store's history,
once it has one, is only ever appended to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import ValidationError

from pipeline.publishing import jsonio
from pipeline.records.catalog import CurrentCatalog
from pipeline.records.history import HistoryIndex

EMBEDDED = "data/openrouter-catalog.json"
EMBEDDED_HISTORY = "data/openrouter-history"
HISTORY_INDEX = "history.json"
"""The index's file name in ``EMBEDDED_HISTORY``; each segment is there under the last part of
its store key."""


class EmbeddedHistoryError(ValueError):
    """The shipped history does not match its index; the message names the file."""


@dataclass(frozen=True)
class EmbeddedHistory:
    """The shipped history, as bytes ready for a store."""

    index: HistoryIndex
    index_bytes: bytes
    """``history.json`` exactly as the rebuild committed it (its segments' SHA-256 inside)."""
    segments: dict[str, bytes]
    """Store key → bytes of each segment the index lists."""


def embedded_path() -> Path:
    """Where the embedded catalog lives in a source checkout."""
    return Path(__file__).resolve().parents[1] / EMBEDDED


def embedded_history_path() -> Path:
    """Where the embedded history lives in a source checkout."""
    return Path(__file__).resolve().parents[1] / EMBEDDED_HISTORY


def load_embedded() -> CurrentCatalog:
    """The shipped catalog."""
    data = resources.files("pipeline").joinpath(EMBEDDED).read_bytes()
    return CurrentCatalog.model_validate_json(data)


def load_embedded_history(folder: Traversable | None = None) -> EmbeddedHistory | None:
    """The shipped history, every segment checked against the index; None when the package
    ships none. Raises EmbeddedHistoryError when a file is missing, unreadable or altered."""
    where = folder or resources.files("pipeline").joinpath(EMBEDDED_HISTORY)
    index_file = where.joinpath(HISTORY_INDEX)
    if not index_file.is_file():
        return None
    index_bytes = index_file.read_bytes()
    try:
        index = HistoryIndex.model_validate_json(index_bytes)
    except ValidationError as exc:
        raise EmbeddedHistoryError(f"{EMBEDDED_HISTORY}/{HISTORY_INDEX}: {exc}") from exc
    segments: dict[str, bytes] = {}
    for ref in index.segments:
        name = ref.key.rsplit("/", 1)[-1]
        part = where.joinpath(name)
        data = part.read_bytes() if part.is_file() else None
        if data is None or hashlib.sha256(data).hexdigest() != ref.sha256:
            raise EmbeddedHistoryError(
                f"{EMBEDDED_HISTORY}/{name} is missing or does not match {HISTORY_INDEX}; "
                "rebuild it with `make fallback`"
            )
        segments[ref.key] = data
    return EmbeddedHistory(index, index_bytes, segments)


def write_embedded(catalog: CurrentCatalog, path: Path | None = None) -> Path:
    """Store ``catalog`` as the embedded fallback, stamped with the date of its data."""
    target = path or embedded_path()
    stamped = catalog.model_copy(update={"data_as_of": catalog.generated_at, "raw_key": None})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(jsonio.dump_model(stamped))
    return target


def write_embedded_history(history: EmbeddedHistory, folder: Path | None = None) -> Path:
    """Store ``history`` as the embedded one, replacing whatever the folder held."""
    target = folder or embedded_history_path()
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.json"):
        old.unlink()
    (target / HISTORY_INDEX).write_bytes(history.index_bytes)
    for key, data in history.segments.items():
        (target / key.rsplit("/", 1)[-1]).write_bytes(data)
    return target
