"""Issue 19: the published history — what each sync appends, the questions it answers, and
its rebuild from recorded payloads. Built on the session replay of the real OpenRouter
snapshots (conftest.py), whose syncs append the history as every sync does."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import timedelta
from decimal import Decimal

import pytest
import simplejson
from conftest import Replay, fixture_date, fixture_path, openrouter_fixtures, read_json

from pipeline.cli import main
from pipeline.config import CatalogConfig
from pipeline.history import log as history_log
from pipeline.history.query import History, HistoryError, moment
from pipeline.publishing import jsonio, keys, schemas
from pipeline.publishing.store import LocalStore
from pipeline.registry import Registry
from pipeline.runs.jobs import run_job
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.sources.openrouter import extract_items
from pipeline.timeutil import iso

EXACTO = "z-ai/glm-4.6:exacto"


def _history(store: LocalStore) -> History:
    index = read_json(store, keys.HISTORY)
    return History.load(index, lambda key: (store.root / key).read_bytes())


def _prompt_prices(name: str) -> dict[str, Decimal]:
    """id → upstream prompt price per 1M, straight from a raw payload."""
    out = {}
    for item in extract_items(fixture_path(name).read_bytes()):
        prompt = (item.get("pricing") or {}).get("prompt")
        if prompt not in (None, "-1"):
            out[item["id"]] = Decimal(prompt) * 1_000_000
    return out


def test_history_is_a_committed_schema_valid_artifact(replay: Replay) -> None:
    manifest = read_json(replay.store, keys.MANIFEST)
    entry = manifest["artifacts"]["history"]
    index = read_json(replay.store, keys.HISTORY)
    blob = replay.store.get(entry["key"])
    assert blob is not None and hashlib.sha256(blob.data).hexdigest() == entry["sha256"]
    schemas.validate("history", json.loads(blob.data))
    assert index["events"] == sum(s["events"] for s in index["segments"]) > 0
    for ref in index["segments"]:
        data = (replay.store.root / ref["key"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == ref["sha256"]
        schemas.validate("history-segment", json.loads(data))
    assert "pricing.*" in index["fields"] and "state" in index["fields"]


def test_every_listed_model_has_a_history_matching_current(replay: Replay) -> None:
    history = _history(replay.store)
    last = replay.steps[-1]
    for model in last.current["models"]:
        values = history.values_at(model["id"], iso(last.now))
        assert values is not None, model["id"]
        assert values["state"] == model["lifecycle"]["state"], model["id"]
        assert values["alias"] == model["alias"], model["id"]
        assert values.get("maxContext") == model.get("maxContext"), model["id"]
        input_price = model["pricing"].get("input")
        recorded = values.get("pricing.input")
        assert (None if recorded is None else Decimal(str(recorded))) == input_price, model["id"]


def test_exacto_timeline_appears_goes_stale_deprecated_removed_with_redirect(
    replay: Replay,
) -> None:
    timeline = _history(replay.store).timeline(EXACTO)
    kinds = [e["event"] for e in timeline]
    assert kinds[0] == "added" and kinds[-1] == "removed"
    states = [e["changes"]["state"][1] for e in timeline if "state" in e["changes"]]
    assert states == ["active", "stale", "deprecated", "removed"]
    stale = next(e for e in timeline if e["changes"].get("state", [None, None])[1] == "stale")
    assert stale["at"] == iso(replay.at("2026-03-11").now)
    assert stale["changes"]["redirectTo"] == [None, "z-ai/glm-4.6"]
    assert stale["changes"]["redirectReason"] == [None, "variant"]
    removed = timeline[-1]
    assert removed["at"] == iso(replay.at("2026-05-01").now)
    assert removed["runId"] == replay.at("2026-05-01").result.run_id
    # Every event names the run that observed it, in time order.
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)


def test_price_at_before_between_and_after_a_change(replay: Replay) -> None:
    names = [s.name for s in replay.steps]
    # The first pair of snapshots at least two days apart where some model's input price
    # changed (found from the raw payloads, not hard-coded).
    for a, b in itertools.pairwise(names):
        if fixture_date(b) - fixture_date(a) < timedelta(days=2):
            continue
        before, after = _prompt_prices(a), _prompt_prices(b)
        changed = sorted(i for i in before.keys() & after.keys() if before[i] != after[i])
        if changed:
            model_id = changed[0]
            break
    else:
        pytest.fail("no price change between the recorded snapshots")
    history = _history(replay.store)
    t_a, t_b = fixture_date(a), fixture_date(b)
    on_a = history.price_at(model_id, t_a.date().isoformat())
    between = history.price_at(model_id, (t_a + timedelta(days=1)).date().isoformat())
    on_b = history.price_at(model_id, t_b.date().isoformat())
    assert on_a is not None and between is not None and on_b is not None
    assert Decimal(str(on_a.prices["input"])) == before[model_id]
    assert Decimal(str(between.prices["input"])) == before[model_id]
    assert between.until == iso(t_b)  # the span the old price held ends at the change
    assert Decimal(str(on_b.prices["input"])) == after[model_id]
    assert on_b.since == iso(t_b)
    # Before the model's first observation there is no price.
    first = history.timeline(model_id)[0]["at"]
    assert history.price_at(model_id, "2020-01-01") is None and first > "2020"


def test_changes_since_lists_the_reka_rename(replay: Replay, capsys) -> None:
    step = replay.at("2026-04-02")
    history = _history(replay.store)
    events, total = history.changes("2026-04-02")
    rename = next(e for e in events if e["id"] == "reka/reka-edge" and "redirectTo" in e["changes"])
    assert rename["changes"]["redirectTo"] == [None, "rekaai/reka-edge"]
    assert rename["changes"]["redirectReason"] == [None, "rename"]
    assert rename["at"] == iso(step.now)
    assert all(e["at"] >= "2026-04-02T00:00:00Z" for e in events) and total == len(events)
    # Since a run id: exactly what later runs observed.
    after_run, _ = history.changes(step.result.run_id)
    assert after_run and all(e["at"] > iso(step.now) for e in after_run)
    code = main(["changes", "--since", "2026-04-02", "--store", str(replay.store.root), "--table"])
    out = capsys.readouterr().out
    assert code == 0
    assert "reka/reka-edge" in out and "redirectTo: — → rekaai/reka-edge" in out


def test_registry_and_cli_answer_price_on_a_date(replay: Replay, capsys) -> None:
    registry = Registry.open(replay.store)
    price = registry.price_at("gpt-4o", "2026-06-01")  # an alias resolves
    assert price is not None and price.model_id == "openai/gpt-4o"
    assert price.prices["input"] == 2.5 and price.prices["output"] == 10
    code = main(
        [
            "cost",
            "openai/gpt-4o",
            "--input",
            "1000000",
            "--output",
            "0",
            "--on",
            "2026-06-01",
            "--store",
            str(replay.store.root),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["usd"] == 2.5
    assert "observed" in captured.err
    assert (
        main(
            [
                "cost",
                "openai/gpt-4o",
                "--input",
                "1",
                "--output",
                "1",
                "--on",
                "2019-01-01",
                "--store",
                str(replay.store.root),
            ]
        )
        == 1
    )
    # Before the history: it says so, and claims nothing about the model (issue 28).
    start = replay.steps[0].now.strftime("%Y-%m-%dT%H:%M:%SZ")
    err = capsys.readouterr().err
    assert f"no history recorded before {start} (the history starts then)" in err
    assert "was not in the catalog" not in err
    history = registry.history()
    # A model first observed after the history began: the history starts for it then.
    later = next(m for m, at in history.by_model.items() if history.events[at[0]]["at"] > start)
    first = history.timeline(later)[0]["at"]
    assert history.price_at(later, start) is None
    assert history.no_price(later, start) == (
        f"no history recorded for {later} before {first} (first observed then)"
    )
    # After its removal: the removal, dated.
    removed = next(e["at"] for e in history.timeline(EXACTO) if e["event"] == "removed")
    assert registry.price_at(EXACTO, "2026-08-19") is None
    assert history.no_price(EXACTO, "2026-08-19") == (
        f"{EXACTO} was removed from the catalog on {removed} (per its history)"
    )
    with pytest.raises(HistoryError):
        registry.price_at("openai/gpt-4o", "last tuesday")


def test_history_cli_prints_a_removed_models_timeline(replay: Replay, capsys) -> None:
    assert main(["history", EXACTO, "--store", str(replay.store.root), "--table"]) == 0
    out = capsys.readouterr().out
    assert "removed" in out and "state: deprecated → removed" in out
    assert main(["history", "no/such-model", "--store", str(replay.store.root)]) == 4
    assert "no model 'no/such-model'" in capsys.readouterr().err


def test_segments_stay_bounded_and_queries_span_them(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(history_log, "SEGMENT_EVENTS", 120)
    store = LocalStore(tmp_path / "store")
    names = [n for n in openrouter_fixtures() if "2026-01-1" in n][:3]
    for name in names:
        result = sync_openrouter(
            store,
            CatalogConfig(),
            SyncRequest(now=fixture_date(name), from_file=fixture_path(name)),
        )
        assert result.published
    index = read_json(store, keys.HISTORY)
    assert len(index["segments"]) > 2
    assert all(s["events"] <= 120 for s in index["segments"])
    assert [s["seq"] for s in index["segments"]] == list(range(len(index["segments"])))
    history = _history(store)
    assert len(history.events) == index["events"]
    ids = {m["id"] for m in read_json(store, keys.CURRENT)["models"]}
    assert ids <= set(history.by_model)
    # Rewritten segments are left for the sweep to prune; it keeps exactly the referenced ones.
    referenced = {s["key"] for s in index["segments"]}
    assert set(store.list(keys.HISTORY_SEGMENTS)) > referenced
    history_log.prune(store)
    assert set(store.list(keys.HISTORY_SEGMENTS)) == referenced


def test_history_starts_with_a_baseline_on_a_store_without_one(tmp_path) -> None:
    store = LocalStore(tmp_path / "store")
    first, second = (
        "openrouter-models-2026-01-15T1728Z.json",
        "openrouter-models-2026-01-15T1831Z.json",
    )
    sync_openrouter(
        store, CatalogConfig(), SyncRequest(now=fixture_date(first), from_file=fixture_path(first))
    )
    # Simulate a store published before history existed.
    manifest = read_json(store, keys.MANIFEST)
    manifest["artifacts"].pop("history")
    store.put(keys.MANIFEST, json.dumps(manifest).encode())
    store.delete(keys.HISTORY)
    sync_openrouter(
        store,
        CatalogConfig(),
        SyncRequest(now=fixture_date(second), from_file=fixture_path(second)),
    )
    history = _history(store)
    tracked = [e for e in history.events if e["event"] == "tracked"]
    assert len(tracked) == len(extract_items(fixture_path(first).read_bytes()))
    assert {e["at"] for e in tracked} == {iso(fixture_date(first))}


def test_a_broken_history_never_blocks_the_catalog(tmp_path) -> None:
    store = LocalStore(tmp_path / "store")
    first, second = "openrouter-models-2026-04-01.json", "openrouter-models-2026-04-02.json"
    sync_openrouter(
        store, CatalogConfig(), SyncRequest(now=fixture_date(first), from_file=fixture_path(first))
    )
    index = read_json(store, keys.HISTORY)
    (store.root / index["segments"][-1]["key"]).write_bytes(b"{truncated")
    result = sync_openrouter(
        store,
        CatalogConfig(),
        SyncRequest(now=fixture_date(second), from_file=fixture_path(second)),
    )
    assert result.published and result.outcome == "ok"
    assert any("history.json not updated" in w for w in result.report.warnings)
    assert read_json(store, keys.HISTORY) == index  # the committed history is untouched


def test_sweep_appends_lifecycle_moves(tmp_path) -> None:
    store = LocalStore(tmp_path / "store")
    before, after = (
        "openrouter-models-2026-01-14T1827Z.json",
        "openrouter-models-2026-01-14T2118Z.json",
    )
    for name in (before, after):
        sync_openrouter(
            store,
            CatalogConfig(),
            SyncRequest(now=fixture_date(name), from_file=fixture_path(name)),
        )
    stale = {
        m["id"]
        for m in read_json(store, keys.CURRENT)["models"]
        if m["lifecycle"]["state"] == "stale"
    }
    assert stale
    later = fixture_date(after) + timedelta(days=15)
    result = run_job("deprecation_sweep", store, CatalogConfig(), now=later)
    assert result.outcome == "ok", result.error
    history = _history(store)
    for model_id in stale:
        last = history.timeline(model_id)[-1]
        assert last["changes"]["state"] == ["stale", "deprecated"], model_id
        assert last["at"] == iso(later)


def test_rebuild_from_a_folder_is_deterministic_and_replaces_the_history(tmp_path, capsys) -> None:
    folder = tmp_path / "payloads"
    folder.mkdir()
    for name in ("openrouter-models-2026-04-01.json", "openrouter-models-2026-04-02.json"):
        (folder / name).write_bytes(fixture_path(name).read_bytes())
    outputs = []
    for attempt in range(2):
        store = LocalStore(tmp_path / f"store{attempt}")
        sync_openrouter(
            store,
            CatalogConfig(),
            SyncRequest(
                now=fixture_date("openrouter-models-2026-04-06.json"),
                from_file=fixture_path("openrouter-models-2026-04-06.json"),
            ),
        )
        code = main(
            [
                "history",
                "rebuild",
                "--from-dir",
                str(folder),
                "--store",
                str(store.root),
                "--now",
                "2026-04-06T02:00:00Z",
            ]
        )
        out = capsys.readouterr().out
        assert code == 0 and "rebuilt from 2 payload(s)" in out
        index = read_json(store, keys.HISTORY)
        outputs.append([(store.root / s["key"]).read_bytes() for s in index["segments"]])
        history = _history(store)
        assert history.timeline("reka/reka-edge")[-1]["changes"]["redirectTo"] == [
            None,
            "rekaai/reka-edge",
        ]
        assert {e["at"][:10] for e in history.events} == {"2026-04-01", "2026-04-02"}
        status = read_json(store, keys.STATUS)
        assert status["jobs"]["history"]["outcome"] == "ok"
    assert outputs[0] == outputs[1]


def test_rebuild_from_the_stores_raw_snapshots(tmp_path, capsys) -> None:
    store = LocalStore(tmp_path / "store")
    names = ("openrouter-models-2026-01-15T1630Z.json", "openrouter-models-2026-01-15T1728Z.json")
    for name in names:
        sync_openrouter(
            store,
            CatalogConfig(),
            SyncRequest(now=fixture_date(name), from_file=fixture_path(name)),
        )
    live = _history(store)
    assert main(["history", "rebuild", "--store", str(store.root)]) == 0
    rebuilt = _history(store)
    # Raw snapshots are named by the hour, so times are the hour of each capture.
    assert len(rebuilt.events) == len(live.events)
    assert {e["id"] for e in rebuilt.events} == {e["id"] for e in live.events}


def test_rebuild_refuses_unnamed_payloads_and_empty_folders(tmp_path, capsys) -> None:
    store = LocalStore(tmp_path / "store")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["history", "rebuild", "--from-dir", str(empty), "--store", str(store.root)]) == 1
    assert "no openrouter*.json" in capsys.readouterr().err
    (empty / "openrouter-latest.json").write_text("[]")
    assert main(["history", "rebuild", "--from-dir", str(empty), "--store", str(store.root)]) == 1
    assert "no date in the file name" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2026-03-01", True, "2026-03-01T23:59:59Z"),
        ("2026-03-01", False, "2026-03-01T00:00:00Z"),
        ("2026-03-01T06:00Z", True, "2026-03-01T06:00:00Z"),
        ("2026-03-01T06:00:00+00:00", False, "2026-03-01T06:00:00Z"),
    ],
)
def test_moments(text: str, end: bool, expected: str) -> None:
    assert moment(text, end_of_day=end) == expected


def test_bad_moments_are_refused() -> None:
    for bad in ("yesterday", "2026-13", "2026-03-01T06:00:00+02:00"):
        with pytest.raises(HistoryError):
            moment(bad, end_of_day=True)


def test_rebuild_from_all_recorded_snapshots(tmp_path, capsys) -> None:
    """The acceptance run: `catalog history rebuild --from-dir` over every recorded OpenRouter
    snapshot (2024-02-18 → 2026-08-19, the `all` capture included) in time order."""
    fixtures = fixture_path("openrouter-models-2026-08-19.json").parent
    store = LocalStore(tmp_path / "store")
    latest = "openrouter-models-all-2026-08-19.json"
    sync_openrouter(
        store,
        CatalogConfig(),
        SyncRequest(now=fixture_date(latest), from_file=fixture_path(latest)),
    )
    code = main(
        [
            "history",
            "rebuild",
            "--from-dir",
            str(fixtures),
            "--store",
            str(store.root),
            "--now",
            "2026-08-19T02:00:00Z",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"rebuilt from {len(openrouter_fixtures())} payload(s)" in captured.out
    history = _history(store)
    exacto = history.timeline(EXACTO)
    states = [e["changes"]["state"][1] for e in exacto if "state" in e["changes"]]
    assert states == ["active", "stale", "deprecated", "removed"]
    assert any(e["changes"].get("redirectTo") == [None, "z-ai/glm-4.6"] for e in exacto)
    renamed, _ = history.changes("2026-04-02", ids=["reka/reka-edge"])
    assert any(e["changes"].get("redirectReason") == [None, "rename"] for e in renamed)
    # The 2024 capture is the start of the history.
    assert history.events[0]["at"] == iso(fixture_date("openrouter-models-2024-02-18.json"))
    registry = Registry.open(store)
    assert registry.timeline(EXACTO) == exacto


@pytest.mark.parametrize(
    "changes",
    [
        {"name": [None, "Qwen3 Coder"], "pricing.input": [Decimal("1.25"), Decimal("0.000002")]},
        {"name": ["GLM 4.6 (exacto)", "GLM 4.6 – exacto"]},  # non-ASCII: escaped
        {"name": [None, 'tab\there, quote " and DEL \x7f, \\ and \x01']},
        {"defaultParameters": [None, {"temperature": 0.7, "top_p": 0.95, "top_k": 40}]},
        {"defaultParameters": [{"temperature": 1e-05}, {"temperature": 1e16}]},  # exponents
        {"defaultParameters": [{"min_p": 0.0001}, {"min_p": -0.0}]},
        {"maxContext": [2**70, 10**6], "pricing.tiers": [None, [{"minPromptTokens": 200000}]]},
        {"pricing.perUnit": [None, Decimal("6E-7")], "isFree": [True, False], "unit": [None, None]},
    ],
)
def test_event_lines_are_the_compact_ascii_encoders_bytes(changes: dict[str, list]) -> None:
    """An event line is written by orjson where it gives simplejson's compact ASCII bytes
    (issue 29) and by simplejson otherwise: either way the bytes are simplejson's."""
    event = {"at": "2026-08-19T00:00:00Z", "runId": "r", "id": "a/b", "event": "changed"}
    document = {**event, "changes": changes}
    expected = simplejson.dumps(
        document, use_decimal=True, separators=(",", ":"), ensure_ascii=True
    )
    assert jsonio.dumps_compact(document) == expected.encode()


def test_an_event_with_a_value_json_cannot_hold_is_refused_as_before() -> None:
    document = {"at": "x", "runId": "r", "id": "a/b", "event": "changed", "changes": {}}
    document["changes"]["defaultParameters"] = [None, {"temperature": float("nan")}]
    with pytest.raises(ValueError, match="not JSON compliant"):
        jsonio.dumps_compact(document)
