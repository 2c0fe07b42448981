"""Hourly rollups: events folded into counters before anything reaches the store.

A cell is one consumer × model × capability × UTC hour: counts by outcome, a latency and a TTFT
histogram (fixed bounds, so cells merge by adding), token sums and the last call time. Storage
and aggregation grow with models × hours, never with calls.

The consumer of a cell is the identity that sent its events (issue 27): the token's, for the
HTTP intake. Store layout (``models/telemetry/``):

    hourly/<YYYYMMDDHH>/<identity>/<writer>.parquet   a writer's cumulative cells of that
                                                      hour for one identity
    daily/<YYYYMMDD>.parquet                          one UTC day compacted (compaction.py)

Files are Parquet (issue 29; schema in ``columnar.py``) so DuckDB — or a warehouse — sums them
without Python loops; ``.json`` files written before are still read (``decode_any``).

Every writer (a service replica, a Reporter, a probe run) owns its own hourly files and
rewrites them whole on each flush — one atomic ``put`` each, no race between writers (a late
event for an hour already flushed and forgotten is merged into the writer's own file). A crash
loses what arrived since the last flush, nothing before. A writer id is fresh per process, so
a restarted service never overwrites its predecessor's last flush. Reading, compaction and
retention are in ``compaction.py``.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
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
PARQUET = ".parquet"
"""Rollups are Parquet since issue 29 (``columnar.py``); ``.json`` files from before are read."""

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
"""(consumer, model, capability) — or ("", model, capability) once folded."""


def encode(kind: str, stamp: str, writer: str, cells: dict[SeriesKey, Cell]) -> bytes:
    """A rollup file: compact JSON, rows sorted, so equal cells give equal bytes."""
    return encode_rows(kind, stamp, writer, [[*key, *cell.row()] for key, cell in cells.items()])


def encode_rows(
    kind: str,
    stamp: str,
    writer: str,
    rows: list[list[Any]],
    extra: dict[str, Any] | None = None,
) -> bytes:
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    document = {
        "schemaVersion": ROLLUP_VERSION,
        "kind": kind,
        "stamp": stamp,
        "writer": writer,
        "histogramBoundsMs": list(BOUNDS_MS),
        "rows": rows,
        **(extra or {}),
    }
    return json.dumps(document, separators=(",", ":")).encode()


def decode_document(key: str, data: bytes) -> tuple[dict[SeriesKey, Cell], dict[str, Any]]:
    """Cells of one rollup file and the document they came from (for fields beyond the
    rows); RollupError names the key and what is wrong."""
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
        return cells, document
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError) as exc:
        raise RollupError(f"rollup {key} is unreadable: {exc}") from exc


def decode(key: str, data: bytes) -> dict[SeriesKey, Cell]:
    """Cells of one JSON rollup file; RollupError names the key and what is wrong."""
    return decode_document(key, data)[0]


def decode_any(key: str, data: bytes) -> dict[SeriesKey, Cell]:
    """Cells of one rollup file, Parquet (``.parquet``, today's) or JSON (before issue 29)."""
    if not key.endswith(PARQUET):
        return decode(key, data)
    from pipeline.telemetry import columnar

    try:
        return columnar.decode(key, data)
    except columnar.ParquetError as exc:
        raise RollupError(str(exc)) from exc


def new_writer_id() -> str:
    """Unique per process: host, pid and a random suffix (a restart gets a new one)."""
    host = "".join(c if c.isalnum() or c in "-." else "-" for c in socket.gethostname())[:40]
    return f"{host or 'host'}-{os.getpid()}-{secrets.token_hex(4)}"


IDENTITY_DIR_RE = re.compile(r"[A-Za-z0-9._-]+")
LEGACY_IDENTITY = ""
"""The identity rows of files written before issue 27 are read as: they came in on one shared
token under self-declared consumer names, so they count as one identity (as they did)."""


def identity_dir(identity: str) -> str:
    """The folder of an identity's hourly files: its name when that is a safe path part,
    else a sanitized form with a digest (consumer names may hold `/`, `:` or `@`)."""
    if IDENTITY_DIR_RE.fullmatch(identity) and identity not in (".", ".."):
        return identity
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", identity)[:48]
    return f"{safe}-{hashlib.sha256(identity.encode()).hexdigest()[:10]}"


Pair = tuple[int, str]
"""(hour, identity): one hourly file of a writer."""


class Rollups:
    """In-memory cells of one writer, flushed to its hourly files: one per hour × identity
    (``hourly/<YYYYMMDDHH>/<identity>/<writer>.parquet``).

    Bounded per identity: at most ``max_series`` cells of *open* hours — the current hour and
    past hours that received late events since the last flush. A flush writes every changed
    hour × identity whole, then forgets the closed hours (before the current one): their cells
    are in the store and no longer count. A late event for a forgotten hour opens it again; the
    next flush reads that file back, adds the new cells and rewrites it, so nothing is lost and
    each writer keeps one file per hour × identity. A flood by one identity rewrites that
    identity's files only.

    Thread-safe: the HTTP intake adds from the event loop while a timer thread flushes.
    """

    def __init__(
        self,
        store: Store,
        *,
        writer: str | None = None,
        max_series: int = 20_000,
        max_age_hours: int = 24,
    ) -> None:
        self.store = store
        self.writer = writer or new_writer_id()
        self.max_series = max_series
        self.max_age_hours = max_age_hours
        """How long a forgotten hour is remembered as flushed (events older are refused by
        the intake): a late event within it is merged into the stored file."""
        self._cells: dict[Pair, dict[tuple[str, str], Cell]] = {}
        self._dirty: set[Pair] = set()
        self._forgotten: set[Pair] = set()
        """Pairs flushed and then dropped from memory: their cells in memory are only what
        came since, to be merged into the stored file."""
        self._series: dict[str, int] = {}
        self._lock = threading.Lock()
        self.flushes = 0
        self.flush_failures = 0
        self.last_flush: float | None = None

    def key(self, hour: int, identity: str) -> str:
        return f"{HOURLY}{hour_key(hour)}/{identity_dir(identity)}/{self.writer}.parquet"

    def add(self, event: Event) -> bool:
        """Fold ``event`` in; False (nothing changed) when it would open a series past the
        identity's ``max_series``."""
        pair = (hour_of(event.at), event.consumer)
        key = (event.model, event.capability)
        with self._lock:
            cells = self._cells.get(pair)
            cell = cells.get(key) if cells is not None else None
            if cell is None:
                held = self._series.get(event.consumer, 0)
                if held >= self.max_series:
                    return False
                if cells is None:
                    cells = self._cells[pair] = {}
                cell = cells[key] = Cell()
                self._series[event.consumer] = held + 1
            cell.add(event)
            self._dirty.add(pair)
        return True

    @property
    def series(self) -> int:
        """Cells held in memory, every identity."""
        with self._lock:
            return sum(self._series.values())

    def series_of(self, identity: str) -> int:
        return self._series.get(identity, 0)

    def closed_series_of(self, identity: str, now: float) -> int:
        """Cells of ``identity`` in hours before the current one: the next flush frees them."""
        current = hour_of(now)
        with self._lock:
            return sum(
                len(cells)
                for (hour, who), cells in self._cells.items()
                if who == identity and hour < current
            )

    def pending(self) -> int:
        """Hours changed since the last flush."""
        with self._lock:
            return len({hour for hour, _ in self._dirty})

    def flush(self, *, now: float) -> list[str]:
        """Write every changed hour × identity (whole, atomically), then forget closed hours.
        Returns the keys written. A failed write keeps its pair dirty for the next flush and
        raises StoreError."""
        with self._lock:
            # Only the cells are copied under the lock (they keep growing meanwhile); the
            # Parquet encoding, the slow part, runs outside it so the intake is not held up.
            copies = {
                pair: {(pair[1], *key): cell.copy() for key, cell in self._cells[pair].items()}
                for pair in sorted(self._dirty)
            }
            merge = {pair for pair in copies if pair in self._forgotten}
            self._dirty.clear()
        from pipeline.telemetry import columnar

        written: list[str] = []
        done: set[Pair] = set()
        try:
            for pair, fresh in copies.items():
                key, out = self.key(*pair), fresh
                if pair in merge:
                    key, out = self._merged(key, fresh)
                data = columnar.encode(
                    out, period=pair[0], kind="hourly", stamp=hour_key(pair[0]), writer=self.writer
                )
                self.store.put(key, data)
                written.append(key)
                done.add(pair)
        except StoreError:
            with self._lock:
                self._dirty.update(pair for pair in copies if pair not in done)
            self.flush_failures += 1
            raise
        self.flushes += 1
        self.last_flush = now
        self._forget_closed(now)
        return written

    def _merged(self, key: str, cells: dict[SeriesKey, Cell]) -> tuple[str, dict[SeriesKey, Cell]]:
        """The cells to write for a forgotten pair that got late events: the stored file's
        cells plus the new ones. An unreadable stored file is left alone (the aggregation
        reports it) and the new cells go to a file of their own."""
        blob = self.store.get(key)
        if blob is None:
            return key, cells
        try:
            stored = decode_any(key, blob.data)
        except RollupError as exc:
            log.error("rollup unreadable; late events written beside it", extra={"error": str(exc)})
            stem, dot, suffix = key.rpartition(".")
            return f"{stem}-{secrets.token_hex(3)}{dot}{suffix}", cells
        for series, late in cells.items():
            found = stored.get(series)
            if found is None:
                stored[series] = late
            else:
                found.merge(late)
        return key, stored

    def _forget_closed(self, now: float) -> None:
        current = hour_of(now)
        horizon = current - (self.max_age_hours + 1) * 3600
        with self._lock:
            for pair in [p for p in self._cells if p[0] < current and p not in self._dirty]:
                cells = self._cells.pop(pair)
                self._series[pair[1]] -= len(cells)
                if not self._series[pair[1]]:
                    del self._series[pair[1]]
                self._forgotten.add(pair)
            self._forgotten = {p for p in self._forgotten if p[0] >= horizon}

    def snapshot(self) -> dict[int, dict[SeriesKey, Cell]]:
        """A copy of the cells held (for tests)."""
        with self._lock:
            out: dict[int, dict[SeriesKey, Cell]] = {}
            for (hour, identity), cells in self._cells.items():
                mine = out.setdefault(hour, {})
                for (model, capability), cell in cells.items():
                    mine[(identity, model, capability)] = cell
            return out


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
