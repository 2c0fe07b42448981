"""``catalog build-fallback``: the embedded catalog and history, rebuilt from recorded payloads.

The catalog is one OpenRouter sync of a payload into a scratch store, at the payload's time,
with the same override files as a live run: it is served as is when the feed is down, so flags
decided otherwise would contradict them. The history is the ``history_rebuild`` job (the code
behind ``catalog history rebuild``) over every OpenRouter payload of a folder up to that time,
oldest first, into another scratch store; its index and segments are shipped exactly as the job
committed them. Same payloads, code and overrides give the same bytes; tests/test_cli.py holds
the shipped files to that.

The history is bounded (``MAX_HISTORY_BYTES``): it ships in every install, so a folder of
payloads that would make it larger is refused, by name, rather than shipped.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.config import CatalogConfig
from pipeline.history import log as history_log
from pipeline.overrides.files import Overrides
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.records.catalog import CurrentCatalog
from pipeline.runs import rebuild
from pipeline.runs.fallback import EmbeddedHistory
from pipeline.runs.jobs import run_job
from pipeline.runs.sync import SyncRequest, sync_openrouter

MAX_HISTORY_BYTES = 2 * 1024 * 1024
"""What the shipped history may weigh (index and segments): 2 MiB, about 6,000 events. The
recorded snapshots of 2024-02 → 2026-08 make 0.8 MB (README, "Footprint")."""


class BuildError(ValueError):
    """The payload could not be built into a catalog, or the history could not be replayed or
    is over its bound; the message names the file or folder."""


@dataclass(frozen=True)
class Built:
    """The embedded catalog and history, ready to be written into the package."""

    catalog: CurrentCatalog
    history: EmbeddedHistory
    replayed: list[str]
    """Names of the payloads the history replays, oldest first."""


def payload_time(path: Path, now: datetime | None) -> datetime:
    """The time of ``path``'s data: ``now`` when given, else the date in its name, read as
    ``catalog history rebuild`` reads it (a bare date is 01:00 UTC)."""
    if now is not None:
        return now
    try:
        return rebuild.time_of(path.name)
    except rebuild.RebuildError as exc:
        raise BuildError(f"{exc}; give the data's time with --now") from exc


def build_catalog(
    path: Path, at: datetime, config: CatalogConfig, overrides: Overrides
) -> CurrentCatalog:
    """The embedded catalog: ``path`` synced into a fresh scratch store at time ``at``."""
    with tempfile.TemporaryDirectory(prefix="fallback-") as scratch:
        result = sync_openrouter(
            LocalStore(Path(scratch)),
            config,
            SyncRequest(now=at, from_file=path, job="fallback", overrides=overrides),
        )
    if not result.published or result.catalog is None:
        raise BuildError(f"{path}: {result.error}")
    return result.catalog


def build_history(
    folder: Path, until: datetime, config: CatalogConfig, overrides: Overrides
) -> tuple[EmbeddedHistory, list[str]]:
    """The embedded history: the rebuild job over the OpenRouter payloads of ``folder`` observed
    at or before ``until`` (a later one would put the history ahead of the catalog)."""
    try:
        chosen = [p for p in rebuild.payloads_in(folder) if p.at <= until]
    except rebuild.RebuildError as exc:
        raise BuildError(str(exc)) from exc
    if not chosen:
        raise BuildError(f"{folder}: no OpenRouter payload dated at or before {until:%Y-%m-%d}")
    with tempfile.TemporaryDirectory(prefix="fallback-history-") as scratch:
        picked = Path(scratch) / "payloads"
        picked.mkdir()
        for payload in chosen:
            assert payload.path is not None
            (picked / payload.name).symlink_to(payload.path.resolve())
        store = LocalStore(Path(scratch) / "store")
        result = run_job(
            "history_rebuild", store, config, now=until, from_file=picked, overrides=overrides
        )
        if result.outcome != "ok":
            raise BuildError(f"{folder}: history not rebuilt: {result.error or result.summary}")
        index = history_log.read_index(store)
        index_blob = store.get(keys.HISTORY)
        assert index is not None and index_blob is not None  # the job committed it
        segments: dict[str, bytes] = {}
        for ref in index.segments:
            blob = store.get(ref.key)
            assert blob is not None
            segments[ref.key] = blob.data
    history = EmbeddedHistory(index, index_blob.data, segments)
    size = len(index_blob.data) + sum(len(d) for d in segments.values())
    if size > MAX_HISTORY_BYTES:
        raise BuildError(
            f"{folder}: the history of {len(chosen)} payloads weighs {size:,} bytes, over the "
            f"{MAX_HISTORY_BYTES:,} the package ships; replay fewer (--history-from a folder "
            "holding a selection)"
        )
    return history, [p.name for p in chosen]


def build(
    path: Path,
    *,
    history_from: Path,
    now: datetime | None,
    config: CatalogConfig,
    overrides: Overrides,
) -> Built:
    """The embedded catalog of ``path`` and the history of ``history_from`` up to its time."""
    at = payload_time(path, now)
    catalog = build_catalog(path, at, config, overrides)
    history, replayed = build_history(history_from, at, config, overrides)
    return Built(catalog, history, replayed)
