"""Questions asked of the published history: a model's timeline, its values (and price) at a
moment, what changed since a date or a run.

Plain dicts parsed with the stdlib ``json``, no pydantic: the reader library imports this.
Times are ISO-8601 UTC strings as published (``2026-04-02T01:00:00Z``), which order correctly
as strings. A bare date means the end of that UTC day for "at" questions (what held on that
date, changes observed that day included) and its start for "since" questions.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]00:?00)?$")


class HistoryError(ValueError):
    """A bad question (unparsable date) or an unreadable history; the message says which."""


def moment(value: str, *, end_of_day: bool) -> str:
    """``2026-03-01`` → ``2026-03-01T23:59:59Z`` (or ``T00:00:00Z``); full UTC times as given,
    normalized to seconds with ``Z``. The shape is not enough: ``2026-13-45`` and ``T25:99``
    are refused as the dates and times they are not (issue 27)."""
    text = value.strip()
    if _DATE.match(text):
        _check_real(value, text, "%Y-%m-%d")
        return f"{text}T23:59:59Z" if end_of_day else f"{text}T00:00:00Z"
    if _MOMENT.match(text):
        day, rest = text.split("T", 1)
        hms = re.split(r"[Z+\-.]", rest)[0]
        if len(hms) == 5:
            hms += ":00"
        _check_real(value, f"{day}T{hms}", "%Y-%m-%dT%H:%M:%S")
        return f"{day}T{hms}Z"
    raise HistoryError(
        f"{value[:80]!r} is not a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM:SSZ)"
    )


def _check_real(value: str, text: str, layout: str) -> None:
    """HistoryError unless ``text`` is a day of the calendar (and a time of the day)."""
    try:
        datetime.strptime(text, layout)
    except ValueError:
        what = (
            "a date of the calendar (month 01-12, a day that month has)"
            if layout == "%Y-%m-%d"
            else "a time (a date of the calendar, hour 00-23, minute and second 00-59)"
        )
        raise HistoryError(f"{value[:80]!r} is not {what}") from None


def price_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``pricing.*`` part of a tracked view, keys without the prefix."""
    return {k.removeprefix("pricing."): v for k, v in values.items() if k.startswith("pricing.")}


@dataclass(frozen=True)
class PriceAt:
    """A model's prices at a moment, and the span they held."""

    model_id: str
    at: str
    prices: dict[str, Any]
    """Price components (USD per 1M tokens, or per unit as published) → value."""
    since: str
    """When these prices were first observed."""
    until: str | None
    """When they next changed (None: still the latest known)."""
    state: str | None
    """Lifecycle state at that moment."""


