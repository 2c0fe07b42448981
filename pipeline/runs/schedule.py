"""The cron table (``jobs/schedule.yaml``, UTC) and ``catalog schedule``, which runs it.

The table is the single source of the cron expressions: ``catalog schedule`` runs it with
APScheduler in the foreground, and the infra/k8s CronJobs must use the same expressions.
``schedule:`` in catalog.yaml overrides an entry's cron (or disables it).

The expressions themselves, and what the views ask of them (a job's period, whether it is
overdue), are pipeline.runs.crontab's: it reads the common table without this module's models.

The scheduler runs one job at a time (one worker thread; the run lease serializes it against
every other scheduler and manual run anyway), coalesces missed fires into one, and drops a fire
later than the misfire grace time. On SIGTERM/SIGINT it stops firing and waits for the running
job, which then releases its lease as usual.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.config import CatalogConfig, ConfigError
from pipeline.inputs import read_text_input
from pipeline.runs.crontab import (
    BUILTIN_TABLE,
    TABLE_PATH,
    ScheduledJob,
    catalog_stale_after,
    check_cron,
    cron_trigger,
    next_fires,
    plain_schedule,
)

log = logging.getLogger("pipeline.runs.schedule")


class _Strict(BaseModel):
    # No schema is generated from these models: their docstrings are for readers, and
    # parsing the class sources for them (use_attribute_docstrings) would slow every import.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class TableEntry(_Strict):
    """One row of jobs/schedule.yaml."""

    cron: str
    """Five-field cron expression, UTC."""
    command: list[str]
    """The CLI command that runs the job (`catalog …`), for CronJobs and operators."""
    description: str = ""
    """What the job does."""


class EntryOverride(_Strict):
    """`schedule.jobs.<name>` in catalog.yaml."""

    cron: str | None = None
    """Replacement cron expression (UTC)."""
    enabled: bool = True
    """False leaves the job out of `catalog schedule`."""


class ScheduleSettings(_Strict):
    """`schedule:` in catalog.yaml."""

    table: str | None = None
    """Another cron table file instead of jobs/schedule.yaml."""
    misfire_grace_seconds: int = 600
    """A fire later than this (the process was busy or down) is skipped, not run late."""
    jobs: dict[str, EntryOverride] = Field(default_factory=dict)
    """Per-job overrides of the table."""


def schedule_settings(config: CatalogConfig) -> ScheduleSettings:
    """The typed `schedule:` section of the configuration."""
    try:
        return ScheduleSettings.model_validate(config.extra.get("schedule") or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"schedule.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"config: {problems}") from exc


def read_table(path: Path | None = None) -> dict[str, TableEntry]:
    """Parse a cron table file (default jobs/schedule.yaml, else the built-in copy)."""
    target = path or TABLE_PATH
    if path is None and not target.exists():
        return {n: TableEntry.model_validate(e) for n, e in BUILTIN_TABLE.items()}
    try:
        loaded = yaml.safe_load(read_text_input(target))
    except OSError as exc:
        raise ConfigError(f"cron table {target}: cannot read it ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cron table {target}: not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"cron table {target}: not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict) or not isinstance(loaded.get("jobs"), dict):
        raise ConfigError(f"cron table {target}: expected a top-level `jobs:` mapping")
    table: dict[str, TableEntry] = {}
    for name, entry in loaded["jobs"].items():
        try:
            table[str(name)] = TableEntry.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"cron table {target}: jobs.{name}.{where}: {first['msg']}") from exc
    return table


def load_schedule(config: CatalogConfig) -> list[ScheduledJob]:
    """The effective schedule: the cron table with catalog.yaml's overrides applied.

    Every cron expression is checked here, so a typo fails at start-up naming the job.
    """
    plain = plain_schedule(config.extra)
    if plain is not None:  # the table as it is: every row and cron as the checks below take it
        return plain
    settings = schedule_settings(config)
    table = read_table(Path(settings.table) if settings.table else None)
    unknown = sorted(set(settings.jobs) - set(table))
    if unknown:
        raise ConfigError(
            f"config: schedule.jobs names {', '.join(unknown)}, not in the cron table "
            f"({', '.join(sorted(table))})"
        )
    jobs: list[ScheduledJob] = []
    for name, entry in table.items():
        override = settings.jobs.get(name, EntryOverride())
        cron = override.cron or entry.cron
        try:
            check_cron(cron)
        except ValueError as exc:
            raise ConfigError(f"schedule: job {name}: invalid cron {cron!r}: {exc}") from exc
        jobs.append(
            ScheduledJob(name, cron, tuple(entry.command), entry.description, override.enabled)
        )
    return jobs


def stale_after(config: CatalogConfig) -> timedelta:
    """How old the published data may be before the views call it stale: twice the period of
    the catalog's refresh job in the effective schedule (12 hours for jobs/schedule.yaml's
    6-hourly `full_refresh`), the rule ``stale_reason`` flags an overdue job by."""
    return catalog_stale_after(load_schedule(config))


Runner = Callable[[str], object]
"""Runs one job by name (``run_job`` with the scheduler's store and config)."""


def build_scheduler(
    jobs: list[ScheduledJob],
    runner: Runner,
    *,
    misfire_grace_seconds: int = 600,
    trigger_factory: Callable[[str], Any] = cron_trigger,
) -> Any:
    """A BackgroundScheduler with one trigger per enabled job, not started."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(
        timezone=UTC,
        # One worker: scheduled jobs never overlap one another in this process.
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": misfire_grace_seconds,
        },
    )
    for job in jobs:
        if not job.enabled:
            continue
        scheduler.add_job(
            runner,
            trigger=trigger_factory(job.cron),
            args=[job.name],
            id=job.name,
            name=job.name,
        )
    return scheduler


def serve(
    jobs: list[ScheduledJob],
    runner: Runner,
    *,
    misfire_grace_seconds: int = 600,
    trigger_factory: Callable[[str], Any] = cron_trigger,
    stop: threading.Event | None = None,
    install_signals: bool = True,
    ready: Callable[[], None] | None = None,
) -> int:
    """Run the schedule in the foreground until SIGTERM/SIGINT (or ``stop`` is set).

    On a stop signal no new job starts; the running one finishes and releases its lease, then
    this returns 0. ``ready`` is called once the signal handlers are in place and the
    scheduler runs.
    """
    stop = stop or threading.Event()

    def run_unless_stopping(name: str) -> object:
        # A fire already queued behind the running job when the stop came must not start.
        if stop.is_set():
            log.info("not starting: stopping", extra={"job": name})
            return None
        return runner(name)

    scheduler = build_scheduler(
        jobs,
        run_unless_stopping,
        misfire_grace_seconds=misfire_grace_seconds,
        trigger_factory=trigger_factory,
    )
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if install_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)
    scheduler.start()
    try:
        for job in scheduler.get_jobs():
            log.info(
                "scheduled",
                extra={"job": job.id, "trigger": str(job.trigger), "next": str(job.next_run_time)},
            )
        if ready is not None:
            ready()
        while not stop.wait(1.0):
            pass
        log.info("stopping: no new jobs; waiting for the running one to finish")
    finally:
        scheduler.shutdown(wait=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    log.info("scheduler stopped")
    return 0


def describe(jobs: list[ScheduledJob], available: set[str], now: datetime) -> list[str]:
    """Lines of `catalog schedule --list`: job, trigger, next run time, command."""
    lines = [f"{'job':<19}{'cron (UTC)':<16}{'next run':<22}command"]
    for job in jobs:
        if not job.enabled:
            when = "disabled"
        elif job.name not in available:
            when = "not in this build"
        else:
            fires = next_fires(job.cron, now, 1)
            when = fires[0].strftime("%Y-%m-%dT%H:%M:%SZ") if fires else "never"
        lines.append(f"{job.name:<19}{job.cron:<16}{when:<22}catalog {' '.join(job.command)}")
    return lines
