"""An OpenRouter sync's request, result and run state.

``SyncRequest`` is what a sync is asked (the clock, a recorded payload, ``--force``, the
overrides, the deadline); ``SyncResult`` how it ended. ``SyncRun`` is the state one run carries
through its stages: timings, warnings, quarantined records and the run report's details;
``SyncRun.stage`` times a stage, reports its progress and stops the run at a stage that starts
past the deadline (``RunDeadline``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.overrides.files import Overrides
from pipeline.publishing import publish
from pipeline.records.base import Outcome
from pipeline.records.catalog import CurrentCatalog
from pipeline.records.runs import QuarantinedRecord, RunReport
from pipeline.runs.context import ProgressFn

# Every module of the OpenRouter sync logs as the sync.
log = logging.getLogger("pipeline.runs.sync")


class SyncError(Exception):
    """The run cannot go on; the message is the one-line reason shown to the operator."""


class RunDeadline(SyncError):
    """The run passed its deadline (``jobs.run_deadline_seconds``); nothing was published."""


@dataclass
class SyncRequest:
    """What to sync and how."""

    now: datetime
    """The run's clock; every stage uses it (``--now`` for replays)."""
    from_file: Path | None = None
    """Use a recorded payload instead of the network."""
    force: bool = False
    """Publish even when the publish guard objects."""
    job: str = "openrouter"
    """Job name recorded in status.json."""
    overrides: Overrides = field(default_factory=Overrides)
    """Loaded and validated override files (the CLI loads them before the run starts)."""
    offers: bool = False
    """Fetch per-provider offers from the endpoints API (the full refresh does, when
    `offers.enabled`); otherwise the published offers are carried forward."""
    deadline: float | None = None
    """``time.monotonic()`` after which the run stops at its next stage (None: no deadline)."""


@dataclass
class SyncResult:
    """How a run ended."""

    run_id: str
    outcome: Outcome
    published: bool
    report: RunReport
    summary: str
    error: str | None = None
    catalog: CurrentCatalog | None = None
    kept: bool = False
    """Upstream could not be reached and the published catalog was kept as it is."""

    @property
    def exit_code(self) -> int:
        """0 when something was published, else 1 (a held lease is 3, see pipeline.runs.jobs)."""
        return 0 if self.published else 1


@dataclass
class SyncRun:
    """Mutable state of one run: timings, warnings, quarantine."""

    request: SyncRequest
    progress: ProgressFn | None
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    quarantine_overflow: int = 0
    """Quarantined records beyond the stored ones (``openrouter.max_quarantined``)."""
    details: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    """Validated bytes of further artifacts of this run's set (`deprecations`, `curated`),
    committed together with `current` by ``publish.publish_set``."""
    based_on: str | publish.LatestMarker | None = publish.LATEST
    """Etag of the manifest the previous state was read under (None: there was none)."""

    @contextmanager
    def stage(self, name: str, detail: Callable[[], str] | None = None) -> Iterator[None]:
        deadline = self.request.deadline
        if deadline is not None and time.monotonic() > deadline:
            raise RunDeadline(
                f"the run passed its deadline before stage {name!r}; stopped, nothing published "
                "(jobs.run_deadline_seconds)"
            )
        began = time.perf_counter()
        yield
        elapsed = (time.perf_counter() - began) * 1000
        self.timings[name] = round(self.timings.get(name, 0.0) + elapsed, 3)
        text = detail() if detail else ""
        log.debug("stage done", extra={"stage": name, "ms": round(elapsed, 1), "detail": text})
        if self.progress is not None:
            self.progress(name, elapsed, text)

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started
