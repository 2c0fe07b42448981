"""Rollups as Parquet, read and summed by DuckDB (issue 29).

One schema for every rollup file, hourly or daily: a row is one identity × model × capability
over the file's period, its counters as plain integer columns (no nested types), so the job's
SQL, DuckDB's and any warehouse's (ClickHouse, Athena, Spark) read the same files:

    identity, model, capability   VARCHAR  who called, what, which capability
    period_start                  BIGINT   Unix seconds of the UTC hour (hourly) or day (daily)
    ok … client_error             BIGINT   calls per outcome (events.OUTCOMES, in that order)
    latency_0 … latency_19        BIGINT   latency histogram: bucket i counts calls up to
                                           BOUNDS_MS[i] ms; latency_19 is the overflow
    ttft_0 … ttft_19              BIGINT   the same for time to first token
    input_tokens, output_tokens   BIGINT   token sums
    last_seen                     BIGINT   Unix seconds of the latest call

Each file carries key-value metadata (``schema_version``, ``kind``, ``stamp``, ``writer``,
``histogram_bounds_ms``); a file whose bounds or columns differ is refused, like a JSON rollup
of another version. DuckDB is imported only here and only when a rollup is written or read:
``catalog --version`` and the reader never load it.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.telemetry.events import CAPABILITIES, OUTCOMES
from pipeline.telemetry.rollup import BOUNDS_MS, BUCKETS, ROLLUP_VERSION, Cell, SeriesKey

if TYPE_CHECKING:
    import duckdb

KEYS = ("identity", "model", "capability")
LATENCY = tuple(f"latency_{i}" for i in range(BUCKETS))
TTFT = tuple(f"ttft_{i}" for i in range(BUCKETS))
COUNTERS = (*OUTCOMES, *LATENCY, *TTFT, "input_tokens", "output_tokens")
"""Columns that add up when rows merge (``last_seen`` takes the maximum)."""
COLUMNS = (*KEYS, "period_start", *COUNTERS, "last_seen")
TYPES = {name: "VARCHAR" if name in KEYS else "BIGINT" for name in COLUMNS}
BOUNDS_JSON = json.dumps(list(BOUNDS_MS))

MEMORY_LIMIT = "256MB"
"""DuckDB's own cap for the daily job (it spills to its temp directory past it): the rest of
the 1 GB the issue allows is the Python side's (the votes' tallies, telemetry.json)."""


class ParquetError(ValueError):
    """A Parquet rollup does not read or is not one of ours; the message names the file."""


def connect(
    scratch: Path, *, memory_limit: str = MEMORY_LIMIT, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with bounded memory, spilling to ``scratch``."""
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": memory_limit,
        "threads": threads or os.cpu_count() or 1,
    }
    con = duckdb.connect(config=config)
    spill = scratch / "duckdb-spill"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = {_literal(str(spill))}")
    # Order of rows is fixed by each query's ORDER BY where it matters; letting DuckDB drop
    # insertion order keeps large COPY statements streaming instead of buffering.
    con.execute("SET preserve_insertion_order = false")
    return con


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def file_list(paths: Sequence[Path]) -> str:
    """A SQL list literal of file paths (paths are ours, quoted all the same)."""
    return "[" + ", ".join(_literal(str(p)) for p in paths) + "]"


def sums(alias: str = "") -> str:
    """``SUM(c)::BIGINT AS c`` for every counter, then ``MAX(last_seen)``."""
    parts = [f"SUM({alias}{c})::BIGINT AS {c}" for c in COUNTERS]
    return ", ".join([*parts, f"MAX({alias}last_seen)::BIGINT AS last_seen"])


def metadata(kind: str, stamp: str, writer: str) -> str:
    pairs = {
        "schema_version": str(ROLLUP_VERSION),
        "kind": kind,
        "stamp": stamp,
        "writer": writer,
        "histogram_bounds_ms": BOUNDS_JSON,
    }
    return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in pairs.items()) + "}"


def copy_to(con: duckdb.DuckDBPyConnection, select: str, target: Path, meta: str) -> None:
    """Write the rows of ``select`` to ``target`` as Parquet (zstd, with ``meta``)."""
    con.execute(
        f"COPY ({select}) TO {_literal(str(target))} "
        f"(FORMAT PARQUET, COMPRESSION ZSTD, KV_METADATA {meta})"
    )


def row_of(key: SeriesKey, period: int, cell: Cell) -> list[Any]:
    return [*key, period, *cell.outcomes, *cell.latency, *cell.ttft, *_tail(cell)]


def _tail(cell: Cell) -> tuple[int, int, int]:
    return cell.input_tokens, cell.output_tokens, cell.last_seen


def write_rows(
    con: duckdb.DuckDBPyConnection,
    rows: Iterable[Sequence[Any]],
    target: Path,
    *,
    kind: str,
    stamp: str,
    writer: str,
) -> None:
    """Rows (``COLUMNS`` order) → a Parquet file, sorted by identity, model, capability.

    The rows travel through a CSV file in the same folder: DuckDB's CSV reader is its fastest
    way in from plain Python (no pandas or pyarrow needed), and csv quotes any comma or quote
    a model id may hold."""
    staging = target.with_suffix(".csv")
    with staging.open("w", newline="") as handle:
        # Strings quoted, and quoted values never NULL: an empty identity (rollups from before
        # identities) stays an empty string.
        csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC).writerows(rows)
    columns = "{" + ", ".join(f"{_literal(c)}: {_literal(TYPES[c])}" for c in COLUMNS) + "}"
    select = (
        f"SELECT * FROM read_csv({_literal(str(staging))}, header = false, "
        f"columns = {columns}, quote = '\"', escape = '\"', auto_detect = false, "
        "allow_quoted_nulls = false) "
        "ORDER BY identity, model, capability"
    )
    try:
        copy_to(con, select, target, metadata(kind, stamp, writer))
    finally:
        staging.unlink(missing_ok=True)


