"""History from the first minute (issue 28): the package ships a history with its embedded
catalog, built from the recorded snapshots by the history rebuild, and a first run offline
publishes both, so price history, `cost --on` and the changes feed answer at once; a real sync
then appends to it. Messages about missing history say only what is true."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import shutil
import tomllib
from pathlib import Path

import httpx
import pytest
from conftest import REPO, fixture_path, read_json
from fastapi.testclient import TestClient

from pipeline.cli import main
from pipeline.config import CatalogConfig
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.registry import Registry
from pipeline.runs import fallback
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.service.app import create_app
from pipeline.timeutil import utcnow

SHIPPED = fallback.load_embedded_history()


@pytest.fixture
def offline(tmp_path: Path) -> str:
    """A config whose OpenRouter is a closed port on the loopback: offline, at once."""
    path = tmp_path / "offline.yaml"
    path.write_text("openrouter: {url: 'http://127.0.0.1:9/api/v1/models', max_attempts: 1}\n")
    return str(path)


@pytest.fixture
def first_run(tmp_path: Path, offline: str, capsys: pytest.CaptureFixture[str]) -> Path:
    """A store after the quick start's `make sync`, offline."""
    store = tmp_path / "data"
    assert (
        main(["sync", "all", "--store", str(store), "--config", offline, "-q", "--offline-ok"]) == 0
    )
    capsys.readouterr()
    return store


