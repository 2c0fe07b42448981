"""Issue 27 (low): every file input is size-bounded and refuses what is not a regular file —
``/dev/zero`` is not read until memory runs out, a FIFO does not block the run — and dates are
validated as dates (``2026-13-45``, ``T25:99``: exit 2 on the CLI, 4xx over HTTP)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fixture_path
from fastapi.testclient import TestClient

from pipeline.cli import main
from pipeline.config import ConfigError, load_config
from pipeline.crosscheck.reference import ReferenceError, load_reference
from pipeline.inputs import read_input
from pipeline.overrides.files import OverrideError, load_file
from pipeline.publishing.store import LocalStore
from pipeline.registry.core import Registry
from pipeline.service.app import create_app

PAYLOAD = "openrouter-models-2026-08-19.json"
NOW = "2026-08-19T06:00:00Z"


@pytest.fixture
def fifo(tmp_path) -> Iterator[Path]:
    """A FIFO no one writes to: opening it for reading the usual way blocks forever."""
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture(params=["fifo", "/dev/zero", "directory"])
def not_a_file(request, tmp_path) -> Iterator[Path]:
    if request.param == "fifo":
        path = tmp_path / "pipe.json"
        os.mkfifo(path)
        yield path
    elif request.param == "directory":
        yield tmp_path
    else:
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero here")
        yield Path("/dev/zero")


def test_read_input_refuses_what_is_not_a_regular_file(not_a_file):
    with pytest.raises(OSError, match="not a regular file") as caught:
        read_input(not_a_file, 1 << 20)
    assert caught.value.filename == str(not_a_file)


def test_read_input_refuses_a_file_over_its_limit(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 2049)
    with pytest.raises(OSError, match="larger than 2,048 bytes, the limit for it"):
        read_input(path, 2048)
    assert read_input(path, 2049) == b" " * 2049


def test_sync_from_file_refuses_a_fifo_and_dev_zero(not_a_file, tmp_path, capsys):
    store = tmp_path / "store"
    args = ["sync", "openrouter", "--from-file", str(not_a_file), "--now", NOW]
    assert main([*args, "--store", str(store)]) == 1
    assert "not a regular file" in capsys.readouterr().err
    assert not (store / "models" / "openrouter" / "current.json").exists()


def test_sync_from_file_is_bounded_like_a_network_body(tmp_path, capsys):
    config = tmp_path / "catalog.yaml"
    config.write_text("openrouter:\n  max_body_bytes: 100000\n")
    args = ["sync", "openrouter", "--from-file", str(fixture_path(PAYLOAD)), "--now", NOW]
    assert main([*args, "--store", str(tmp_path / "store"), "--config", str(config)]) == 1
    assert "larger than 100,000 bytes" in capsys.readouterr().err


def test_history_rebuild_skips_a_fifo_in_its_folder(tmp_path, capsys):
    folder = tmp_path / "payloads"
    folder.mkdir()
    shutil.copy(fixture_path(PAYLOAD), folder / PAYLOAD)
    os.mkfifo(folder / "openrouter-models-2026-08-20.json")
    args = ["history", "rebuild", "--from-dir", str(folder), "--store", str(tmp_path / "store")]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "rebuilt from 1 payload(s), 1 skipped" in captured.out
    assert "openrouter-models-2026-08-20.json: not replayed" in captured.err
    assert "a FIFO, not a regular file" in captured.err


def test_crosscheck_reference_is_bounded_and_refuses_a_fifo(fifo, tmp_path):
    with pytest.raises(ReferenceError, match="a FIFO, not a regular file"):
        load_reference(fifo)
    with pytest.raises(ReferenceError, match="a device, not a regular file"):
        load_reference("/dev/zero")


def test_override_file_config_and_cron_table_refuse_a_fifo(fifo, tmp_path):
    named = tmp_path / "capability-overrides.json"
    fifo.rename(named)
    with pytest.raises(OverrideError, match="a FIFO, not a regular file"):
        load_file(named)
    config = tmp_path / "catalog.yaml"
    os.mkfifo(config)
    with pytest.raises(ConfigError, match="a FIFO, not a regular file"):
        load_config(str(config))
    from pipeline.runs.schedule import read_table

    with pytest.raises(ConfigError, match=r"cron table .*a FIFO"):
        read_table(config)


def test_catalog_validate_names_a_fifo_in_the_overrides(tmp_path, capsys):
    overrides = tmp_path / "overrides"
    (overrides / "pinned").mkdir(parents=True)
    os.mkfifo(overrides / "pinned" / "xai.yaml")
    assert main(["validate", str(overrides)]) != 0
    assert "xai.yaml: cannot read it (a FIFO, not a regular file" in capsys.readouterr().err


def test_a_fifo_planted_in_a_local_store_is_refused_not_read(tmp_path, capsys):
    """A FIFO at models/lock.json blocked every run for good (the lease is read first); at
    models/status.json it blocked the run's last step. Both are refused, naming the key."""
    from pipeline.publishing import keys

    args = ["sync", "openrouter", "--from-file", str(fixture_path(PAYLOAD)), "--now", NOW]
    store = tmp_path / "store"
    (store / "models").mkdir(parents=True)
    os.mkfifo(store / keys.LOCK)
    assert main([*args, "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert "could not take the lease: cannot read models/lock.json" in err
    assert "a FIFO, not a regular file" in err
    (store / keys.LOCK).unlink()
    os.mkfifo(store / keys.STATUS)
    assert main([*args, "--store", str(store)]) == 0  # published; only the status is lost
    assert "cannot read models/status.json" in capsys.readouterr().err


# -- dates ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> LocalStore:
    root = tmp_path_factory.mktemp("dates") / "store"
    assert main(["sync", "openrouter", "--from-file", str(fixture_path(PAYLOAD)), "--now", NOW,
                 "--store", str(root), "-q"]) == 0  # fmt: skip
    return LocalStore(root)


BAD_DATES = ["2026-13-45", "2026-02-30", "2026-08-19T25:99", "2026-08-19T23:60:00Z"]


@pytest.mark.parametrize("bad", BAD_DATES)
def test_cli_refuses_impossible_dates(store, bad, capsys):
    where = ["--store", str(store.root)]
    cost = ["cost", "openai/gpt-4o", "--input", "10", "--output", "10", "--on", bad, *where]
    assert main(cost) == 2
    assert "is not a" in capsys.readouterr().err
    assert main(["changes", "--since", bad, "--json", *where]) == 2
    assert "is not a" in capsys.readouterr().err
    assert main(["history", "openai/gpt-4o", "--at", bad, "--json", *where]) == 2
    assert "of the calendar" in capsys.readouterr().err


@pytest.mark.parametrize("bad", BAD_DATES)
def test_http_refuses_impossible_dates(store, bad):
    with TestClient(create_app(Registry(store), refresh_seconds=0)) as client:
        changes = client.get("/api/changes", params={"since": bad})
        history = client.get("/api/models/openai/gpt-4o/history", params={"at": bad})
        page = client.get("/changes", params={"since": bad})
    assert changes.status_code == history.status_code == 422
    assert "of the calendar" in changes.json()["detail"][0]["msg"]
    assert history.json()["detail"][0]["loc"] == ["query", "at"]
    assert page.status_code == 400


def test_real_dates_still_answer(store, capsys):
    where = ["--store", str(store.root)]
    assert main(["changes", "--since", "2026-08-19", "--json", *where]) == 0
    assert main(["history", "openai/gpt-4o", "--at", "2026-08-19T06:00Z", "--json", *where]) == 0
    capsys.readouterr()