_small = threading.local()


def _small_connection() -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB for one-file work (a flush, a late-event merge, ``catalog
    telemetry``): opening one costs ~0.1 s, a file ~15 ms, so it is kept. One thread, 128 MB:
    a file holds at most an identity's ``max_series`` cells."""
    con: duckdb.DuckDBPyConnection | None = getattr(_small, "con", None)
    if con is None:
        spill = Path(tempfile.gettempdir()) / "catalog-telemetry-spill"
        con = _small.con = connect(spill, memory_limit="128MB", threads=1)
    return con


def encode(
    cells: dict[SeriesKey, Cell], *, period: int, kind: str, stamp: str, writer: str
) -> bytes:
    """One rollup file's bytes (the flush's path)."""
    with tempfile.TemporaryDirectory(prefix="rollup-") as scratch:
        target = Path(scratch) / "rollup.parquet"
        rows = (row_of(key, period, cell) for key, cell in cells.items())
        write_rows(_small_connection(), rows, target, kind=kind, stamp=stamp, writer=writer)
        return target.read_bytes()


def check(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> None:
    """Refuse a file that is not a readable Parquet rollup of this version; ParquetError
    names ``name`` (its store key) and what is wrong. Reads only the footer and the
    capability column."""
    import duckdb

    source = _literal(str(path))
    try:
        meta = {
            k.decode(): v.decode()
            for k, v in con.execute(
                f"SELECT key, value FROM parquet_kv_metadata({source})"
            ).fetchall()
        }
        if meta.get("schema_version") != str(ROLLUP_VERSION):
            raise ParquetError(
                f"rollup {name} is unreadable: schema_version {meta.get('schema_version')!r}"
            )
        if meta.get("histogram_bounds_ms") != BOUNDS_JSON:
            raise ParquetError(
                f"rollup {name} is unreadable: histogram bounds differ from this version's"
            )
        names = [
            row[0]
            for row in con.execute(
                f"SELECT name FROM parquet_schema({source}) WHERE num_children IS NULL"
            ).fetchall()
        ]
        if tuple(names) != COLUMNS:
            raise ParquetError(
                f"rollup {name} is unreadable: columns {names} are not {list(COLUMNS)}"
            )
        known = ", ".join(_literal(c) for c in CAPABILITIES)
        (bad,) = con.execute(
            f"SELECT count(*) FROM read_parquet({source}) WHERE identity IS NULL "
            f"OR model IS NULL OR capability IS NULL OR capability NOT IN ({known})"
        ).fetchone() or (0,)
        if bad:
            raise ParquetError(
                f"rollup {name} is unreadable: {bad} rows without a known capability"
            )
    except duckdb.Error as exc:
        raise ParquetError(f"rollup {name} is unreadable: {exc}") from exc


def decode(key: str, data: bytes) -> dict[SeriesKey, Cell]:
    """Cells of one Parquet rollup (a writer's late-event merge, ``catalog telemetry``)."""
    with tempfile.TemporaryDirectory(prefix="rollup-") as scratch:
        path = Path(scratch) / "rollup.parquet"
        path.write_bytes(data)
        con = _small_connection()
        check(con, path, key)
        return read_cells(con, [path], key)


def read_cells(
    con: duckdb.DuckDBPyConnection, paths: Sequence[Path], name: str
) -> dict[SeriesKey, Cell]:
    """Rows of ``paths`` summed per identity × model × capability, as cells."""
    import duckdb

    if not paths:
        return {}
    try:
        rows = con.execute(
            f"SELECT identity, model, capability, {sums()} FROM read_parquet({file_list(paths)}) "
            "GROUP BY identity, model, capability"
        ).fetchall()
    except duckdb.Error as exc:
        raise ParquetError(f"rollup {name} is unreadable: {exc}") from exc
    return {(r[0], r[1], r[2]): cell_of(r, 3) for r in rows}


OUTCOME_COUNT = len(OUTCOMES)


def cell_of(row: Sequence[Any], start: int) -> Cell:
    """A cell from ``row[start:]`` in ``sums()`` order."""
    a = start
    b = a + OUTCOME_COUNT
    c = b + BUCKETS
    d = c + BUCKETS
    return Cell(list(row[a:b]), list(row[b:c]), list(row[c:d]), row[d], row[d + 1], row[d + 2])


def regular_file(path: Path) -> bool:
    """Whether ``path`` is a regular file (a FIFO, device or symlink planted in the store is
    never handed to DuckDB, as ``LocalStore.get`` never reads one)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


__all__ = [
    "COLUMNS",
    "COUNTERS",
    "ParquetError",
    "cell_of",
    "check",
    "connect",
    "copy_to",
    "decode",
    "encode",
    "file_list",
    "metadata",
    "read_cells",
    "regular_file",
    "row_of",
    "sums",
    "write_rows",
]
