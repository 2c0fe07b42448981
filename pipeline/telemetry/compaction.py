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

import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.publishing import jsonio
from pipeline.publishing.store import LocalStore, Store
from pipeline.telemetry import columnar
from pipeline.telemetry.events import OUTCOME_INDEX
from pipeline.telemetry.rollup import (
    DAILY,
    HOURLY,
    LEGACY_IDENTITY,
    PARQUET,
    Cell,
    RollupError,
    SeriesKey,
    day_key,
    decode_any,
    decode_document,
    encode_rows,
    parse_stamp,
)

if TYPE_CHECKING:
    import duckdb

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
            found = decode_any(key, blob.data)
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


Tallies = Mapping[str, Mapping[str, Mapping[str, tuple[int, int]]]]
"""model → capability → identity → (ok, capability_error) over a window (what votes count)."""


class PackedTallies(Mapping[str, dict[str, dict[str, tuple[int, int]]]]):
    """``Tallies`` as DuckDB sums and packs them: one JSON text per model, ``{capability:
    {identity: [ok, capability_error]}}``, parsed when that model is looked up.

    A dense week holds 1.2M identity × model × capability counts: built as tuples in nested
    dicts they took ~220 MB and seconds of the daily job, though only the models of the
    catalog are ever decided (``votes.decide``, which needs each voter's counts: the verdict
    of every voter is published). Packed, they are one string per model (~27 MB)."""

    def __init__(self, packed: dict[str, str], counts: int = 0) -> None:
        self._packed = packed
        self.counts = counts
        """How many identity × model × capability counts are packed."""

    def __getitem__(self, model: str) -> dict[str, dict[str, tuple[int, int]]]:
        per_capability: dict[str, dict[str, list[int]]] = jsonio.loads_plain(self._packed[model])
        return {
            capability: {identity: (ok, failed) for identity, (ok, failed) in by_identity.items()}
            for capability, by_identity in per_capability.items()
        }

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)


