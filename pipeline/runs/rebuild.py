"""``catalog history rebuild``: backfill the history by replaying recorded payloads.

The payloads are the raw snapshots in the store (``models/openrouter/raw-YYYYMMDDHH.json``,
kept for ``jobs.raw_retention_days``) or a folder of recorded payloads (any of the three
OpenRouter envelopes), replayed in time order through the very sync that runs every six hours,
into a scratch store, with the run's clock at each payload's time. The history the replay
wrote replaces the store's: its segments are copied over and its index committed with the set
(``current.json`` and the rest stay as they are), only on the manifest the rebuild started
from. Same payloads, config and overrides → byte-identical history.

A rebuild outlives a lease TTL and may outlive the run's deadline: it checks both between
replays and stops, committing nothing, when either is gone. Replays keep the publish guard's
judgement (``_Replay``): a truncated capture is skipped and reported, a loss the next payload
confirms is replayed.

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
from pipeline.publishing.lease import LeaseLost
from pipeline.publishing.store import LocalStore, Store, StoreError
from pipeline.records.runs import RunReport
from pipeline.runs.context import (
    JobContext,
    JobResult,
    make_run_id,
    record_failure,
    record_report,
)
from pipeline.runs.sync import SyncRequest, SyncResult, sync_openrouter
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


class RebuildStopped(Exception):
    """The rebuild must stop before committing: its deadline passed or its lease is gone."""


def rebuild(ctx: JobContext) -> JobResult:
    """The ``history_rebuild`` job (under the run lease, like every job).

    Between replays it checks the run's deadline and renews its lease, and stops (nothing
    committed) when either is gone; it commits only on the manifest it started from, so a
    sync that committed meanwhile (having taken a lapsed lease) keeps its history event.
    Replays keep the publish guard: a payload that lost a large share of the models is
    skipped and reported, unless the next payload confirms the loss (issue 27)."""
    began = time.perf_counter()
    try:
        plan = (
            payloads_in(ctx.from_file)
            if ctx.from_file is not None
            else payloads_in_store(ctx.store)
        )
    except RebuildError as exc:
        return JobResult(ctx.job, ctx.run_id, "failed", False, str(exc), str(exc))
    # The manifest this rebuild builds on: a set committed after it is never overwritten.
    based_on = ctx.store.head(keys.MANIFEST)
    with tempfile.TemporaryDirectory(prefix="history-rebuild-") as scratch_dir:
        replay = _Replay(ctx, Path(scratch_dir))
        try:
            for step, payload in enumerate(plan, 1):
                _keep_going(ctx, f"before payload {step} of {len(plan)} ({payload.name})")
                replay.one(payload, f"{step}/{len(plan)} {payload.name}")
            replay.last_pending()
            _keep_going(ctx, "before committing", final=True)
        except RebuildStopped as exc:
            return _stopped(ctx, str(exc), replay.warnings)
        index_blob = replay.scratch.get(keys.HISTORY)
        index = history_log.read_index(replay.scratch)
        if index is None or index_blob is None:
            error = "the replay recorded no history (no payload could be replayed)"
            return JobResult(
                ctx.job, ctx.run_id, "failed", False, error, error, warnings=replay.warnings
            )
        for ref in index.segments:
            blob = replay.scratch.get(ref.key)
            assert blob is not None
            ctx.store.put(ref.key, blob.data)
    run_id = make_run_id(ctx.now, b"history-rebuild:" + hashlib.sha256(index_blob.data).digest())
    try:
        committed = publish.publish_set(
            ctx.store, run_id, iso(ctx.now), {"history": index_blob.data}, based_on=based_on
        )
    except publish.PublishConflict as exc:
        return _stopped(
            ctx, f"another run committed a set while the rebuild ran ({exc})", replay.warnings
        )
    counts = {
        "payloads": len(plan),
        "replayed": len(replay.replayed),
        "skipped": len(replay.skipped),
        "events": index.events,
        "segments": len(index.segments),
    }
    report = RunReport(
        generated_at=iso(ctx.now),
        run_id=run_id,
        job=ctx.job,
        outcome="ok",
        published=bool(committed.written),
        timings_ms={"total": round((time.perf_counter() - began) * 1000, 3)},
        counts=counts,
        warnings=replay.warnings,
        details={"replayed": replay.replayed, "skipped": replay.skipped},
    )
    record_report(ctx, report)
    skipped = f", {len(replay.skipped)} skipped (see the warnings)" if replay.skipped else ""
    summary = (
        f"history: rebuilt from {len(replay.replayed)} payload(s){skipped}, {index.events} "
        f"events in {len(index.segments)} segment(s), committed as {run_id} → {ctx.store.uri}"
    )
    return JobResult(ctx.job, run_id, "ok", True, summary, warnings=replay.warnings)


class _Replay:
    """The replays of one rebuild, into a scratch store, and what became of each payload.

    A payload the publish guard refuses (it lost more than ``publish.max_loss_fraction`` of
    the models) waits for the next one: when that one is refused too, the loss persisted — a
    real mass retirement, which an operator would publish with ``--force`` — and the waiting
    payload is replayed with force; otherwise it was a bad capture (a truncated download) and
    is skipped, so it never invents hundreds of removals and returns."""

    def __init__(self, ctx: JobContext, scratch_dir: Path) -> None:
        self.ctx = ctx
        self.scratch_dir = scratch_dir
        self.scratch = LocalStore(scratch_dir / "store")
        self.warnings: list[str] = []
        self.replayed: list[str] = []
        self.skipped: list[dict[str, str]] = []
        self.pending: tuple[Payload, Path, str] | None = None

    def one(self, payload: Payload, progress: str) -> None:
        path = self._file_of(payload)
        if path is None:
            return
        if self.ctx.progress is not None:
            self.ctx.progress("replay", 0.0, progress)
        result = self._sync(payload, path, force=False)
        if result.outcome == "guarded" and self.pending is not None:
            waiting, waiting_path, _ = self.pending
            self.pending = None
            if self._sync(waiting, waiting_path, force=True).published:
                self.replayed.append(waiting.name)
                self.warnings.append(
                    f"{waiting.name}: replayed despite the publish guard: the next payload "
                    f"({payload.name}) lost the same share of models"
                )
            result = self._sync(payload, path, force=False)
        elif result.published:
            self.last_pending()  # the loss did not persist: the waiting payload was bad
        if result.published:
            self.replayed.append(payload.name)
        elif result.outcome == "guarded":
            self.pending = (payload, path, result.error or "publish guard")
        else:
            self._skip(payload.name, f"not replayed ({result.error})")

    def last_pending(self) -> None:
        """A refused payload no later payload confirmed: skipped, and reported."""
        if self.pending is not None:
            payload, _, reason = self.pending
            self.pending = None
            self._skip(payload.name, f"skipped: {reason} (no later payload confirmed the loss)")

    def _skip(self, name: str, why: str) -> None:
        self.skipped.append({"payload": name, "reason": why})
        self.warnings.append(f"{name}: {why}")

    def _sync(self, payload: Payload, path: Path, *, force: bool) -> SyncResult:
        request = SyncRequest(
            now=payload.at,
            from_file=path,
            force=force,
            overrides=self.ctx.overrides,
            deadline=self.ctx.deadline,
        )
        return sync_openrouter(self.scratch, self.ctx.config, request)

    def _file_of(self, payload: Payload) -> Path | None:
        """The payload as a file (a raw snapshot is copied out of the store first)."""
        if payload.path is not None:
            return payload.path
        assert payload.key is not None
        blob = self.ctx.store.get(payload.key)
        if blob is None:
            self._skip(payload.key, "vanished during the rebuild; skipped")
            return None
        path = self.scratch_dir / payload.name
        path.write_bytes(blob.data)
        return path


def _keep_going(ctx: JobContext, where: str, *, final: bool = False) -> None:
    """RebuildStopped when the run's deadline passed or its lease is no longer its own; the
    lease is renewed otherwise (a replay of hundreds of payloads outlives a lease TTL). A
    store error while renewing stops only the ``final`` check, before the commit: between
    replays the renewing thread keeps trying."""
    if ctx.deadline is not None and time.monotonic() > ctx.deadline:
        raise RebuildStopped(f"the run's deadline (jobs.run_deadline_seconds) passed {where}")
    if ctx.lease is None:
        return
    try:
        ctx.lease.renew()
    except LeaseLost as exc:
        raise RebuildStopped(f"{exc} ({where})") from exc
    except StoreError as exc:
        if final:
            raise RebuildStopped(f"could not renew the lease {where}: {exc}") from exc


def _stopped(ctx: JobContext, why: str, warnings: list[str]) -> JobResult:
    """A rebuild that stopped: nothing committed, the store's history as it was."""
    result = record_failure(ctx, f"history rebuild stopped, nothing committed: {why}")
    result.warnings = warnings
    return result
