"""The run's clock: parsing and printing UTC timestamps one way everywhere."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, to the second (artifacts do not need more and stay stable)."""
    return datetime.now(UTC).replace(microsecond=0)


def parse_iso(value: str) -> datetime:
    """Parse ISO-8601 (``Z`` or offset; a bare date is midnight UTC) into an aware UTC time."""
    text = value.strip()
    if len(text) == 10:
        text += "T00:00:00"
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso(moment: datetime) -> str:
    """``2026-08-19T06:00:00Z``."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def hour_stamp(moment: datetime) -> str:
    """``2026081906``: the UTC hour used in raw snapshot keys."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H")


def age_words(stamp: str, now: datetime) -> str:
    """How old ``stamp`` is at ``now``, in words: ``103 days old``, ``5 hours old``, ``just
    now``. What operators read next to a ``dataAsOf``."""
    seconds = int((now - parse_iso(stamp)).total_seconds())
    if seconds < 0:
        return "in the future"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} old"
    return "just now"


def data_age(stamp: str, now: datetime) -> str:
    """``data as of 2026-08-19, 103 days old`` (the date alone when the data is a day or
    more old, the full time otherwise)."""
    shown = stamp[:10] if (now - parse_iso(stamp)).total_seconds() >= 86400 else stamp
    return f"data as of {shown}, {age_words(stamp, now)}"