@dataclass
class Windows:
    """What the daily job needs, summed by DuckDB: per window, model × capability cells
    (identities folded), each identity's judged calls of the verification window, and what
    the preparation did (problems, compacted days, deleted files)."""

    cells: dict[int, dict[str, dict[str, Cell]]] = field(default_factory=dict)
    """window days → model → capability → cell."""
    tallies: Tallies = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    compacted: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


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
    each identity's judged calls per day — of the last ``judged_days`` days only, when given.

    Closed days (nothing can arrive for them any more: ``max_event_age_hours`` past their end)
    are compacted once into ``daily/<YYYYMMDD>.parquet`` and read from there afterwards; open
    days are read from their hourly files. With ``compact``, retention runs too: hourly files
    of compacted days older than ``hourly_retention_days``, daily files older than
    ``retention_days``. The daily job reads ``load_windows`` instead (sums per window, not
    per day); this per-day form serves ``catalog telemetry`` and the tests.
    """
    loaded = Loaded()
    with _Job(store, now=now, days=days, max_event_age_hours=max_event_age_hours) as job:
        job.prepare(compact=compact)
        judged_from = job.first if judged_days is None else job.today - (judged_days - 1) * DAY
        for day in job.days:
            paths = job.sources.get(day, [])
            folded = job.folded(paths)
            loaded.days[day] = {
                ("", model, cap): cell
                for model, caps in folded.items()
                for cap, cell in caps.items()
            }
            judged: Judged = {}
            if day >= judged_from:
                for model, caps in job.tallies(paths).items():
                    for cap, by_identity in caps.items():
                        for identity, (ok, failed) in by_identity.items():
                            judged[(identity, model, cap)] = [ok, failed]
            loaded.judged[day] = judged
        if compact:
            job.retention(hourly_days=hourly_retention_days, daily_days=retention_days)
        loaded.problems, loaded.compacted, loaded.deleted = job.problems, job.compacted, job.deleted
    return loaded


def widen(cells: dict[str, dict[str, Cell]], shorter: dict[str, dict[str, Cell]]) -> None:
    """Add a shorter window's cells (model → capability → cell) into ``cells``, the days a
    longer window has beyond it: each longer window is the shorter one plus its older days."""
    for model, by_capability in shorter.items():
        mine = cells.setdefault(model, {})
        for capability, cell in by_capability.items():
            if capability in mine:
                mine[capability].merge(cell)
            else:
                mine[capability] = cell.copy()


def load_windows(
    store: Store,
    *,
    now: datetime,
    windows_days: Iterable[int],
    judged_days: int,
    max_event_age_hours: int,
    compact: bool = True,
    hourly_retention_days: int = 3,
    retention_days: int = 90,
    memory_limit: str | None = None,
) -> Windows:
    """The daily job's read: closed days compacted (as ``load_days``), then one SQL scan per
    band of days — the shortest window, then the days each longer window adds — summed per
    model × capability, and one scan of the ``judged_days`` window for each identity's
    judged calls. Every file is read once per question, by DuckDB, straight from a local
    store's folder (other stores' objects are downloaded one by one to a temp folder)."""
    wanted = sorted(set(windows_days) | {judged_days})
    out = Windows()
    with _Job(
        store,
        now=now,
        days=wanted[-1],
        max_event_age_hours=max_event_age_hours,
        memory_limit=memory_limit,
    ) as job:
        job.prepare(compact=compact)
        previous: dict[str, dict[str, Cell]] = {}
        done = 0
        for d in wanted:
            # Each longer window is the shorter one plus the days before it: every file is
            # summed once however many windows there are.
            lower = job.today - (d - 1) * DAY
            upper = job.today - (done - 1) * DAY if done else job.today + DAY
            band = [path for day in job.days if lower <= day < upper for path in job.sources[day]]
            cells = job.folded(band)
            widen(cells, previous)
            out.cells[d] = cells
            previous, done = cells, d
        first = job.today - (judged_days - 1) * DAY
        out.tallies = job.tallies(
            [path for day in job.days if day >= first for path in job.sources.get(day, [])]
        )
        if compact:
            job.retention(hourly_days=hourly_retention_days, daily_days=retention_days)
        out.problems, out.compacted, out.deleted = job.problems, job.compacted, job.deleted
    return out


DAY = 86_400


class _Job:
    """One read of the stored rollups: a DuckDB connection with bounded memory, a scratch
    folder, and each day's source files as local Parquet paths.

    Sources of a day: its daily file when one reads (Parquet, else a JSON one from before
    issue 29), else its hourly files. A JSON file is converted once into a Parquet file in the
    scratch folder (never rewritten in the store: it stays until retention removes it), so
    every question below is SQL over Parquet. An unreadable file is reported in ``problems``
    and skipped; it never sinks the run."""

    def __init__(
        self,
        store: Store,
        *,
        now: datetime,
        days: int,
        max_event_age_hours: int,
        memory_limit: str | None = None,
    ) -> None:
        self.store = store
        self.today = int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
        self.first = self.today - (days - 1) * DAY
        self.days = list(range(self.first, self.today + DAY, DAY))
        self.closed_before = int((now - timedelta(hours=max_event_age_hours + 1)).timestamp())
        self.memory_limit = memory_limit or columnar.MEMORY_LIMIT
        self.sources: dict[int, list[Path]] = {}
        self.problems: list[str] = []
        self.compacted: list[str] = []
        self.deleted: list[str] = []
        self.by_hour: dict[int, list[str]] = {}
        self.daily: dict[int, list[str]] = {}
        self._local = store.root if isinstance(store, LocalStore) else None
        self._made = 0
        self._verdicts: dict[str, columnar.ParquetError | None] = {}
        """Store key → what its check found, for files checked ahead."""

    def __enter__(self) -> _Job:
        self._scratch = tempfile.TemporaryDirectory(prefix="telemetry-")
        self.scratch = Path(self._scratch.name)
        self.con = columnar.connect(self.scratch, memory_limit=self.memory_limit)
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()
        self._scratch.cleanup()

    def _temp(self, suffix: str = ".parquet") -> Path:
        self._made += 1
        return self.scratch / f"{self._made:06d}{suffix}"

    # -- files -------------------------------------------------------------------------------

    def parquet(self, key: str) -> Path | None:
        """``key`` as a checked local Parquet file, or None (missing, or reported)."""
        try:
            if key.endswith(PARQUET):
                path = self._fetch(key)
                if path is not None and key in self._verdicts:
                    verdict = self._verdicts.pop(key)  # checked ahead (``_check_ahead``)
                    if verdict is not None:
                        raise verdict
                elif path is not None:
                    columnar.check(self.con, path, key)
                return path
            blob = self.store.get(key)
            return None if blob is None else self._convert(key, blob.data)
        except (RollupError, columnar.ParquetError) as exc:
            self.problems.append(str(exc))  # one bad file never sinks the aggregation
            return None

    def _fetch(self, key: str) -> Path | None:
        if self._local is not None:
            path = self._local / key
            if columnar.regular_file(path):
                return path
            if path.exists() or path.is_symlink():
                raise columnar.ParquetError(f"rollup {key} is unreadable: not a regular file")
            return None
        blob = self.store.get(key)
        if blob is None:
            return None
        path = self._temp()
        path.write_bytes(blob.data)
        return path

    def _convert(self, key: str, data: bytes) -> Path:
        """A JSON rollup (before issue 29) as a Parquet file of the same rows. A daily file
        holds folded cells and judged rows per identity: each judged row becomes that
        identity's ok / capability_error, and what is left of each folded cell (the other
        counters) a row of ``LEGACY_IDENTITY`` with no judged calls, so sums are unchanged."""
        cells, document = decode_document(key, data)
        stamp = str(document.get("stamp", ""))
        daily = key.startswith(DAILY)
        name = key[len(DAILY if daily else HOURLY) :]
        period = parse_stamp(name.split("/", 1)[0].split(".", 1)[0])
        rows: list[list[Any]] = []
        if daily:
            judged = _judged_rows(document, key)
            if judged is None:
                judged = _legacy_judged(cells)
            rest = {k: c.copy() for k, c in cells.items()}
            for (identity, model, cap), (ok, failed) in judged.items():
                row = columnar.row_of((identity, model, cap), period, Cell(last_seen=0))
                row[4 + OK], row[4 + CAP_ERROR] = ok, failed
                rows.append(row)
                left = rest.get(("", model, cap))
                if left is not None:
                    left.outcomes[OK] -= ok
                    left.outcomes[CAP_ERROR] -= failed
            rows += [
                columnar.row_of((LEGACY_IDENTITY, m, c), period, cell)
                for (_, m, c), cell in rest.items()
            ]
        else:
            if is_legacy(key):
                cells = _relabel(cells, LEGACY_IDENTITY)
            rows = [columnar.row_of(k, period, cell) for k, cell in cells.items()]
        path = self._temp()
        kind = "daily" if daily else "hourly"
        columnar.write_rows(self.con, rows, path, kind=kind, stamp=stamp, writer="converted")
        return path

    # -- preparation: each day's sources, compaction ------------------------------------------

    def prepare(self, *, compact: bool) -> None:
        self.by_hour = hourly_keys(self.store)
        for key in self.store.list(DAILY):
            name = key[len(DAILY) :]
            stamp, _, suffix = name.partition(".")
            if suffix not in ("parquet", "json"):
                continue
            try:
                self.daily.setdefault(parse_stamp(stamp), []).append(key)
            except ValueError:
                continue
        for keys in self.daily.values():
            keys.sort(key=lambda k: not k.endswith(PARQUET))  # Parquet first
        self._check_ahead()
        for day in self.days:
            self.sources[day] = self._day(day, compact=compact)

    def _check_ahead(self) -> None:
        """Check the local Parquet files ``_day`` reads first (each day's Parquet daily file,
        else its hourly files) two at a time, on two connections: a check is three small
        queries, ~10 ms of one core, and a dense day has ~500 files. ``parquet`` takes each
        verdict (a file not checked here, or whose check failed otherwise, it checks)."""
        if self._local is None:
            return
        keys: list[str] = []
        for day in self.days:
            daily = [key for key in self.daily.get(day, []) if key.endswith(PARQUET)]
            hours = range(day, day + DAY, 3600)
            keys += daily[:1] or [k for h in hours for k in self.by_hour.get(h, [])]
        files = [
            (key, self._local / key)
            for key in keys
            if key.endswith(PARQUET) and columnar.regular_file(self._local / key)
        ]
        if len(files) < 2:
            return

        def check(part: list[tuple[str, Path]], con: duckdb.DuckDBPyConnection) -> None:
            for key, path in part:
                try:
                    columnar.check(con, path, key)
                    self._verdicts[key] = None
                except columnar.ParquetError as exc:
                    self._verdicts[key] = exc
                except Exception:  # no verdict: ``parquet`` checks it again
                    continue

        cursor = self.con.cursor()  # a connection of its own: one per thread
        worker = threading.Thread(target=check, args=(files[1::2], cursor), daemon=True)
        worker.start()
        try:
            check(files[::2], self.con)
        finally:
            worker.join()
            cursor.close()

    def _day(self, day: int, *, compact: bool) -> list[Path]:
        for key in self.daily.get(day, []):
            path = self.parquet(key)
            if path is not None:
                return [path]
        folders: dict[str, list[Path]] = {}
        for hour in range(day, day + DAY, 3600):
            for key in self.by_hour.get(hour, []):
                path = self.parquet(key)
                if path is not None:
                    parts = key[len(HOURLY) :].split("/")
                    folders.setdefault(parts[1] if len(parts) == 3 else "", []).append(path)
        paths = [path for folder in sorted(folders) for path in folders[folder]]
        if compact and paths and day + DAY <= self.closed_before:
            return self._compact(day, folders)
        return paths

    def _compact(self, day: int, folders: dict[str, list[Path]]) -> list[Path]:
        """The day's hourly rows summed per identity × model × capability into one daily
        file, put in the store; later questions read that file instead.

        One GROUP BY per identity folder, then the parts concatenated: summing a dense day
        (1.2M identity × model × capability groups of 47 counters) in one statement would need
        about 1 GB of aggregate state, one identity at a time needs 1/20 of it. (Rows of one
        identity in two folders would make two rows; every reader sums, so nothing changes.)"""
        import duckdb

        parts: list[Path] = []
        for folder in sorted(folders):
            part = self._temp()
            meta = columnar.metadata("part", "", "")

            def select(paths: list[Path]) -> str:
                return (
                    f"SELECT identity, model, capability, {day}::BIGINT AS period_start, "
                    f"{columnar.sums()} FROM read_parquet({columnar.file_list(paths)}) "
                    "GROUP BY identity, model, capability ORDER BY identity, model, capability"
                )

            try:
                columnar.copy_to(self.con, select(folders[folder]), part, meta)
            except duckdb.Error:
                # A file whose data pages do not decode (the check reads footers only): the
                # folder again without it. Scanning every file first cost a dense day a
                # whole extra read of its 28.8M rows.
                paths = self._readable(folders[folder])
                if not paths:
                    part.unlink(missing_ok=True)
                    continue
                columnar.copy_to(self.con, select(paths), part, meta)
            parts.append(part)
        if not parts:
            return []
        target = self._temp()
        meta = columnar.metadata("daily", day_key(day), "compaction")
        columnar.copy_to(
            self.con, f"SELECT * FROM read_parquet({columnar.file_list(parts)})", target, meta
        )
        for part in parts:
            part.unlink()
        (rows,) = self.con.execute(
            f"SELECT count(*) FROM read_parquet({columnar.file_list([target])})"
        ).fetchone() or (0,)
        if not rows:
            return []
        key = f"{DAILY}{day_key(day)}{PARQUET}"
        self.store.put(key, target.read_bytes())
        self.compacted.append(key)
        self.daily[day] = [key, *self.daily.get(day, [])]
        return [target]

    def _readable(self, paths: list[Path]) -> list[Path]:
        """``paths`` without files whose data pages do not decode (the check reads footers
        only): tried together first, one by one only when that fails."""
        import duckdb

        def scan(files: list[Path]) -> None:
            self.con.execute(
                f"SELECT {columnar.sums()} FROM read_parquet({columnar.file_list(files)})"
            ).fetchall()

        try:
            scan(paths)
            return paths
        except duckdb.Error:
            good = []
            for path in paths:
                try:
                    scan([path])
                    good.append(path)
                except duckdb.Error as exc:
                    self.problems.append(f"rollup {path.name} is unreadable: {exc}")
            return good

    # -- questions -----------------------------------------------------------------------------

    def folded(self, paths: list[Path]) -> dict[str, dict[str, Cell]]:
        """model → capability → cell over ``paths`` (identities folded)."""
        out: dict[str, dict[str, Cell]] = {}
        if not paths:
            return out
        cursor = self._run(
            f"SELECT model, capability, {columnar.sums()} FROM read_parquet({{files}}) "
            "GROUP BY model, capability",
            paths,
        )
        while cursor is not None and (batch := cursor.fetchmany(10_000)):
            for row in batch:
                per_model = out.get(row[0])
                if per_model is None:
                    per_model = out[row[0]] = {}
                per_model[row[1]] = columnar.cell_of(row, 2)
        return out

    def tallies(self, paths: list[Path]) -> PackedTallies:
        """model → capability → identity → (ok, capability_error) over ``paths``, summed and
        packed per model by DuckDB (no Python object per count)."""
        if not paths:
            return PackedTallies({})
        judged = (
            "SELECT model, capability, identity, SUM(ok)::BIGINT AS ok, "
            "SUM(capability_error)::BIGINT AS failed FROM read_parquet({files}) "
            "GROUP BY model, capability, identity "
            "HAVING SUM(ok) <> 0 OR SUM(capability_error) <> 0"
        )
        # Lists unordered (an ordered list aggregate keeps every row in memory, past the
        # connection's cap on a dense week): identities are keys, ``decide`` sorts them.
        per_capability = (
            "SELECT model, capability, count(*) AS voters, "
            f"map_from_entries(list((identity, [ok, failed]))) AS counts FROM ({judged}) "
            "GROUP BY model, capability"
        )
        cursor = self._run(
            "SELECT model, to_json(map_from_entries(list((capability, counts))))::VARCHAR, "
            f"SUM(voters)::BIGINT FROM ({per_capability}) GROUP BY model",
            paths,
        )
        packed: dict[str, str] = {}
        counts = 0
        while cursor is not None and (batch := cursor.fetchmany(10_000)):
            for model, text, voters in batch:
                packed[model] = text
                counts += voters
        return PackedTallies(packed, counts)

    def _run(self, template: str, paths: list[Path]) -> Any:
        """A cursor over ``template`` run on ``paths``; when a file's data pages do not decode
        (the check reads footers only), on the files that do — None when none does."""
        import duckdb

        try:
            return self.con.execute(template.format(files=columnar.file_list(paths)))
        except duckdb.Error:
            good = self._readable(paths)
            if not good:
                return None
            return self.con.execute(template.format(files=columnar.file_list(good)))

    # -- retention -------------------------------------------------------------------------------

    def retention(self, *, hourly_days: int, daily_days: int) -> None:
        compacted = set(self.daily)
        for hour, keys in sorted(self.by_hour.items()):
            day = hour - hour % DAY
            if day in compacted and day < self.today - hourly_days * DAY:
                for key in keys:
                    self.store.delete(key)
                    self.deleted.append(key)
        for day in sorted(compacted):
            if day < self.today - daily_days * DAY:
                for key in self.daily[day]:
                    self.store.delete(key)
                    self.deleted.append(key)


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
    "PackedTallies",
    "Tallies",
    "Windows",
    "encode_daily",
    "hourly_keys",
    "is_legacy",
    "iter_recent",
    "load_days",
    "load_windows",
    "read_hour",
]
