"""Parquet rollups and the DuckDB aggregation (issue 29): the same telemetry.json as the JSON
rollups and Python loops gave, legacy JSON files still read, bad files reported and skipped."""

from __future__ import annotations

import hashlib
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.config import TelemetryConfig
from pipeline.publishing import publish
from pipeline.publishing.store import Blob, LocalStore
from pipeline.telemetry.compaction import load_days, load_windows
from pipeline.telemetry.events import CAPABILITIES, OUTCOMES, Event
from pipeline.telemetry.rollup import DAILY, HOURLY, Cell, Rollups, encode, hour_key, hour_of
from pipeline.telemetry.verify import aggregate, document_of, window_tallies

NOW = datetime(2026, 11, 30, 10, 20, tzinfo=UTC)
MODELS = [f"v/m{i}" for i in range(12)]
KNOWN = MODELS[:-1]  # the last one is not in the catalog: counted in unknownModels
IDENTITIES = ["gw-eu", "gw-us", "probe", "svc.a"]

MAIN_DIGEST = "f3fe4d7ceb1d46931d90ae744901fe454b64dc9670d589ef48a5cd8c283c2bde"
"""sha256 of telemetry.json for ``scenario`` as main's code (JSON rollups, per-day Python
aggregation) published it before issue 29 (``load_days`` + ``aggregate``)."""


def events() -> list[Event]:
    """Twelve days of calls by four identities, every outcome, latency and TTFT spread over
    the histogram, tokens; seeded."""
    rng = random.Random(29)
    out = []
    for _ in range(4_000):
        # Two hours a day (few files: a flush writes one per hour × identity × writer).
        back = rng.randrange(12) * 86_400 + rng.choice((0, 9)) * 3600 + rng.randrange(600)
        at = NOW.timestamp() - back
        out.append(
            Event(
                model=rng.choice(MODELS),
                capability=rng.choice(CAPABILITIES),
                outcome=OUTCOMES[0] if rng.random() < 0.6 else rng.choice(OUTCOMES),
                consumer=rng.choice(IDENTITIES),
                at=at,
                latency_ms=rng.lognormvariate(6.5, 1.2) if rng.random() < 0.9 else None,
                ttft_ms=rng.lognormvariate(5.5, 1.0) if rng.random() < 0.5 else None,
                input_tokens=rng.randrange(0, 5000),
                output_tokens=rng.randrange(0, 900),
            )
        )
    return out


def scenario(store: LocalStore) -> None:
    """The events flushed by two writers, plus rollups from before identities: an hourly file
    with self-declared consumers and a daily file without judged rows."""
    writers = [Rollups(store, writer="w1", max_series=10**6), Rollups(store, writer="w2")]
    for i, event in enumerate(events()):
        writers[i % 2].add(event)
    for rollups in writers:
        rollups.flush(now=NOW.timestamp())
    old_hour = hour_of((NOW - timedelta(days=1, hours=3)).timestamp())
    cells: dict[tuple[str, str, str], Cell] = {}
    for i in range(6):
        cell = Cell()
        cell.outcomes[1] = 7 + i
        cell.outcomes[0] = 3
        cell.latency[5] = 10 + i
        cell.last_seen = old_hour + 60 * i
        cells[(f"consumer-{i}", MODELS[i % 3], "tools")] = cell
    stamp = hour_key(old_hour)
    store.put(f"{HOURLY}{stamp}/old-writer.json", encode("hourly", stamp, "old", cells))
    day = NOW - timedelta(days=20)
    daily = {("", MODELS[0], "chat"): Cell([40, 2, 1, 0, 0, 3], last_seen=int(day.timestamp()))}
    daily_stamp = day.strftime("%Y%m%d")
    store.put(f"{DAILY}{daily_stamp}.json", encode("daily", daily_stamp, "compaction", daily))


