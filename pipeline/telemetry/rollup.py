"""Hourly rollups: events folded into counters before anything reaches the store.

A cell is one consumer × model × capability × UTC hour: counts by outcome, a latency and a TTFT
histogram (fixed bounds, so cells merge by adding), token sums and the last call time. Storage
and aggregation grow with models × hours, never with calls.

Store layout (``models/telemetry/``):

    hourly/<YYYYMMDDHH>/<writer>.json   each writer's cumulative cells for that hour
    daily/<YYYYMMDD>.json               one UTC day compacted: model × capability cells

Every writer (a service replica, a Reporter, a probe run) owns its own hourly files and
rewrites them whole on each flush — one atomic ``put`` each, no read-modify-write, no race
between writers. A crash loses what arrived since the last flush, nothing before. A writer id
is fresh per process, so a restarted service never overwrites its predecessor's last flush.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.publishing.store import Store, StoreError
from pipeline.telemetry.events import CAPABILITIES, OUTCOME_INDEX, OUTCOMES, Event

log = logging.getLogger("pipeline.telemetry.rollup")

PREFIX = "models/telemetry"
HOURLY = f"{PREFIX}/hourly/"
INTAKE = f"{PREFIX}/intake/"
"""``intake/<writer>.json``: each writer's counters (received, accepted, rejected by reason)."""
DAILY = f"{PREFIX}/daily/"
ROLLUP_VERSION = 1

# Latency / TTFT histogram upper bounds, milliseconds, plus an overflow bucket. Roughly
# logarithmic from "cached/tiny" to "a long reasoning answer"; p50/p95 are read from them by
# linear interpolation inside the bucket, so the figures are exact to within one bucket.
BOUNDS_MS: tuple[float, ...] = (
    25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000,
    20000, 30000, 60000, 120000,
)  # fmt: skip
BUCKETS = len(BOUNDS_MS) + 1


class RollupError(ValueError):
    """A stored rollup does not parse; the message names the key."""


