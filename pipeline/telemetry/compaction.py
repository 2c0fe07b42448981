"""Stored rollups read back: per-day cells, each identity's judged calls, compaction of closed
days into daily files, and retention.

In: the hourly files every writer flushed (``rollup.Rollups``) and the daily files of earlier
compactions. Out: ``Loaded`` — per UTC day, the model × capability cells (identities folded,
what telemetry.json and the figures of ``verification`` are built from) and each identity's
judged calls (``ok`` / ``capability_error`` per model × capability, what the votes of
``votes.py`` count). A daily file keeps the judged calls per identity beside its folded cells
(``"judged"`` rows), so the votes of a 7-day window still know who called.

Files from before identities (issue 27) are read as one identity, ``LEGACY_IDENTITY``: hourly
files directly under the hour's folder, and daily files without ``judged`` rows. Their
consumer names were self-declared on one shared token, so they never counted as more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipeline.publishing.store import Store
from pipeline.telemetry.events import OUTCOME_INDEX
from pipeline.telemetry.rollup import (
    DAILY,
    HOURLY,
    LEGACY_IDENTITY,
    Cell,
    RollupError,
    SeriesKey,
    day_key,
    decode,
    decode_document,
    encode_rows,
    parse_stamp,
)

OK = OUTCOME_INDEX["ok"]
CAP_ERROR = OUTCOME_INDEX["capability_error"]

Judged = dict[SeriesKey, list[int]]
"""(identity, model, capability) → [ok, capability_error]: the calls that judged it."""


@dataclass
class Loaded:
    """Cells per UTC day (identities folded), judged calls per day and identity, problems."""

    days: dict[int, dict[SeriesKey, Cell]] = field(default_factory=dict)
    judged: dict[int, Judged] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    compacted: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _merge_into(
    target: dict[SeriesKey, Cell],
    cells: dict[SeriesKey, Cell],
    *,
    fold: bool,
    owned: bool = False,
    judged: Judged | None = None,
) -> None:
    """Add ``cells`` into ``target``; ``owned`` cells (freshly decoded, referenced nowhere
    else) are adopted instead of copied — the aggregation's main saving. With ``judged``, each
    identity's ok / capability_error counts are added there too (before any folding)."""
    for (consumer, model, capability), cell in cells.items():
        if judged is not None:
            ok, failed = cell.outcomes[OK], cell.outcomes[CAP_ERROR]
            if ok or failed:
                counts = judged.get((consumer, model, capability))
                if counts is None:
                    judged[(consumer, model, capability)] = [ok, failed]
                else:
                    counts[0] += ok
                    counts[1] += failed
        key = ("", model, capability) if fold else (consumer, model, capability)
        mine = target.get(key)
        if mine is None and owned:
            target[key] = cell
        elif mine is None:
            target[key] = cell.copy()
        else:
            mine.merge(cell)


def hourly_keys(store: Store) -> dict[int, list[str]]:
    """Hour → its writers' keys (keys with an unreadable stamp are skipped)."""
    out: dict[int, list[str]] = {}
    for key in store.list(HOURLY):
        stamp = key[len(HOURLY) :].split("/", 1)[0]
        try:
            out.setdefault(parse_stamp(stamp), []).append(key)
        except ValueError:
            continue
    return out


def is_legacy(key: str) -> bool:
    """An hourly file from before identities: ``hourly/<stamp>/<writer>.json``."""
    return key[len(HOURLY) :].count("/") == 1


def read_hour(
    store: Store, keys: Iterable[str], problems: list[str], *, legacy_as: str | None = None
) -> dict[SeriesKey, Cell]:
    """Cells of one hour, every writer's files merged. With ``legacy_as``, rows of files from
    before identities are read as that identity (their consumer names were self-declared)."""
    cells: dict[SeriesKey, Cell] = {}
    for key in keys:
        blob = store.get(key)
        if blob is None:
            continue
        try:
            found = decode(key, blob.data)
        except RollupError as exc:
            problems.append(str(exc))  # one bad file never sinks the aggregation
            continue
        if legacy_as is not None and is_legacy(key):
            found = _relabel(found, legacy_as)
        _merge_into(cells, found, fold=False, owned=True)
    return cells


def _relabel(cells: dict[SeriesKey, Cell], identity: str) -> dict[SeriesKey, Cell]:
    out: dict[SeriesKey, Cell] = {}
    _merge_into(out, cells, fold=True, owned=True)
    return {(identity, model, capability): cell for (_, model, capability), cell in out.items()}


def _judged_rows(document: dict[str, Any], key: str) -> Judged | None:
    rows = document.get("judged")
    if rows is None:
        return None
    try:
        return {(str(r[0]), str(r[1]), str(r[2])): [int(r[3]), int(r[4])] for r in rows}
    except (TypeError, ValueError, IndexError) as exc:
        raise RollupError(f"rollup {key} is unreadable: judged rows: {exc}") from exc


