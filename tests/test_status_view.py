"""status.json as `catalog status` reads it (pipeline.runs.status_view, issue 29): a document
as the jobs write it is read without the record, anything else through the record, and both
readings give the same values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
from conftest import fixture_path

from pipeline.cli import main
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.records.base import Outcome
from pipeline.records.runs import JobStatus, Status
from pipeline.runs import status_view


def _aliases(model: Any) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def test_the_plain_reading_knows_the_records_fields_and_outcomes() -> None:
    assert set(get_args(Outcome)) == status_view.OUTCOMES
    assert _aliases(JobStatus) == status_view.JOB_KEYS
    assert _aliases(Status) == status_view.STATUS_KEYS


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """status.json as a full refresh and a providers run write it."""
    store = tmp_path_factory.mktemp("status") / "data"
    payload = fixture_path("openrouter-models-2026-08-19.json")
    sync = ["sync", "all", "--from-file", str(payload), "--store", str(store), "-q"]
    assert main([*sync, "--now", "2026-08-19T06:00:00Z"]) == 0
    blob = LocalStore(Path(store)).get(keys.STATUS)
    assert blob is not None
    return blob.data


def test_a_written_status_reads_as_the_record_reads_it(written: bytes) -> None:
    plain = status_view.read_status(written)
    assert plain is not None
    assert plain == status_view._through_the_record(written)
    assert set(plain.jobs) >= {"full_refresh", "providers"}


@pytest.mark.parametrize(
    ("change", "readable"),
    [
        (lambda d: d["jobs"]["full_refresh"]["counts"].update(published="549"), True),
        (lambda d: d["jobs"]["full_refresh"].update(outcome="exploded"), False),
        (lambda d: d["jobs"]["full_refresh"].update(surprise=1), False),
        (lambda d: d["jobs"]["full_refresh"].pop("runId"), False),
        (lambda d: d.pop("generatedAt"), False),
        (lambda d: d.update(jobs=[]), False),
    ],
)
def test_any_other_document_is_the_records_to_judge(
    written: bytes, change: Any, readable: bool
) -> None:
    document = json.loads(written)
    change(document)
    data = json.dumps(document).encode()
    read = status_view.read_status(data)
    assert (read is not None) == readable
    assert read == status_view._through_the_record(data)


def test_unreadable_bytes_are_unreadable() -> None:
    assert status_view.read_status(b"{not json") is None
    assert status_view.read_status(b"[]") is None