def reference_bytes(store: LocalStore) -> bytes:
    """telemetry.json the way main built it: per-day cells, windows summed in Python."""
    config = TelemetryConfig()
    loaded = load_days(store, now=NOW, days=30, max_event_age_hours=24, compact=False)
    document = aggregate(loaded, now=NOW, run_id="r", config=config, known=KNOWN).document
    return publish.encode("telemetry", document)


def job_bytes(store: object, *, compact: bool = True) -> tuple[bytes, object]:
    """telemetry.json the way the daily job builds it now: windows summed in DuckDB."""
    config = TelemetryConfig()
    windows = load_windows(
        store,  # type: ignore[arg-type]
        now=NOW,
        windows_days=config.windows_days,
        judged_days=config.verification_window_days,
        max_event_age_hours=config.max_event_age_hours,
        compact=compact,
    )
    named = {f"{d}d": cells for d, cells in sorted(windows.cells.items())}
    document = document_of(named, now=NOW, run_id="r", config=config, known=KNOWN).document
    return publish.encode("telemetry", document), windows


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scenario's store, built once (flushing a few hundred files takes a while)."""
    root = tmp_path_factory.mktemp("scenario") / "s"
    scenario(LocalStore(root))
    return root


def test_telemetry_json_is_byte_identical_to_the_json_rollups_and_python_loops(built, tmp_path):
    shutil.copytree(built, tmp_path / "s")
    store = LocalStore(tmp_path / "s")
    assert any(k.endswith(".parquet") for k in store.list(HOURLY))
    expected = reference_bytes(store)
    assert hashlib.sha256(expected).hexdigest() == MAIN_DIGEST
    first, windows = job_bytes(store)  # compacts the closed days into daily Parquet files
    assert first == expected
    assert windows.compacted and all(k.endswith(".parquet") for k in windows.compacted)  # type: ignore[attr-defined]
    again, _ = job_bytes(store)  # now read from the daily files
    assert again == expected and reference_bytes(store) == expected
    # The votes count the same calls per identity as the per-day reference does.
    loaded = load_days(store, now=NOW, days=7, max_event_age_hours=24, compact=False)
    first_day = int(NOW.replace(hour=0, minute=0).timestamp()) - 6 * 86_400
    assert windows.tallies == window_tallies(loaded.judged, first_day)  # type: ignore[attr-defined]
    assert "" in windows.tallies[MODELS[0]]["tools"]  # type: ignore[attr-defined]


class RemoteStore:
    """A store that is not a local folder (S3's interface): objects come back as bytes."""

    def __init__(self, root: Path) -> None:
        self.inner = LocalStore(root)
        self.uri = "remote://test"

    def get(self, key: str) -> Blob | None:
        return self.inner.get(key)

    def head(self, key: str) -> str | None:
        return self.inner.head(key)

    def put(self, key: str, data: bytes, **kw: object) -> str:
        return self.inner.put(key, data, **kw)  # type: ignore[arg-type]

    def delete(self, key: str, **kw: object) -> None:
        self.inner.delete(key, **kw)  # type: ignore[arg-type]

    def list(self, prefix: str) -> list[str]:
        return self.inner.list(prefix)


def test_a_remote_store_is_read_through_downloads_with_the_same_result(built, tmp_path):
    shutil.copytree(built, tmp_path / "s")
    local = LocalStore(tmp_path / "s")
    expected = reference_bytes(local)
    data, windows = job_bytes(RemoteStore(tmp_path / "s"))
    assert data == expected and windows.compacted  # type: ignore[attr-defined]


