"""The cron table's expressions and what the views ask of them: a job's period, whether it is
overdue, how old the catalog may get. No APScheduler, pydantic or YAML at import.

``catalog status`` and ``catalog list`` read the schedule on every call. The common table
(``jobs/schedule.yaml`` as shipped, no ``schedule:`` section in catalog.yaml) is read here
without the models that check a file (``plain_schedule``), and a cron that fires at the same
minutes every day (``M H * * *`` with plain numbers, ranges, steps and lists) is read by
``daily_minutes`` without APScheduler. Anything else (a ``schedule:`` section, a row or a cron
this reader does not take as is) is left to pipeline.runs.schedule, which checks it with the
models and APScheduler and says what is wrong.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

TABLE_PATH = Path(__file__).resolve().parents[2] / "jobs" / "schedule.yaml"
"""The cron table in a source checkout (the default)."""

# Used when the package runs without its checkout (an installed wheel): the same table as
# jobs/schedule.yaml, which a test keeps in step.
BUILTIN_TABLE: dict[str, dict[str, Any]] = {
    "full_refresh": {"cron": "0 */6 * * *", "command": ["sync", "all"]},
    "curated_refresh": {"cron": "30 1 * * *", "command": ["sync", "curated"]},
    "deprecation_sweep": {"cron": "45 1 * * *", "command": ["sync", "sweep"]},
    "provider_refresh": {"cron": "15 * * * *", "command": ["sync", "providers"]},
}

CATALOG_JOB = "full_refresh"
"""The job that fetches OpenRouter and publishes current.json (`sync all`)."""

ROW_KEYS = frozenset({"cron", "command", "description"})
"""Keys of a cron table row (pipeline.runs.schedule.TableEntry's fields; a test keeps the two
in step)."""

# (lowest, highest) value of the minute and hour fields, as APScheduler bounds them.
_MINUTE = (0, 59)
_HOUR = (0, 23)


class ScheduledJob(NamedTuple):
    """A job with its effective trigger (a named tuple: dataclasses would load ``inspect``,
    a third of this module's import)."""

    name: str
    cron: str
    command: tuple[str, ...]
    description: str
    enabled: bool = True


def _field_values(text: str, bounds: tuple[int, int]) -> set[int] | None:
    """The values a minute or hour field matches, for the forms APScheduler reads the same way
    (``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n`` and comma lists of them, in bounds, with a step
    within the range); None for anything else, which APScheduler then reads or refuses."""
    low, high = bounds
    values: set[int] = set()
    for part in text.split(","):
        spec, slash, step_text = part.partition("/")
        if slash and not _digits(step_text):
            return None
        step = int(step_text) if slash else 1
        if spec == "*":
            first, last = low, high
        else:
            first_text, dash, last_text = spec.partition("-")
            if not _digits(first_text) or (dash and not _digits(last_text)):
                return None
            if slash and not dash:
                return None  # `a/n`: APScheduler's own reading, left to it
            first = int(first_text)
            last = int(last_text) if dash else first
        # APScheduler refuses a reversed range, a step of 0 and one beyond the range.
        if not low <= first <= last <= high or step < 1 or (slash and step > last - first):
            return None
        values.update(range(first, last + 1, step))
    return values


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def daily_minutes(expression: str) -> list[int] | None:
    """The minutes after midnight (UTC) at which a five-field cron fires, when it fires at the
    same minutes every day (day, month and weekday ``*``) and its minute and hour fields are in
    a form read here; None otherwise. Every expression read here is one APScheduler accepts
    with the same fires (tests/test_schedule.py compares them)."""
    fields = expression.split()
    if len(fields) != 5 or fields[2:] != ["*", "*", "*"]:
        return None
    minutes = _field_values(fields[0], _MINUTE)
    hours = _field_values(fields[1], _HOUR)
    if minutes is None or hours is None:
        return None
    return sorted(h * 60 + m for h in hours for m in minutes)


def cron_trigger(expression: str) -> Any:
    """An APScheduler CronTrigger for a five-field expression, in UTC."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(expression, timezone=UTC)


def check_cron(expression: str) -> None:
    """ValueError when ``expression`` is not a valid five-field cron (APScheduler's words)."""
    if daily_minutes(expression) is None:
        cron_trigger(expression)


def _fires(expression: str, after: datetime) -> Iterator[datetime]:
    """The fire times of ``expression`` after ``after``, one by one, as long as it fires."""
    trigger = cron_trigger(expression)
    previous: datetime | None = None
    now = after
    while (fire := trigger.get_next_fire_time(previous, now)) is not None:
        yield fire
        previous, now = fire, fire + timedelta(seconds=1)


def next_fires(expression: str, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times of ``expression`` after ``after``."""
    return list(itertools.islice(_fires(expression, after), count))


def period(expression: str, at: datetime | None = None) -> timedelta:
    """The job's period: the longest gap between its fires over the next week or so (so an
    hourly, 6-hourly or daily cron gives 1h, 6h or 24h; a weekday cron gives 3 days).

    A cron that fires at the same minutes every day has its longest gap within one day or
    across midnight, computed from its minutes without APScheduler (`catalog status` asks
    for each job's period); any other is scanned over 200 fires from ``at``."""
    minutes = daily_minutes(expression)
    if minutes:
        # The gaps within the day, and from the day's last fire to the next day's first.
        gaps = [b - a for a, b in itertools.pairwise([*minutes, minutes[0] + 24 * 60])]
        return timedelta(minutes=max(gaps))
    start = at or datetime(2026, 1, 1, tzinfo=UTC)
    if expression.split()[2:] == ["*", "*", "*"]:  # every day alike: one day of fires will do
        midnight = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        fires = fires_until(expression, midnight, midnight + timedelta(days=1))
    else:
        fires = next_fires(expression, start, 200)
    spans = [b - a for a, b in itertools.pairwise(fires)]
    return max(spans) if spans else timedelta(days=1)


def fires_until(expression: str, after: datetime, until: datetime) -> list[datetime]:
    """The fire times of ``expression`` from ``after`` up to and including the first one at
    or past ``until``."""
    fires: list[datetime] = []
    for fire in _fires(expression, after):
        fires.append(fire)
        if fire >= until:
            break
    return fires


def stale_reason(
    last_success: str | None, expression: str, now: datetime
) -> tuple[bool, str | None]:
    """(flagged, why) for a job whose last success is older than twice its period."""
    from pipeline.timeutil import parse_iso

    limit = 2 * period(expression, now)
    if last_success is None:
        return True, "never succeeded"
    age = now - parse_iso(last_success)
    if age > limit:
        return True, f"last success {_span(age)} ago > 2× period ({_span(limit / 2)})"
    return False, None


def catalog_stale_after(jobs: list[ScheduledJob]) -> timedelta:
    """How old the published data may be before the views call it stale: twice the period of
    the catalog's refresh job in the schedule ``jobs`` (12 hours for jobs/schedule.yaml's
    6-hourly `full_refresh`), the rule ``stale_reason`` flags an overdue job by."""
    for job in jobs:
        if job.name == CATALOG_JOB:
            return 2 * period(job.cron)
    return 2 * period(BUILTIN_TABLE[CATALOG_JOB]["cron"])


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds / 86400:.3g}d"
    if seconds >= 3600:
        return f"{seconds / 3600:.3g}h"
    return f"{max(seconds // 60, 0)}m"


def _plain_row(entry: Any) -> bool:
    """A row exactly as the table's model takes it: string cron, list of strings as command,
    an optional string description, nothing else."""
    return (
        isinstance(entry, dict)
        and set(entry) <= ROW_KEYS
        and isinstance(entry.get("cron"), str)
        and isinstance(entry.get("command"), list)
        and all(isinstance(word, str) for word in entry["command"])
        and isinstance(entry.get("description", ""), str)
    )


def plain_schedule(extra: Mapping[str, Any]) -> list[ScheduledJob] | None:
    """The effective schedule when catalog.yaml has no ``schedule:`` section (``extra`` is
    ``CatalogConfig.extra``, empty without a config file): the default cron table as it is,
    read without its models when every row is plain and every cron is one ``daily_minutes``
    reads. None otherwise, and whenever the table cannot be read: then
    pipeline.runs.schedule.load_schedule reads it, checks it and names what is wrong."""
    if extra.get("schedule"):
        return None
    if TABLE_PATH.exists():
        import yaml

        from pipeline.inputs import read_text_input

        try:
            loaded = yaml.safe_load(read_text_input(TABLE_PATH))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return None
        rows = loaded.get("jobs") if isinstance(loaded, dict) else None
    else:
        rows = BUILTIN_TABLE
    if not isinstance(rows, dict):
        return None
    jobs: list[ScheduledJob] = []
    for name, entry in rows.items():
        if not _plain_row(entry) or daily_minutes(entry["cron"]) is None:
            return None
        jobs.append(
            ScheduledJob(
                str(name), entry["cron"], tuple(entry["command"]), entry.get("description", "")
            )
        )
    return jobs
