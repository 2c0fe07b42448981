"""Admin refresh: run a sync job in the background, one at a time, and remember its outcome.

Two guards make "only one refresh at a time" hold: an in-process lock (one refresh per reader
process) and the run lease ``models/lock.json`` that every scheduler and trigger takes (a held,
unexpired lease answers 409 without starting anything). The job itself runs through the same
code path as ``syncmodels`` (see ``run_job_adapter``).
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.publishing import keys
from pipeline.publishing.store import Store
from pipeline.registry.core import Registry
from pipeline.registry.loader import LoadError, read_json
from pipeline.timeutil import iso, parse_iso, utcnow

log = logging.getLogger("pipeline.registry.admin")

SCOPES = ("all", "openrouter", "providers", "curated", "sweep")
"""Named scopes; any other well-formed name is taken as one provider source (`anthropic`…)."""
SCOPE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
KEEP_RUNS = 100


@dataclass
class JobOutcome:
    """What a job run returned."""

    run_id: str | None
    outcome: str
    published: bool
    error: str | None = None


def run_job_adapter(scope: str, store: Store, config_path: str | None, now: datetime) -> JobOutcome:
    """Run the job for ``scope`` into ``store`` through the same entry point as ``syncmodels``
    (``pipeline.runs.jobs.run_job``, which takes the run lease itself)."""
    from pipeline.config import load_config
    from pipeline.overrides.files import load_overrides, resolve_dir
    from pipeline.runs.jobs import OlderThanPublished, UnknownJob, job_for, run_job
    from pipeline.sources.config import load_providers_config

    config = load_config(config_path)
    try:
        job, only = job_for(scope, load_providers_config(config).sources)
    except UnknownJob as exc:
        return JobOutcome(None, "failed", False, str(exc))
    overrides_dir = resolve_dir(None, config.overrides_dir)
    try:
        result = run_job(
            job,
            store,
            config,
            now=now,
            overrides=load_overrides(overrides_dir),
            only=only,
            manifest_dir=str(overrides_dir / "pinned"),
        )
    except OlderThanPublished as exc:  # the store's set is from a later clock than this host's
        return JobOutcome(None, "failed", False, str(exc))
    return JobOutcome(result.run_id, result.outcome, result.published, result.error)


JobRunner = Callable[[str, Store, str | None, datetime], JobOutcome]


class RefreshBusy(Exception):
    """A refresh is already running (here, or anywhere that holds the run lease)."""


def lease_holder(store: Store, now: datetime) -> dict[str, Any] | None:
    """The run lease ``models/lock.json`` when it is held (present and not expired)."""
    try:
        lease = read_json(store, keys.LOCK)
    except LoadError:
        return None  # garbled: counts as expired, as in pipeline.publishing.lease
    if not isinstance(lease, dict):
        return None
    try:
        expires = parse_iso(str(lease.get("expiresAt", "")))
    except ValueError:
        # As in pipeline.publishing.lease: an unreadable expiry counts as expired (the next
        # sync takes the lease over); held forever would block every refresh "until garbage".
        return None
    return lease if expires > now else None


@dataclass
class RefreshRun:
    """One refresh requested through the admin API."""

    run_id: str
    scope: str
    requested_at: str
    state: str = "running"
    finished_at: str | None = None
    outcome: str | None = None
    job_run_id: str | None = None
    published: bool | None = None
    error: str | None = None
    catalog_version: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "scope": self.scope,
            "state": self.state,
            "requestedAt": self.requested_at,
            "finishedAt": self.finished_at,
            "outcome": self.outcome,
            "jobRunId": self.job_run_id,
            "published": self.published,
            "error": self.error,
            "catalogVersion": self.catalog_version,
        }


class Refresher:
    """Starts refresh jobs on a background thread, one at a time."""

    def __init__(
        self,
        registry: Registry,
        *,
        config_path: str | None = None,
        runner: JobRunner = run_job_adapter,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.registry = registry
        self.config_path = config_path
        self.runner = runner
        self.clock = clock
        self._busy = threading.Lock()
        self._runs: OrderedDict[str, RefreshRun] = OrderedDict()
        self._current: RefreshRun | None = None

    @property
    def running(self) -> RefreshRun | None:
        return self._current

    def start(self, scope: str) -> RefreshRun:
        """Start a refresh of ``scope``; raise RefreshBusy when one is running or leased."""
        if not re.match(SCOPE_PATTERN, scope):
            raise ValueError(f"scope {scope!r}: use one of {', '.join(SCOPES)} or a source name")
        if not self._busy.acquire(blocking=False):
            current = self._current
            which = f" (run {current.run_id}, scope {current.scope})" if current else ""
            raise RefreshBusy(f"a refresh started through this reader is still running{which}")
        try:
            now = self.clock()
            holder = lease_holder(self.registry.store, now)
            if holder is not None:
                raise RefreshBusy(
                    f"the run lease is held by run {holder.get('runId')} (job {holder.get('job')} "
                    f"on {holder.get('host')}, pid {holder.get('pid')}) until "
                    f"{holder.get('expiresAt')}"
                )
            run = RefreshRun(
                run_id=f"refresh-{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}",
                scope=scope,
                requested_at=iso(now),
            )
            self._remember(run)
            self._current = run
            thread = threading.Thread(
                target=self._run, args=(run, now), name=run.run_id, daemon=True
            )
            thread.start()
        except BaseException:
            self._current = None
            self._busy.release()
            raise
        return run

    def _run(self, run: RefreshRun, now: datetime) -> None:
        started = time.perf_counter()
        try:
            outcome = self.runner(run.scope, self.registry.store, self.config_path, now)
            run.outcome, run.job_run_id = outcome.outcome, outcome.run_id
            run.published, run.error = outcome.published, outcome.error
        except Exception as exc:  # report, never kill the server thread silently
            run.outcome, run.published = "failed", False
            run.error = f"{type(exc).__name__}: {exc}"
        finally:
            # Pick up what the job published right away rather than at the next poll.
            result = self.registry.refresh()
            run.catalog_version = result.version
            run.finished_at = iso(self.clock())
            run.state = "finished"
            self._current = None
            self._busy.release()
            log.info(
                "admin refresh finished",
                extra={
                    "run_id": run.run_id,
                    "scope": run.scope,
                    "outcome": run.outcome,
                    "seconds": round(time.perf_counter() - started, 2),
                },
            )

    def _remember(self, run: RefreshRun) -> None:
        self._runs[run.run_id] = run
        while len(self._runs) > KEEP_RUNS:
            self._runs.popitem(last=False)

    def recent(self) -> list[dict[str, Any]]:
        return [run.as_dict() for run in reversed(self._runs.values())]

    def lookup(self, run_id: str) -> dict[str, Any] | None:
        """A refresh started here, else a pipeline run report from the store, else None."""
        run = self._runs.get(run_id)
        if run is not None:
            body = run.as_dict()
            if run.job_run_id:
                body["report"] = read_json(self.registry.store, keys.run_report(run.job_run_id))
            return body
        report = read_json(self.registry.store, keys.run_report(run_id))
        if report is None:
            return None
        return {
            "runId": run_id,
            "scope": report.get("job"),
            "state": "finished",
            "requestedAt": report.get("generatedAt"),
            "finishedAt": report.get("generatedAt"),
            "outcome": report.get("outcome"),
            "jobRunId": run_id,
            "published": report.get("published"),
            "error": report.get("error"),
            "catalogVersion": None,
            "report": report,
        }