class Cell:
    """Counters of one series in one hour (or day, once compacted)."""

    __slots__ = ("input_tokens", "last_seen", "latency", "outcomes", "output_tokens", "ttft")

    def __init__(  # noqa: PLR0917 - positional, like the rows it is built from
        self,
        outcomes: list[int] | None = None,
        latency: list[int] | None = None,
        ttft: list[int] | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        last_seen: int = 0,
    ) -> None:
        # A plain __init__ (not dataclass default factories): millions of cells are made by
        # the daily aggregation, and this is the hot path.
        self.outcomes = outcomes if outcomes is not None else [0] * len(OUTCOMES)
        self.latency = latency if latency is not None else [0] * BUCKETS
        self.ttft = ttft if ttft is not None else [0] * BUCKETS
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.last_seen = last_seen
        """Unix seconds of the latest call."""

    def add(self, event: Event) -> None:
        self.outcomes[OUTCOME_INDEX[event.outcome]] += 1
        if event.latency_ms is not None:
            self.latency[bisect.bisect_left(BOUNDS_MS, event.latency_ms)] += 1
        if event.ttft_ms is not None:
            self.ttft[bisect.bisect_left(BOUNDS_MS, event.ttft_ms)] += 1
        self.input_tokens += event.input_tokens or 0
        self.output_tokens += event.output_tokens or 0
        self.last_seen = max(self.last_seen, int(event.at))

    def merge(self, other: Cell) -> None:
        # zip comprehensions: about twice as fast as index loops in the aggregation hot path.
        self.outcomes = [a + b for a, b in zip(self.outcomes, other.outcomes, strict=True)]
        self.latency = [a + b for a, b in zip(self.latency, other.latency, strict=True)]
        self.ttft = [a + b for a, b in zip(self.ttft, other.ttft, strict=True)]
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.last_seen = max(self.last_seen, other.last_seen)

    def copy(self) -> Cell:
        """An independent copy (the counter lists are not shared)."""
        return Cell(
            list(self.outcomes),
            list(self.latency),
            list(self.ttft),
            self.input_tokens,
            self.output_tokens,
            self.last_seen,
        )

    @property
    def calls(self) -> int:
        return sum(self.outcomes)

    def row(self) -> list[Any]:
        return [
            list(self.outcomes),
            _sparse(self.latency),
            _sparse(self.ttft),
            self.input_tokens,
            self.output_tokens,
            self.last_seen,
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> Cell:
        outcomes, latency, ttft, tokens_in, tokens_out, seen = row
        if len(outcomes) != len(OUTCOMES):
            raise ValueError(f"{len(outcomes)} outcome counts, expected {len(OUTCOMES)}")
        return cls(
            [int(v) for v in outcomes],
            _dense(latency),
            _dense(ttft),
            int(tokens_in),
            int(tokens_out),
            int(seen),
        )


def _sparse(histogram: list[int]) -> dict[str, int]:
    # Most cells use 2-4 of the 20 buckets: index → count keeps rollup files small.
    return {str(i): v for i, v in enumerate(histogram) if v}


def _dense(sparse: dict[str, int]) -> list[int]:
    out = [0] * BUCKETS
    for index, value in sparse.items():
        out[int(index)] = int(value)
    return out


def hour_of(at: float) -> int:
    """Unix seconds of the UTC hour that contains ``at``."""
    return int(at // 3600) * 3600


def hour_key(hour: int) -> str:
    return datetime.fromtimestamp(hour, UTC).strftime("%Y%m%d%H")


def day_key(day: int) -> str:
    return datetime.fromtimestamp(day, UTC).strftime("%Y%m%d")


def parse_stamp(stamp: str) -> int:
    """``YYYYMMDDHH`` or ``YYYYMMDD`` → Unix seconds (ValueError otherwise)."""
    fmt = "%Y%m%d%H" if len(stamp) == 10 else "%Y%m%d"
    if len(stamp) not in (8, 10) or not stamp.isdigit():
        raise ValueError(f"not a rollup stamp: {stamp!r}")
    return int(datetime.strptime(stamp, fmt).replace(tzinfo=UTC).timestamp())


SeriesKey = tuple[str, str, str]
"""(consumer, model, capability) — or ("", model, capability) once compacted."""


def encode(kind: str, stamp: str, writer: str, cells: dict[SeriesKey, Cell]) -> bytes:
    """A rollup file: compact JSON, rows sorted, so equal cells give equal bytes."""
    return encode_rows(kind, stamp, writer, [[*key, *cell.row()] for key, cell in cells.items()])


def encode_rows(kind: str, stamp: str, writer: str, rows: list[list[Any]]) -> bytes:
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    document = {
        "schemaVersion": ROLLUP_VERSION,
        "kind": kind,
        "stamp": stamp,
        "writer": writer,
        "histogramBoundsMs": list(BOUNDS_MS),
        "rows": rows,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def decode(key: str, data: bytes) -> dict[SeriesKey, Cell]:
    """Cells of one rollup file; RollupError names the key and what is wrong."""
    try:
        document = json.loads(data)
        if document.get("schemaVersion") != ROLLUP_VERSION:
            raise ValueError(f"schemaVersion {document.get('schemaVersion')!r}")
        if document.get("histogramBoundsMs") != list(BOUNDS_MS):
            raise ValueError("histogram bounds differ from this version's")
        cells: dict[SeriesKey, Cell] = {}
        for row in document["rows"]:
            consumer, model, capability = str(row[0]), str(row[1]), str(row[2])
            if capability not in CAPABILITIES:
                raise ValueError(f"unknown capability {capability!r}")
            cell = Cell.from_row(row[3:])
            key3 = (consumer, model, capability)
            if key3 in cells:
                cells[key3].merge(cell)
            else:
                cells[key3] = cell
        return cells
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise RollupError(f"rollup {key} is unreadable: {exc}") from exc


def new_writer_id() -> str:
    """Unique per process: host, pid and a random suffix (a restart gets a new one)."""
    host = "".join(c if c.isalnum() or c in "-." else "-" for c in socket.gethostname())[:40]
    return f"{host or 'host'}-{os.getpid()}-{secrets.token_hex(4)}"


class Rollups:
    """In-memory cells of one writer, flushed to its hourly files.

    Thread-safe: the HTTP intake adds from the event loop while a timer thread flushes.
    """

    def __init__(
        self, store: Store, *, writer: str | None = None, max_series: int = 500_000
    ) -> None:
        self.store = store
        self.writer = writer or new_writer_id()
        self.max_series = max_series
        self._hours: dict[int, dict[SeriesKey, Cell]] = {}
        self._dirty: set[int] = set()
        self._series = 0
        self._lock = threading.Lock()
        self.flushes = 0
        self.flush_failures = 0
        self.last_flush: float | None = None

    def has_room(self, event: Event) -> bool:
        """False when this event would open a new series past ``max_series``."""
        cells = self._hours.get(hour_of(event.at))
        key = (event.consumer, event.model, event.capability)
        return (cells is not None and key in cells) or self._series < self.max_series

    def add(self, event: Event) -> bool:
        """Fold ``event`` in; False (nothing changed) when it would exceed ``max_series``."""
        hour = hour_of(event.at)
        key = (event.consumer, event.model, event.capability)
        with self._lock:
            cells = self._hours.get(hour)
            if cells is None:
                cells = self._hours[hour] = {}
            cell = cells.get(key)
            if cell is None:
                if self._series >= self.max_series:
                    return False
                cell = cells[key] = Cell()
                self._series += 1
            cell.add(event)
            self._dirty.add(hour)
        return True

    @property
    def series(self) -> int:
        return self._series

    def pending(self) -> int:
        """Hours changed since the last flush."""
        return len(self._dirty)

    def flush(self, *, now: float, keep_hours: int = 25) -> list[str]:
        """Write every changed hour (whole, atomically); forget hours older than
        ``keep_hours`` once written. Returns the keys written. A failed write keeps the hour
        dirty for the next flush and raises StoreError."""
        with self._lock:
            # Only the rows are copied under the lock (cells keep growing meanwhile); the JSON
            # encoding, the slow part, runs outside it so the intake is not held up.
            rows = {
                hour: [[*key, *cell.row()] for key, cell in self._hours[hour].items()]
                for hour in sorted(self._dirty)
            }
            self._dirty.clear()
        encoded = {
            hour: encode_rows("hourly", hour_key(hour), self.writer, hour_rows)
            for hour, hour_rows in rows.items()
        }
        written: list[str] = []
        done: set[int] = set()
        try:
            for hour, data in encoded.items():
                key = f"{HOURLY}{hour_key(hour)}/{self.writer}.json"
                self.store.put(key, data)
                written.append(key)
                done.add(hour)
        except StoreError:
            with self._lock:
                self._dirty.update(h for h in encoded if h not in done)
            self.flush_failures += 1
            raise
        self.flushes += 1
        self.last_flush = now
        horizon = hour_of(now) - keep_hours * 3600
        with self._lock:
            for hour in [h for h in self._hours if h < horizon and h not in self._dirty]:
                self._series -= len(self._hours.pop(hour))
        return written

    def snapshot(self) -> dict[int, dict[SeriesKey, Cell]]:
        """A copy of the cells held (for `catalog telemetry` and tests)."""
        with self._lock:
            return {hour: dict(cells) for hour, cells in self._hours.items()}


class Flusher:
    """Flushes ``rollups`` every ``seconds`` on a daemon thread; ``stop`` flushes once more."""

    def __init__(
        self,
        rollups: Rollups,
        seconds: float,
        clock: Any,
        after: Callable[[], None] | None = None,
    ) -> None:
        self.rollups = rollups
        self.seconds = seconds
        self.clock = clock
        self.after = after
        """Run after each flush (the intake writes its counters)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="telemetry-flush", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            self.flush_quietly()

    def flush_quietly(self) -> None:
        try:
            self.rollups.flush(now=self.clock())
            if self.after is not None:
                self.after()
        except StoreError as exc:
            log.error("telemetry flush failed; retrying next interval", extra={"error": str(exc)})

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush_quietly()


# -- reading, compaction, retention ------------------------------------------------------------


@dataclass
class Loaded:
    """Cells per UTC day (consumer dimension kept only for hourly sources) and problems."""

    days: dict[int, dict[SeriesKey, Cell]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    compacted: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _merge_into(
    target: dict[SeriesKey, Cell],
    cells: dict[SeriesKey, Cell],
    *,
    fold: bool,
    owned: bool = False,
) -> None:
    """Add ``cells`` into ``target``; ``owned`` cells (freshly decoded, referenced nowhere
    else) are adopted instead of copied — the aggregation's main saving."""
    for (consumer, model, capability), cell in cells.items():
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


def read_hour(store: Store, keys: Iterable[str], problems: list[str]) -> dict[SeriesKey, Cell]:
    cells: dict[SeriesKey, Cell] = {}
    for key in keys:
        blob = store.get(key)
        if blob is None:
            continue
        try:
            _merge_into(cells, decode(key, blob.data), fold=False, owned=True)
        except RollupError as exc:
            problems.append(str(exc))  # one bad file never sinks the aggregation
    return cells


def load_days(
    store: Store,
    *,
    now: datetime,
    days: int,
    max_event_age_hours: int,
    compact: bool = True,
    hourly_retention_days: int = 3,
    retention_days: int = 90,
) -> Loaded:
    """Model × capability cells per UTC day for the last ``days`` days (today included).

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
    for day in range(first, today + 86_400, 86_400):
        daily_key = f"{DAILY}{day_key(day)}.json"
        cells: dict[SeriesKey, Cell] | None = None
        if day in daily_present:
            blob = store.get(daily_key)
            if blob is not None:
                try:
                    cells = decode(daily_key, blob.data)
                except RollupError as exc:
                    loaded.problems.append(str(exc))
        if cells is None:
            cells = {}
            for hour in range(day, day + 86_400, 3600):
                if hour in by_hour:
                    hour_cells = read_hour(store, by_hour[hour], loaded.problems)
                    _merge_into(cells, hour_cells, fold=True, owned=True)
            if compact and day + 86_400 <= closed_before and cells:
                store.put(daily_key, encode("daily", day_key(day), "compaction", cells))
                loaded.compacted.append(daily_key)
        loaded.days[day] = cells
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
