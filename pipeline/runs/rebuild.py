"""``catalog history rebuild``: backfill the history by replaying recorded payloads.

The payloads are the raw snapshots in the store (``models/openrouter/raw-YYYYMMDDHH.json``,
kept for ``jobs.raw_retention_days``) or a folder of recorded payloads (any of the three
OpenRouter envelopes), replayed in time order through the very sync that runs every six hours,
into a scratch store, with the run's clock at each payload's time. The history the replay
wrote replaces the store's: its segments are copied over and its index committed with the set
(``current.json`` and the rest stay as they are). Same payloads, config and overrides →
byte-identical history.

A payload's time comes from its name: ``raw-2026081906`` (store), or a date with an optional
``THHMMZ`` in a file name (``openrouter-models-2026-01-14T2118Z.json``; a bare date counts as
01:00 UTC, when the daily captures ran). Files whose name holds no date are refused by name.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.history import log as history_log
from pipeline.publishing import keys, publish
from pipeline.publishing.store import LocalStore, Store
from pipeline.records.runs import RunReport
from pipeline.runs.context import JobContext, JobResult, make_run_id, record_report
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.timeutil import iso

_RAW = re.compile(r"raw-(\d{4})(\d{2})(\d{2})(\d{2})\.json$")
_NAMED = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(\d{2})Z)?")


class RebuildError(ValueError):
    """Nothing to replay, or a payload whose time cannot be told; the message names it."""


@dataclass(frozen=True)
class Payload:
    """One recorded payload to replay."""

    at: datetime
    name: str
    path: Path | None = None
    key: str | None = None


def time_of(name: str) -> datetime:
    """A payload's capture time from its file name or raw-snapshot key."""
    raw = _RAW.search(name)
    if raw:
        y, m, d, h = (int(g) for g in raw.groups())
        return datetime(y, m, d, h, tzinfo=UTC)
    named = _NAMED.search(name)
    if named is None:
        raise RebuildError(
            f"{name}: no date in the file name (expected YYYY-MM-DD or YYYY-MM-DDTHHMMZ)"
        )
    y, m, d = (int(g) for g in named.groups()[:3])
    hour = int(named.group(4)) if named.group(4) else 1
    minute = int(named.group(5)) if named.group(5) else 0
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


def payloads_in(directory: Path) -> list[Payload]:
    """Every ``*.json`` OpenRouter payload of a folder, in time order (then by name)."""
    if not directory.is_dir():
        raise RebuildError(f"{directory}: not a directory")
    found = [
        Payload(time_of(p.name), p.name, path=p)
        for p in directory.glob("*.json")
        if p.name.startswith(("openrouter", "raw-"))
    ]
    if not found:
        raise RebuildError(f"{directory}: no openrouter*.json or raw-*.json payloads")
    return sorted(found, key=lambda p: (p.at, p.name))


def payloads_in_store(store: Store) -> list[Payload]:
    """The raw snapshots of the store, oldest first."""
    found = [
        Payload(time_of(key), key.rsplit("/", 1)[-1], key=key)
        for key in store.list(f"{keys.OPENROUTER}/raw-")
        if _RAW.search(key)
    ]
    if not found:
        raise RebuildError(f"{store.uri} holds no raw snapshots under {keys.OPENROUTER}/")
    return sorted(found, key=lambda p: (p.at, p.name))


def rebuild(ctx: JobContext) -> JobResult:
    """The ``history_rebuild`` job (under the run lease, like every job)."""
    began = time.perf_counter()
    try:
        plan = (
            payloads_in(ctx.from_file)
            if ctx.from_file is not None
            else payloads_in_store(ctx.store)
        )
    except RebuildError as exc:
        return JobResult(ctx.job, ctx.run_id, "failed", False, str(exc), str(exc))
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="history-rebuild-") as scratch_dir:
        scratch = LocalStore(Path(scratch_dir) / "store")
        for step, payload in enumerate(plan, 1):
            path = payload.path
            if path is None:
                assert payload.key is not None
                blob = ctx.store.get(payload.key)
                if blob is None:
                    warnings.append(f"{payload.key}: vanished during the rebuild; skipped")
                    continue
                path = Path(scratch_dir) / payload.name
                path.write_bytes(blob.data)
            if ctx.progress is not None:
                ctx.progress("replay", 0.0, f"{step}/{len(plan)} {payload.name}")
            result = sync_openrouter(
                scratch,
                ctx.config,
                SyncRequest(now=payload.at, from_file=path, force=True, overrides=ctx.overrides),
            )
            if not result.published:
                warnings.append(f"{payload.name}: not replayed ({result.error})")
        index_blob = scratch.get(keys.HISTORY)
        index = history_log.read_index(scratch)
        if index is None or index_blob is None:
            error = "the replay recorded no history (no payload could be replayed)"
            return JobResult(ctx.job, ctx.run_id, "failed", False, error, error, warnings=warnings)
        for ref in index.segments:
            blob = scratch.get(ref.key)
            assert blob is not None
            ctx.store.put(ref.key, blob.data)
    run_id = make_run_id(ctx.now, b"history-rebuild:" + hashlib.sha256(index_blob.data).digest())
    committed = publish.publish_set(
        ctx.store, run_id, iso(ctx.now), {"history": index_blob.data}, based_on=publish.LATEST
    )
    counts = {"payloads": len(plan), "events": index.events, "segments": len(index.segments)}
    report = RunReport(
        generated_at=iso(ctx.now),
        run_id=run_id,
        job=ctx.job,
        outcome="ok",
        published=bool(committed.written),
        timings_ms={"total": round((time.perf_counter() - began) * 1000, 3)},
        counts=counts,
        warnings=warnings,
        details={"replayed": [p.name for p in plan]},
    )
    record_report(ctx, report)
    summary = (
        f"history: rebuilt from {len(plan)} payload(s), {index.events} events in "
        f"{len(index.segments)} segment(s), committed as {run_id} → {ctx.store.uri}"
    )
    return JobResult(ctx.job, run_id, "ok", True, summary, warnings=warnings)
