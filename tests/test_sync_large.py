"""Issue 29, a sync at scale: what a run keeps alive between its stages.

The payload is parsed once: normalize packs every raw record for the laws
(``sync_payload.PackedRecords``), which must read exactly what parsing the snapshot again
gave them; the set the laws read is dropped when they are done; the history validates a
first run's events in batches. Speed and peak memory are measured by ``python -m bench
core``, never asserted here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import fixture_date, fixture_path

from pipeline.config import CatalogConfig
from pipeline.history import log as history_log
from pipeline.laws import RawRecords, check
from pipeline.publishing.schemas import SchemaViolation
from pipeline.publishing.store import LocalStore
from pipeline.records.history import HistoryEvent
from pipeline.runs import law_check
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.runs.sync_payload import PackedRecords, parse_records
from pipeline.runs.sync_state import SyncRun
from pipeline.sources import openrouter
from pipeline.sources.openrouter import iter_items

ALL = "openrouter-models-all-2026-08-19.json"


def _packed(raw: bytes) -> PackedRecords:
    run = SyncRun(request=SyncRequest(now=fixture_date(ALL)), progress=None)
    _, _, packed = parse_records(iter_items(raw), run)
    return packed


def _quirky_payload() -> bytes:
    """The real 'all' list with what a snapshot may hold besides good records: a duplicate
    id (the later one is the snapshot's record), an entry that is not an object, one without
    an id and one that fails validation."""
    items = json.loads(fixture_path(ALL).read_bytes())["data"]
    twin = {**items[3], "name": "the duplicate"}
    odd = ["not a model", {"name": "no id"}, {"id": "bad/pricing", "pricing": "free"}]
    return json.dumps({"data": [*items, twin, *odd]}).encode()


@pytest.mark.parametrize("form", ["parsed", "pickled", "streamed"])
def test_the_packed_records_are_what_the_laws_would_parse_from_the_snapshot(
    form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept as parsed (a payload of today's size, parsed in one piece), pickled (more than
    KEEP_PARSED records) or pickled as streamed (a payload too large to parse in one piece)."""
    if form == "pickled":
        monkeypatch.setattr(PackedRecords, "KEEP_PARSED", 100)
    if form == "streamed":
        monkeypatch.setattr(openrouter, "WHOLE_PARSE_BYTES", 0)
    raw = _quirky_payload()
    packed = _packed(raw)
    assert packed.keep_parsed is (form == "parsed")
    parsed = RawRecords(lambda key: None)
    parsed.preload("raw", raw)
    ids = {str(item.get("id")) for item in iter_items(raw) if isinstance(item, dict)}
    assert set(packed) == ids and len(packed) == len(ids)
    for model_id in sorted(ids):
        assert packed[model_id] == parsed.get("raw", "openrouter", model_id), model_id
    assert packed.get("bad/pricing") == {"id": "bad/pricing", "pricing": "free"}
    assert packed.get("not/listed") is None


def test_a_sync_holds_the_laws_against_the_records_it_read(tmp_path: Path) -> None:
    """The laws of a sync check each listed model's evidence against its record in the
    payload the run read: a record without the field its evidence cites is a violation."""
    store = LocalStore(tmp_path / "store")
    path = fixture_path(ALL)
    request = SyncRequest(now=fixture_date(ALL), from_file=path)
    result = sync_openrouter(store, CatalogConfig(), request)
    assert result.published and result.catalog is not None
    assert result.report.details["laws"]["violations"] == 0

    def violations(raw: bytes) -> list[tuple[str, str]]:
        published = law_check.openrouter_set(
            store, result.catalog, None, raw=None, reserved={}, raw_records=_packed(raw)
        )
        return [(v.law, v.model) for v in check(published, ["api-cites-raw"])]

    assert violations(path.read_bytes()) == []
    document = json.loads(path.read_bytes())
    record = next(i for i in document["data"] if i["id"] == "openai/gpt-4o")
    del record["architecture"]
    assert ("api-cites-raw", "openai/gpt-4o") in violations(json.dumps(document).encode())


def test_history_validates_every_event_of_a_large_first_run(tmp_path: Path) -> None:
    """Every event is validated as built: one bad event after two thousand good ones still
    stops the history (and only the history: a sync records it as a warning)."""
    store = LocalStore(tmp_path / "store")

    def event(n: int, kind: str = "added") -> HistoryEvent:
        return HistoryEvent.model_construct(
            at="2026-08-19T01:00:00Z", run_id="r", id=f"m/{n}", event=kind, changes={}
        )

    count = 2_005
    good = [event(n) for n in range(count)]
    data = history_log.append(
        store, good, run_id="r", generated_at="2026-08-19T01:00:00Z", index=None
    )
    assert data is not None and json.loads(data)["events"] == count
    bad = [*good[:-1], event(count, kind="renamed")]
    with pytest.raises(SchemaViolation):
        history_log.append(store, bad, run_id="r", generated_at="2026-08-19T01:00:00Z", index=None)
