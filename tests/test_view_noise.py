"""Issue 28: the views say what they have to and nothing else — no `catalog loaded` log line
on every view (``-v`` shows it), a closed pipe is not an error, no "serving the previous set"
without a previous set, a port in use is not the run lease's exit code, ``changes --limit``
says it truncated — and the explorer has its icon."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fixture_path
from fastapi.testclient import TestClient

from pipeline.cli import main
from pipeline.cli.common import EXIT_FAILED, EXIT_LOCKED
from pipeline.publishing.store import LocalStore
from pipeline.registry import Registry
from pipeline.service.app import create_app

PAYLOAD = "openrouter-models-2026-08-19.json"
CATALOG = Path(sys.executable).with_name("catalog")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("noise") / "store"
    argv = ["sync", "openrouter", "--store", str(root), "--from-file", str(fixture_path(PAYLOAD))]
    assert main([*argv, "--now", "2026-08-19T06:00:00Z", "-q"]) == 0
    # A second snapshot, so the history has changes to truncate.
    later = ["--from-file", str(fixture_path("openrouter-models-all-2026-08-19.json"))]
    assert main([*argv[:4], *later, "--now", "2026-08-19T12:00:00Z", "-q"]) == 0
    return root


VIEWS = [
    ["list", "--table"],
    ["show", "openai/gpt-4o"],
    ["explain", "openai/gpt-4o"],
    ["changes", "--table"],
    ["history", "openai/gpt-4o"],
    ["resolve", "gpt-4o"],
    ["cost", "gpt-4o", "--input", "10", "--output", "10"],
    ["core"],
]


@pytest.mark.parametrize("view", VIEWS, ids=[v[0] for v in VIEWS])
def test_views_log_no_info_unless_verbose(store, view, capsys) -> None:
    assert main([*view, "--store", str(store)]) == 0
    err = capsys.readouterr().err
    assert '"level": "info"' not in err and "info:" not in err, err
    if view[0] in ("list", "show", "explain", "changes", "history"):  # those open the registry
        assert main([*view, "--store", str(store), "-v"]) == 0
        assert "catalog loaded" in capsys.readouterr().err


def test_a_sync_still_logs_its_progress(tmp_path, capsys) -> None:
    argv = ["sync", "openrouter", "--store", str(tmp_path / "s")]
    assert main([*argv, "--from-file", str(fixture_path(PAYLOAD)), "-q"]) == 0
    assert "sync published" in capsys.readouterr().err


@pytest.mark.parametrize("view", [["list"], ["list", "--table"], ["changes"]])
def test_a_reader_that_closes_the_pipe_is_not_an_error(store, view) -> None:
    command = [str(CATALOG)] if CATALOG.exists() else [sys.executable, "-m", "pipeline.cli"]
    with subprocess.Popen(
        [*command, *view, "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.read(200)  # `| head -c 200`: then the reader is gone
        process.stdout.close()
        err = process.stderr.read().decode()
        code = process.wait(60)
    assert code == 0, err
    assert "Broken pipe" not in err and "error" not in err, err


class Recorded(logging.Handler):
    """The messages a logger emits (the CLI replaces the root handlers, caplog's included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname} {record.getMessage()}")


@pytest.fixture
def registry_log() -> Iterator[Recorded]:
    logger = logging.getLogger("pipeline.registry")
    handler, level = Recorded(), logger.level
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_no_previous_set_is_not_called_the_previous_set(tmp_path, capsys, registry_log) -> None:
    code = main(["list", "--store", str(tmp_path / "empty")])
    err = capsys.readouterr().err
    assert code != 0 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert not any("previous set" in m for m in registry_log.messages)
    # The first load is the caller's to report (Registry.open raises it); a later poll that
    # fails while nothing is served says so, truthfully.
    logging.getLogger("pipeline.registry").setLevel(logging.DEBUG)
    registry = Registry(LocalStore(tmp_path / "empty"))
    registry.refresh()
    registry.refresh()
    warnings = [m for m in registry_log.messages if m.startswith("WARNING")]
    assert warnings == ["WARNING catalog load failed; nothing served yet"]


def test_a_failed_refresh_over_a_loaded_set_says_it_keeps_it(store, tmp_path, registry_log) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    registry = Registry.open(str(copy))
    (copy / "models/openrouter/current.json").write_text("{not json")
    (copy / "models/openrouter/manifest.json").unlink()
    result = registry.refresh()
    assert result.error is not None and registry.loaded
    assert "WARNING catalog refresh failed; serving the previous set" in registry_log.messages


def test_a_port_in_use_exits_1_naming_it_not_the_lease_code(store, capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_FAILED != EXIT_LOCKED
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}: "), err
    assert "choose another --port" in err and len(err.splitlines()) == 1


def test_changes_limit_says_it_truncated(store, capsys) -> None:
    assert main(["changes", "--json", "--store", str(store)]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert everything["total"] == len(everything["data"]) > 3
    assert main(["changes", "--json", "--limit", "3", "--store", str(store)]) == 0
    limited = json.loads(capsys.readouterr().out)
    assert limited["total"] == everything["total"] and limited["data"] == everything["data"][-3:]
    assert main(["changes", "--table", "--limit", "3", "--store", str(store)]) == 0
    out, err = capsys.readouterr()
    assert len(out.strip().splitlines()) == 2 + 3  # headings, rule, three changes
    total = everything["total"]
    assert f"the newest 3 of {total} change(s) (--limit 3); without --limit for all" in err
    assert main(["changes", "--table", "--limit", str(total), "--store", str(store)]) == 0
    assert capsys.readouterr().err.strip().endswith(f"{total} change(s)")


def test_the_explorer_has_an_icon(store) -> None:
    with TestClient(create_app(Registry.open(str(store)), refresh_seconds=0)) as client:
        page = client.get("/").text
        assert '<link rel="icon" type="image/svg+xml" href="/explorer/static/favicon.svg">' in page
        for path in ("/explorer/static/favicon.svg", "/favicon.ico"):
            icon = client.get(path)
            assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
            assert icon.content.startswith(b"<svg")
