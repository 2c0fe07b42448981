"""Issue 27, case 8: ``catalog history rebuild`` honours the run's deadline and lease (checked
between replays), commits only on the manifest it started from, and replays keep the publish
guard's judgement (a truncated capture is skipped and reported). Real stores, real payloads,
and the races played for real: a sync taking over the lapsed lease in the middle of a rebuild.
"""

from __future__ import annotations

import json
import time
import types
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import commit, fixture_path, read_json

from pipeline.cli import main
from pipeline.config import CatalogConfig
from pipeline.history.query import History
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.runs import rebuild as rebuild_module
from pipeline.runs.jobs import run_job
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.timeutil import parse_iso, utcnow

FIRST, SECOND, LIVE, LATER = (
    "openrouter-models-2026-04-01.json",
    "openrouter-models-2026-04-02.json",
    "openrouter-models-2026-04-06.json",
    "openrouter-models-2026-05-01.json",
)


def _history(store: LocalStore) -> History:
    index = read_json(store, keys.HISTORY)
    return History.load(index, lambda key: store.get(key).data if store.get(key) else None)


@pytest.fixture
def live(tmp_path) -> LocalStore:
    """A store whose catalog (and history) a live sync of 2026-04-06 published."""
    store = LocalStore(tmp_path / "store")
    request = SyncRequest(now=parse_iso("2026-04-06T01:00:00Z"), from_file=fixture_path(LIVE))
    assert sync_openrouter(store, CatalogConfig(), request).published
    return store


@pytest.fixture
def folder(tmp_path) -> Path:
    payloads = tmp_path / "payloads"
    payloads.mkdir()
    for name in (FIRST, SECOND):
        (payloads / name).write_bytes(fixture_path(name).read_bytes())
    return payloads


def _rebuild(store: LocalStore, folder: Path, config: CatalogConfig | None = None, **kw: Any):
    return run_job(
        "history_rebuild",
        store,
        config or CatalogConfig(),
        now=parse_iso("2026-04-06T02:00:00Z"),
        from_file=folder,
        **kw,
    )


def test_a_truncated_capture_is_skipped_and_reported(live, folder, capsys):
    """The 2026-04-02 capture cut to its first four models: replayed through a forced sync it
    would turn hundreds of models stale, then active again at the next payload."""
    document = json.loads((folder / SECOND).read_bytes())
    if isinstance(document, list):  # this capture is a bare list
        document = document[:4]
    else:
        document["data"] = document["data"][:4]
    (folder / SECOND).write_text(json.dumps(document))
    (folder / LIVE).write_bytes(fixture_path(LIVE).read_bytes())
    args = ["history", "rebuild", "--from-dir", str(folder), "--store", str(live.root)]
    code = main([*args, "--now", "2026-04-06T02:00:00Z"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "rebuilt from 2 payload(s), 1 skipped" in captured.out
    assert f"warning: {SECOND}: skipped: publish guard: the feed lost" in captured.err
    history = _history(live)
    assert {e["at"][:10] for e in history.events} == {"2026-04-01", "2026-04-06"}
    moved = [e for e in history.events if "state" in e["changes"] and e["event"] != "added"]
    assert len(moved) < 20, f"{len(moved)} state changes invented by a truncated capture"
    status = read_json(live, keys.STATUS)["jobs"]["history"]
    assert status["counts"]["skipped"] == 1 and status["counts"]["replayed"] == 2


def test_a_loss_the_next_payload_confirms_is_replayed(tmp_path, capsys):
    """2024-02-18 → 2025-10-01 lost 81% of the models for real (a 19-month gap): the next
    capture confirms it, so the guarded payload is replayed, with a warning."""
    payloads = tmp_path / "payloads"
    payloads.mkdir()
    names = (
        "openrouter-models-2024-02-18.json",
        "openrouter-models-2025-10-01.json",
        "openrouter-models-2025-10-06.json",
    )
    for name in names:
        (payloads / name).write_bytes(fixture_path(name).read_bytes())
    store = LocalStore(tmp_path / "store")
    code = main(["history", "rebuild", "--from-dir", str(payloads), "--store", str(store.root)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "rebuilt from 3 payload(s)," in captured.out
    assert f"{names[1]}: replayed despite the publish guard" in captured.err


def test_a_rebuild_past_its_deadline_stops_between_replays(live, folder, monkeypatch):
    before = live.get(keys.HISTORY).data
    late = False

    def monotonic() -> float:
        return time.monotonic() + (10**7 if late else 0)

    def progress(stage: str, ms: float, detail: str) -> None:
        nonlocal late
        late = detail.startswith("1/")  # the first replay outlives the run's deadline

    fake = types.SimpleNamespace(monotonic=monotonic, perf_counter=time.perf_counter)
    monkeypatch.setattr(rebuild_module, "time", fake)
    result = _rebuild(live, folder, progress=progress)
    assert result.outcome == "failed"
    assert "deadline" in result.error and f"before payload 2 of 2 ({SECOND})" in result.error
    assert live.get(keys.HISTORY).data == before  # nothing committed
    assert live.get(keys.LOCK) is None  # and the lease released


def test_a_rebuild_that_lost_its_lease_commits_nothing(live, folder):
    """Mid-rebuild the lease lapses and a sync takes it over, publishing 2026-05-01 with its
    history events: the rebuild notices at its next check and never overwrites them."""
    config = CatalogConfig(extra={"jobs": {"lease_ttl_seconds": 60}})
    after_sync: list[bytes] = []

    def progress(stage: str, ms: float, detail: str) -> None:
        if detail.startswith("2/"):
            taken = run_job(
                "openrouter",
                live,
                config,
                now=parse_iso("2026-05-01T01:00:00Z"),
                from_file=fixture_path(LATER),
                clock=lambda: utcnow() + timedelta(hours=1),  # the rebuild's lease has lapsed
            )
            assert taken.outcome == "ok", taken.error
            after_sync.append(live.get(keys.HISTORY).data)

    result = _rebuild(live, folder, config, progress=progress)
    assert result.outcome == "failed"
    assert "lost the lease" in result.error and "nothing committed" in result.error
    assert live.get(keys.HISTORY).data == after_sync[0]
    # The sync's history stands: prices on 2026-05-01 are the ones it observed.
    history = _history(live)
    changed = [e for e in history.events if e["at"].startswith("2026-05-01")]
    assert any(name.startswith("pricing.") for e in changed for name in e["changes"])
    assert read_json(live, keys.STATUS)["jobs"]["history"]["outcome"] == "failed"


def test_a_rebuild_commits_only_on_the_manifest_it_started_from(live, folder):
    """A set committed meanwhile without the lease (a second scheduler, a hand-made commit):
    the rebuild refuses to commit over it."""
    committed: list[bytes] = []

    def progress(stage: str, ms: float, detail: str) -> None:
        if detail.startswith("2/"):
            current = read_json(live, keys.CURRENT)
            commit(live, {"current": current}, run_id="meanwhile")
            committed.append(live.get(keys.MANIFEST).data)

    before = live.get(keys.HISTORY).data
    result = _rebuild(live, folder, progress=progress)
    assert result.outcome == "failed"
    assert "another run committed a set while the rebuild ran" in result.error
    assert live.get(keys.MANIFEST).data == committed[0]
    assert live.get(keys.HISTORY).data == before
