"""One exit-code table (README "Exit codes", docs/jobs.md), kept by every command (issue 28):
a view of a store where nothing is published yet exits 1 with one line saying so, like a run
that could publish nothing; a bad argument is a usage error, 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO, fixture_path

from pipeline.cli import main

# Every command that reads a published store, with the arguments it needs.
VIEWS = [
    ["status"],
    ["list"],
    ["show", "gpt-4o"],
    ["explain", "gpt-4o"],
    ["resolve", "gpt-4o"],
    ["cost", "gpt-4o", "--input", "10"],
    ["cost", "gpt-4o", "--input", "10", "--on", "2026-01-01"],
    ["history", "gpt-4o"],
    ["changes"],
    ["core"],
    ["export-registry"],
]


@pytest.mark.parametrize("argv", VIEWS, ids=" ".join)
def test_a_view_of_an_empty_store_exits_1_saying_nothing_is_published(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "empty"
    assert main([*argv, "--store", str(store)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("{")]  # JSON logs
    assert len(lines) == 1, err
    assert str(store) in lines[0] and "syncmodels all" in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--input", "-5"], "argument --input: '-5' is not a token count"),
        (["--input", "10", "--output", "-1"], "argument --output: '-1' is not a token count"),
        (["--input", "ten"], "argument --input: 'ten' is not a token count"),
        (["--input", "5", "--cached", "9"], "--cached 9 is more than --input 5"),
    ],
)
def test_bad_token_counts_are_usage_errors(
    argv: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s"
    payload = fixture_path("openrouter-models-2026-08-19.json")
    assert main(["sync", "openrouter", "--from-file", str(payload), "--store", str(store)]) == 0
    capsys.readouterr()
    try:
        code = main(["cost", "gpt-4o", *argv, "--store", str(store)])
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    assert code == 2
    assert needle in capsys.readouterr().err


def test_the_tables_say_what_the_code_does() -> None:
    from pipeline.cli import common

    tables = [(REPO / "README.md").read_text(), (REPO / "docs" / "jobs.md").read_text()]
    for text in tables:
        one = re.search(r"^\| 1 \|.*$", text, re.M)
        two = re.search(r"^\| 2 \|.*$", text, re.M)
        assert one is not None and "nothing is published yet" in one.group(0)
        assert two is not None and "cost --input -5" in two.group(0)
    # The module's own table: rows spread over lines.
    doc = " ".join((common.__doc__ or "").split())
    one = re.search(r" 1 (.*?) 2 ", doc)
    two = re.search(r" 2 (.*?) 3 ", doc)
    assert one is not None and "nothing is published yet" in one.group(1)
    assert two is not None and "cost --input -5" in two.group(1)