@dataclass
class History:
    """Every event of the published history, in the order it was observed."""

    events: list[dict[str, Any]]
    version: str = ""
    by_model: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for position, event in enumerate(self.events):
            self.by_model.setdefault(str(event.get("id")), []).append(position)

    @classmethod
    def empty(cls) -> History:
        return cls([])

    @classmethod
    def load(
        cls, index: Mapping[str, Any] | None, read: Callable[[str], bytes | None], where: str = ""
    ) -> History:
        """Load every segment the index lists (``read(key)`` gives its bytes), each checked
        against the index's SHA-256."""
        if not index:
            return cls.empty()
        events: list[dict[str, Any]] = []
        for ref in index.get("segments", []):
            key = str(ref["key"])
            data = read(key)
            if data is None:
                raise HistoryError(f"{where}{key}: missing, but the history index lists it")
            if hashlib.sha256(data).hexdigest() != ref.get("sha256"):
                raise HistoryError(f"{where}{key}: does not match the history index's sha256")
            try:
                segment = json.loads(data)
            except ValueError as exc:
                raise HistoryError(f"{where}{key}: not valid JSON ({exc})") from exc
            events.extend(e for e in segment.get("events", []) if isinstance(e, dict))
        return cls(events, version=str(index.get("runId", "")))

    # -- one model -------------------------------------------------------------------------

    def timeline(self, model_id: str) -> list[dict[str, Any]]:
        """The model's events, oldest first."""
        return [self.events[i] for i in self.by_model.get(model_id, [])]

    def known(self, model_id: str) -> bool:
        return model_id in self.by_model

    def values_at(self, model_id: str, when: str) -> dict[str, Any] | None:
        """Tracked values at ``when`` (a date or a UTC time); None before its first event."""
        at = moment(when, end_of_day=True)
        values: dict[str, Any] | None = None
        for event in self.timeline(model_id):
            if str(event["at"]) > at:
                break
            values = dict(values or {})
            for name, change in event.get("changes", {}).items():
                if change[1] is None:
                    values.pop(name, None)
                else:
                    values[name] = change[1]
        return values

    def price_at(self, model_id: str, when: str) -> PriceAt | None:
        """Prices at ``when`` and the span they held; None when the model had no record then
        (before its first event, or after its removal)."""
        at = moment(when, end_of_day=True)
        values: dict[str, Any] = {}
        since: str | None = None
        until: str | None = None
        seen = False
        for event in self.timeline(model_id):
            touches_price = any(name.startswith("pricing.") for name in event.get("changes", {}))
            if str(event["at"]) > at:
                if touches_price or event.get("event") == "removed":
                    until = str(event["at"])
                    break
                continue
            seen = True
            for name, change in event.get("changes", {}).items():
                if change[1] is None:
                    values.pop(name, None)
                else:
                    values[name] = change[1]
            if touches_price or since is None:
                since = str(event["at"])
        if not seen or values.get("state") == "removed" or since is None:
            return None
        return PriceAt(
            model_id=model_id,
            at=at,
            prices=price_fields(values),
            since=since,
            until=until,
            state=values.get("state"),
        )

    def no_price(self, model_id: str, when: str) -> str:
        """Why ``price_at(model_id, when)`` is None, claiming no more than the history holds:
        events record changes, so before a model's first event the history says nothing about
        it (it may well have been listed; nothing observed it)."""
        if not self.events:
            return "no history recorded yet"
        at = moment(when, end_of_day=True)
        start = str(self.events[0].get("at"))
        if at < start:
            return f"no history recorded before {start} (the history starts then)"
        timeline = self.timeline(model_id)
        if not timeline:
            return f"no history recorded for {model_id} (the history starts {start})"
        first = str(timeline[0].get("at"))
        if at < first:
            return f"no history recorded for {model_id} before {first} (first observed then)"
        removed = [
            str(e["at"]) for e in timeline if e.get("event") == "removed" and str(e["at"]) <= at
        ]
        gone = f" on {removed[-1]}" if removed else ""
        return f"{model_id} was removed from the catalog{gone} (per its history)"

    # -- across the catalog ------------------------------------------------------------------

    def _start(self, since: str | None) -> int:
        """Position of the first event after ``since`` (a run id, a date or a UTC time)."""
        if since is None:
            return 0
        runs = [i for i, e in enumerate(self.events) if e.get("runId") == since]
        if runs:
            return runs[-1] + 1
        start = moment(since, end_of_day=False)
        times = [str(e.get("at")) for e in self.events]
        # Events are appended in observation order, so the times are sorted; bisect finds the
        # first one at or after ``start`` (a date includes its own day).
        return (
            bisect_left(times, start) if _DATE.match(since.strip()) else bisect_right(times, start)
        )

    def changes(
        self,
        since: str | None = None,
        *,
        ids: Iterable[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Changes (not the ``tracked`` baseline) observed after ``since``, oldest first, from
        ``offset``; returns (page, total)."""
        wanted = set(ids) if ids is not None else None
        start = self._start(since)
        found = [
            e
            for e in self.events[start:]
            if e.get("event") != "tracked" and (wanted is None or e.get("id") in wanted)
        ]
        end = len(found) if limit is None else offset + limit
        return found[offset:end], len(found)

    def latest(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` changes, newest first."""
        out: list[dict[str, Any]] = []
        for event in reversed(self.events):
            if event.get("event") != "tracked":
                out.append(event)
                if len(out) >= limit:
                    break
        return out