def test_the_first_run_offline_publishes_the_embedded_history_with_the_catalog(
    first_run: Path, offline: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert SHIPPED is not None
    store = LocalStore(first_run)
    index = read_json(store, keys.HISTORY)
    assert index["events"] == SHIPPED.index.events > 1000
    # Committed with the set: the manifest vouches for it, every segment is the shipped one.
    manifest = read_json(store, keys.MANIFEST)
    current = read_json(store, keys.CURRENT)
    assert manifest["artifacts"]["history"]["runId"] == current["runId"]
    for ref in index["segments"]:
        data = store.get(ref["key"]).data
        assert hashlib.sha256(data).hexdigest() == ref["sha256"]
        assert data == SHIPPED.segments[ref["key"]]
    report = read_json(store, keys.run_report(current["runId"]))
    assert report["details"]["history"] == {
        "embedded": True,
        "events": index["events"],
        "firstAt": "2024-02-18T01:00:00Z",
        "lastAt": current["dataAsOf"],
    }
    base = ["--store", str(first_run), "--config", offline]

    # `catalog history openai/gpt-4o`: its price changes since 2025.
    assert main(["history", "openai/gpt-4o", *base, "--table"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("2025-10-01T01:00:00Z  added ") and "pricing.input: — → $2.5" in out
    changed = [line for line in lines if " changed " in line]
    assert changed and all(line[:4] >= "2025" for line in changed)
    assert any("pricing." in line for line in changed)

    # `catalog cost … --on 2026-01-01` answers from it.
    assert main(["cost", "openai/gpt-4o", "--input", "1000000", "--on", "2026-01-01", *base]) == 0
    captured = capsys.readouterr()
    assert "openai/gpt-4o: $2.500000" in captured.out
    assert "prices of openai/gpt-4o on 2026-01-01: observed 2025-10-01T01:00:00Z" in captured.err

    # `catalog changes --since 2026-08-01`: what the last recorded snapshots changed.
    assert main(["changes", "--since", "2026-08-01", *base, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total"] > 0
    assert all(e["at"] >= "2026-08-01" for e in document["data"])

    # The explorer's changes feed lists them too.
    app = create_app(Registry.open(str(first_run)), refresh_seconds=0)
    with TestClient(app) as client:
        page = client.get("/changes")
        assert page.status_code == 200
        assert "openai/" in page.text and "No changes" not in page.text
        api = client.get("/api/changes", params={"since": "2026-08-01"}).json()
        assert api["data"] and api["data"][0]["at"] >= "2026-08-01"


def test_a_real_sync_then_appends_to_it(first_run: Path) -> None:
    store = LocalStore(first_run)
    before = read_json(store, keys.HISTORY)
    # OpenRouter answers again, with one price changed since the embedded snapshot.
    document = json.loads(fixture_path("openrouter-models-all-2026-08-19.json").read_bytes())
    gpt = next(m for m in document["data"] if m["id"] == "openai/gpt-4o")
    gpt["pricing"]["prompt"] = "0.000002"
    body = json.dumps(document).encode()
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=body, headers={"Content-Type": "application/json"}
        )
    )
    now = utcnow()
    result = sync_openrouter(store, CatalogConfig(), SyncRequest(now=now), transport=transport)
    assert result.published and result.outcome == "ok", result.error
    after = read_json(store, keys.HISTORY)
    assert after["events"] > before["events"]
    registry = Registry.open(store)
    timeline = registry.history().timeline("openai/gpt-4o")
    assert timeline[0]["at"] == "2025-10-01T01:00:00Z"  # the shipped part is kept
    kept = [e for e in timeline if e["at"] <= before["segments"][-1]["lastAt"]]
    assert len(kept) == len(timeline) - 1
    last = timeline[-1]
    assert last["runId"] == result.run_id and last["changes"]["pricing.input"] == [2.5, 2]
    price = registry.price_at("openai/gpt-4o", "2026-01-01")
    assert price is not None and price.prices["input"] == 2.5


def test_a_damaged_shipped_history_is_a_warning_never_a_blocked_catalog(
    tmp_path: Path, offline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    damaged = tmp_path / "shipped"
    shutil.copytree(fallback.embedded_history_path(), damaged)
    segment = next(p for p in damaged.iterdir() if p.name != fallback.HISTORY_INDEX)
    segment.write_bytes(segment.read_bytes().replace(b"openai/gpt-4o", b"openai/gpt-4x"))
    real = fallback.load_embedded_history
    monkeypatch.setattr(fallback, "load_embedded_history", lambda: real(damaged))
    store = tmp_path / "data"
    assert main(["sync", "openrouter", "--store", str(store), "--config", offline, "-q"]) == 0
    local = LocalStore(store)
    assert read_json(local, keys.CURRENT)["degraded"] is True  # the catalog is published
    assert local.get(keys.HISTORY) is None and not local.list(keys.HISTORY_SEGMENTS)
    status = read_json(local, keys.STATUS)["jobs"]["openrouter"]
    warning = next(w for w in status["warnings"] if keys.HISTORY in w)
    assert f"{segment.name} is missing or does not match history.json" in warning


def test_no_history_is_said_as_it_is(
    tmp_path: Path, first_run: Path, offline: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--config", offline, "--table"]
    # Before the shipped history begins: nothing recorded then, not "not in the catalog".
    assert main(["history", "gpt-4o", "--at", "2023-06-01", "--store", str(first_run), *base]) == 0
    out = capsys.readouterr().out
    assert "at 2023-06-01: no history recorded before 2024-02-18T01:00:00Z" in out
    cost = ["cost", "gpt-4o", "--input", "10", "--on", "2025-01-01", "--store", str(first_run)]
    assert main([*cost, "--config", offline]) == 1
    err = capsys.readouterr().err
    assert (
        "no price of openai/gpt-4o on 2025-01-01: no history recorded for openai/gpt-4o "
        "before 2025-10-01T01:00:00Z (first observed then)"
    ) in err
    assert "was not in the catalog" not in err
    # A store with a catalog and no history at all (published before histories existed).
    bare = LocalStore(tmp_path / "bare")
    sync_openrouter(
        bare,
        CatalogConfig(),
        SyncRequest(now=utcnow(), from_file=fixture_path("openrouter-models-2026-08-19.json")),
    )
    manifest = read_json(bare, keys.MANIFEST)
    del manifest["artifacts"]["history"]
    bare.put(keys.MANIFEST, json.dumps(manifest).encode())
    bare.delete(keys.HISTORY)
    assert main(["history", "gpt-4o", "--store", str(bare.root), *base]) == 0
    out = capsys.readouterr().out
    assert "openai/gpt-4o: no history recorded in this store yet" in out
    assert "starts later" not in out


def test_the_embedded_history_ships_in_the_package() -> None:
    # `pip install .` carries every file of pipeline/data/ (package-data globs).
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["pipeline"]
    shipped = [p for p in (REPO / "pipeline" / "data").rglob("*") if p.is_file()]
    assert any(p.parent.name == "openrouter-history" for p in shipped)
    for path in shipped:
        name = path.relative_to(REPO / "pipeline").as_posix()
        assert any(fnmatch.fnmatch(name, g) for g in globs), f"{name} is not package data"
