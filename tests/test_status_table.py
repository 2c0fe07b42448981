"""`catalog status` reads right (issue 28): no row contradicts itself, the header says what its
time is, a pinned list is never called fresh, and the sync's summary names the tiers as the
status table does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import fixture_path

from pipeline.cli import main

PAYLOAD = "openrouter-models-2026-08-19.json"


def _row(table: str, first: str) -> list[str]:
    """The cells of the table row that starts with ``first`` (columns are 2+ spaces apart)."""
    line = next(line for line in table.splitlines() if line.split()[:1] == [first])
    return re.split(r"\s{2,}", line.strip())


def test_status_rows_agree_with_themselves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "data")
    sync = ["sync", "all", "--from-file", str(fixture_path(PAYLOAD)), "--store", store, "-q"]
    assert main([*sync, "--now", "2026-08-19T06:00:00Z"]) == 0
    first = capsys.readouterr().out
    assert main([*sync, "--now", "2026-08-19T07:00:00Z"]) == 0
    second = capsys.readouterr().out
    # The three pinned lists are "pinned" in the summary, read now or from the store's copy,
    # as the status table calls them; never "api".
    for summary in (first, second):
        assert "providers: 19 sources (3 pinned, 16 skipped)" in summary, summary

    assert main(["status", "--store", store, "--now", "2026-08-19T08:00:00Z"]) == 0
    table = capsys.readouterr().out
    # The header's time is the start of the last run (status.json is stamped with it).
    assert table.splitlines()[0] == f"store {store}, last run started 2026-08-19T07:00:00Z (1h ago)"
    assert "status written" not in table
    # curated.json was published by the last sync: that curation is the last curated run and
    # the last success, at the same time (not "last run never").
    curated = _row(table, "curated")
    assert curated[1:5] == ["ok", "1h ago", "1h ago", "1h old"], curated
    assert "published by an OpenRouter sync" in curated[-1]
    assert "not run yet" in curated[-1]
    # A pinned list read from the store's copy: dated by its review, and never "fresh".
    xai = _row(table, "xai")
    assert xai[1:3] == ["pinned (reviewed 2026-06-13)", "67d old"], xai
    assert xai[-1] == (
        "read from its manifest 2026-08-19T06:00:00Z; read again after 2026-08-20T06:00:00Z"
    )
    assert "cache fresh" not in table

    # Once the curated job runs, its own run is the row, and still agrees with itself.
    curate = ["sync", "curated", "--store", store, "-q", "--now", "2026-08-19T09:00:00Z"]
    assert main(curate) == 0
    capsys.readouterr()
    assert main(["status", "--store", store, "--now", "2026-08-19T10:00:00Z"]) == 0
    table = capsys.readouterr().out
    curated = _row(table, "curated")
    assert curated[1:4] == ["ok", "1h ago", "1h ago"], curated
    assert "published by an OpenRouter sync" not in " ".join(curated)
    for row in (_row(table, job) for job in ("curated", "full_refresh")):
        assert "never" not in row[2:4], row