def test_bad_parquet_rollups_are_reported_and_skipped(tmp_path):
    store = LocalStore(tmp_path / "s")
    rollups = Rollups(store, writer="w")
    at = NOW.timestamp() - 600
    rollups.add(Event(model="v/m1", capability="tools", outcome="ok", consumer="gw", at=at))
    (good,) = rollups.flush(now=NOW.timestamp())
    folder = f"{HOURLY}{hour_key(hour_of(at))}/gw"
    data = store.get(good).data  # type: ignore[union-attr]
    store.put(f"{folder}/garbage.parquet", b"PAR1 not parquet at all")
    store.put(f"{folder}/truncated.parquet", data[: len(data) // 2])
    # A valid Parquet file that is not a rollup of this version (no metadata, other columns).
    other = Rollups(store, writer="x")
    other.add(Event(model="v/m1", capability="chat", outcome="ok", consumer="gw", at=at))
    (foreign,) = other.flush(now=NOW.timestamp())
    import duckdb

    path = store.root / foreign
    duckdb.sql(f"COPY (SELECT 1 AS a) TO '{path}' (FORMAT PARQUET)")
    data, windows = job_bytes(store, compact=False)
    problems = windows.problems  # type: ignore[attr-defined]
    assert len(problems) == 3, problems
    assert all("unreadable" in p for p in problems)
    assert {p.split()[1].rsplit("/", 1)[-1] for p in problems} == {
        "garbage.parquet",
        "truncated.parquet",
        "x.parquet",
    }
    loaded = load_days(store, now=NOW, days=1, max_event_age_hours=24, compact=False)
    (cells,) = loaded.days.values()
    assert {k: c.calls for k, c in cells.items()} == {("", "v/m1", "tools"): 1}
    assert b'"id": "v/m1"' in data


def test_a_rollup_whose_pages_do_not_decode_is_reported_and_its_day_compacted_without_it(
    tmp_path,
):
    """The check reads footers only: a file whose data pages are damaged fails the day's
    compaction query, which then runs again on the files that read."""
    store = LocalStore(tmp_path / "s")
    at = NOW.timestamp() - 3 * 86_400  # a closed day
    for consumer in ("gw", "gx"):
        rollups = Rollups(store, writer="w")
        rollups.add(Event(model="v/m1", capability="tools", outcome="ok", consumer=consumer, at=at))
        rollups.flush(now=NOW.timestamp())
    good = sorted(store.list(HOURLY))[0]
    damaged = bytearray(store.get(good).data)  # type: ignore[union-attr]
    pages_end = len(damaged) - 8 - int.from_bytes(damaged[-8:-4], "little")
    damaged[pages_end - 40 : pages_end - 36] = b"\xff" * 4  # a page of the last columns
    store.put(good.rsplit("/", 1)[0] + "/broken.parquet", bytes(damaged))
    _, windows = job_bytes(store)
    day = datetime.fromtimestamp(at, UTC).strftime("%Y%m%d")
    assert windows.compacted == [f"{DAILY}{day}.parquet"]  # type: ignore[attr-defined]
    (problem,) = windows.problems  # type: ignore[attr-defined]
    assert "unreadable" in problem
    loaded = load_days(store, now=NOW, days=7, max_event_age_hours=24, compact=False)
    calls = {k: c.calls for cells in loaded.days.values() for k, c in cells.items()}
    assert calls == {("", "v/m1", "tools"): 2}  # one call of each identity, from the daily file


def test_late_events_merge_into_the_writers_parquet_file(tmp_path):
    store = LocalStore(tmp_path / "s")
    rollups = Rollups(store, writer="w")
    earlier = NOW.timestamp() - 3600
    rollups.add(Event(model="v/m1", capability="chat", outcome="ok", consumer="a", at=earlier))
    rollups.flush(now=NOW.timestamp())  # the hour closed: forgotten in memory
    rollups.add(Event(model="v/m1", capability="chat", outcome="timeout", consumer="a", at=earlier))
    (key,) = rollups.flush(now=NOW.timestamp())
    assert key.endswith("/a/w.parquet") and len(store.list(HOURLY)) == 1
    loaded = load_days(store, now=NOW, days=1, max_event_age_hours=24, compact=False)
    (cells,) = loaded.days.values()
    assert cells[("", "v/m1", "chat")].outcomes == [1, 0, 0, 0, 1, 0]