def _legacy_judged(cells: dict[SeriesKey, Cell]) -> Judged:
    judged: Judged = {}
    for (_, model, capability), cell in cells.items():
        ok, failed = cell.outcomes[OK], cell.outcomes[CAP_ERROR]
        if ok or failed:
            judged[(LEGACY_IDENTITY, model, capability)] = [ok, failed]
    return judged


def encode_daily(stamp: str, cells: dict[SeriesKey, Cell], judged: Judged) -> bytes:
    """A daily file: folded cells plus each identity's judged calls of that day."""
    rows = [[*key, *cell.row()] for key, cell in cells.items()]
    judged_rows = sorted([*key, *counts] for key, counts in judged.items())
    return encode_rows("daily", stamp, "compaction", rows, {"judged": judged_rows})


def load_days(
    store: Store,
    *,
    now: datetime,
    days: int,
    max_event_age_hours: int,
    compact: bool = True,
    hourly_retention_days: int = 3,
    retention_days: int = 90,
    judged_days: int | None = None,
) -> Loaded:
    """Model × capability cells per UTC day for the last ``days`` days (today included), and
    each identity's judged calls per day — of the last ``judged_days`` days only, when given
    (the votes read the verification window; longer windows need the cells alone).

    Closed days (nothing can arrive for them any more: ``max_event_age_hours`` past their end)
    are compacted once into ``daily/<YYYYMMDD>.json`` and read from there afterwards; open
    days are read from their hourly files. With ``compact``, retention runs too: hourly files
    of compacted days older than ``hourly_retention_days``, daily files older than
    ``retention_days``.
    """
    loaded = Loaded()
    today = int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
    first = today - (days - 1) * 86_400
    closed_before = int((now - timedelta(hours=max_event_age_hours + 1)).timestamp())
    by_hour = hourly_keys(store)
    daily_present = set()
    for key in store.list(DAILY):
        stamp = key[len(DAILY) :].removesuffix(".json")
        try:
            daily_present.add(parse_stamp(stamp))
        except ValueError:
            continue
    judged_from = first if judged_days is None else today - (judged_days - 1) * 86_400
    for day in range(first, today + 86_400, 86_400):
        daily_key = f"{DAILY}{day_key(day)}.json"
        cells: dict[SeriesKey, Cell] | None = None
        judged: Judged | None = None
        if day in daily_present:
            blob = store.get(daily_key)
            if blob is not None:
                try:
                    cells, document = decode_document(daily_key, blob.data)
                    if day < judged_from:
                        judged = {}
                    else:
                        judged = _judged_rows(document, daily_key)
                        if judged is None:
                            judged = _legacy_judged(cells)
                except RollupError as exc:
                    loaded.problems.append(str(exc))
                    cells = judged = None
        if cells is None or judged is None:
            cells, judged = {}, {}
            for hour in range(day, day + 86_400, 3600):
                if hour in by_hour:
                    hour_cells = read_hour(
                        store, by_hour[hour], loaded.problems, legacy_as=LEGACY_IDENTITY
                    )
                    _merge_into(cells, hour_cells, fold=True, owned=True, judged=judged)
            if compact and day + 86_400 <= closed_before and cells:
                store.put(daily_key, encode_daily(day_key(day), cells, judged))
                loaded.compacted.append(daily_key)
        loaded.days[day] = cells
        loaded.judged[day] = judged
    if compact:
        compacted = daily_present | {parse_stamp(k[len(DAILY) : -5]) for k in loaded.compacted}
        loaded.deleted = _retention(
            store,
            by_hour,
            compacted,
            today=today,
            hourly_days=hourly_retention_days,
            daily_days=retention_days,
        )
    return loaded


def _retention(
    store: Store,
    by_hour: dict[int, list[str]],
    compacted_days: set[int],
    *,
    today: int,
    hourly_days: int,
    daily_days: int,
) -> list[str]:
    deleted: list[str] = []
    for hour, keys in sorted(by_hour.items()):
        day = hour - hour % 86_400
        if day in compacted_days and day < today - hourly_days * 86_400:
            for key in keys:
                store.delete(key)
                deleted.append(key)
    for day in sorted(compacted_days):
        if day < today - daily_days * 86_400:
            key = f"{DAILY}{day_key(day)}.json"
            store.delete(key)
            deleted.append(key)
    return deleted


def iter_recent(
    store: Store, *, since: int
) -> Iterator[tuple[int, dict[SeriesKey, Cell], list[str]]]:
    """(hour, cells with consumers, problems) for every stored hour from ``since`` on."""
    for hour, keys in sorted(hourly_keys(store).items()):
        if hour >= since:
            problems: list[str] = []
            yield hour, read_hour(store, keys, problems), problems


__all__ = [
    "Judged",
    "Loaded",
    "encode_daily",
    "hourly_keys",
    "is_legacy",
    "iter_recent",
    "load_days",
    "read_hour",
]
