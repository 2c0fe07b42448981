"""The catalog's laws (issue 26, pipeline/laws): they hold on a replay of every recorded
snapshot and on every recorded provider list, every sync records them, and `catalog check`
names the law a store edited to break it breaks (exit 1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, Replay, fixture_date, fixture_path, read_json
from published_lists import LISTS_2026_08_17, publish_lists
from storewrap import rewrite_artifact

from pipeline.cli import main
from pipeline.config import CatalogConfig
from pipeline.laws import LAWS
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.timeutil import parse_iso

# Every recorded provider payload, grouped with the OpenRouter snapshot it is enriched from.
RECORDED_LISTS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "openrouter-models-2025-10-01.json": (
        "2025-10-01T01:00:00Z",
        {
            "anthropic": ("anthropic", "provider-anthropic-models-2025-08-30.json"),
            "cerebras": ("cerebras", "provider-cerebras-models-2025-08-30.json"),
            "cohere": ("cohere", "provider-cohere-models-2025-08-30.json"),
            "gemini": ("gemini", "provider-gemini-models-2025-08-30.json"),
            "groq": ("groq", "provider-groq-models-2025-08-30.json"),
            "mistral": ("mistral", "provider-mistral-models-2025-08-30.json"),
            "openai": ("openai", "provider-openai-models-2025-08-30.json"),
            "together": ("together", "provider-together-models-2025-08-30.json"),
            "ollama": ("ollama", "provider-ollama-api-tags-2025-07-20.json"),
            "deepseek": ("deepseek", "provider-deepseek-models-2025-12-14.json"),
        },
    ),
    "openrouter-models-2026-02-27.json": (
        "2026-02-27T01:00:00Z",
        {"dashscope": ("dashscope", "provider-dashscope-intl-models-2026-02-27.json")},
    ),
    "openrouter-models-2026-08-17.json": (
        "2026-08-17T12:00:00Z",
        {
            **LISTS_2026_08_17,
            "llamacpp": ("openai-compatible", "provider-llamacpp-v1-models-2026-08-16.json"),
            "xiaomi": ("openai-compatible", "provider-xiaomi-models-2026-08-17.json"),
        },
    ),
}


def test_every_recorded_provider_payload_is_covered() -> None:
    recorded = {p.name for p in FIXTURES.glob("provider-*.json")}
    covered = {fixture for _now, lists in RECORDED_LISTS.values() for _t, fixture in lists.values()}
    assert recorded and recorded == covered


def _laws(report: Any) -> dict[str, Any]:
    laws: dict[str, Any] = report.details["laws"]
    assert laws["checked"] == list(LAWS)
    return laws


def test_every_replayed_openrouter_snapshot_holds_every_law(
    replay: Replay, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each run of the replay (every snapshot from 2025-10-01 on, one store, in date order)
    checked the laws over what it published and found nothing; so does `catalog check` on
    the store the replay leaves. The two snapshots the replay leaves out (2024's and the
    2026-08-19 "all" listing) are synced on their own."""
    for step in replay.steps:
        laws = _laws(step.result.report)
        assert laws["violations"] == 0, (step.name, laws["list"][:5])
        assert step.result.report.counts["lawViolations"] == 0
    for name in ("openrouter-models-2024-02-18.json", "openrouter-models-all-2026-08-19.json"):
        store = LocalStore(tmp_path / name)
        request = SyncRequest(now=fixture_date(name), from_file=fixture_path(name))
        result = sync_openrouter(store, CatalogConfig(), request)
        assert result.published and _laws(result.report)["violations"] == 0, name
    capsys.readouterr()
    assert main(["check", "--store", str(replay.store.root)]) == 0
    out = capsys.readouterr().out
    assert f"all {len(LAWS)} laws hold" in out
    assert all(f"{name:<30}holds" in out for name in LAWS)


def test_every_recorded_provider_list_holds_every_law(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for catalog, (now, lists) in RECORDED_LISTS.items():
        store = LocalStore(tmp_path / catalog)
        result = publish_lists(store, catalog, lists, parse_iso(now))
        laws = _laws(result.report)
        # Each source's own list and the provider's merged list (issue 30) are checked.
        assert (laws["violations"], laws["lists"]) == (0, 2 * len(lists)), laws["list"][:5]
        status = read_json(store, keys.STATUS)["jobs"]["providers"]
        assert status["counts"]["lawViolations"] == 0
        capsys.readouterr()
        assert main(["check", "--store", str(store.root), "--json"]) == 0, capsys.readouterr()
        document = json.loads(capsys.readouterr().out)
        assert document["holds"] is True and document["violations"] == []
        assert document["lists"] == ["openrouter", *sorted(lists)]


# -- a store edited to break one law: `catalog check` exits 1 and names it ----------------------


def _models(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in document["models"]}


def _same_alias(current: dict[str, Any]) -> None:
    models = _models(current)
    models["openai/gpt-4o-mini"]["alias"] = models["openai/gpt-4o"]["alias"]


def _batch_takes_the_name(current: dict[str, Any]) -> None:
    # What the release before issue 26 published.
    models = _models(current)
    models["anthropic/claude-haiku-4.5"]["alias"] = "haiku"
    models["anthropic/claude-haiku-4.5:batch"]["alias"] = "claude-haiku-4.5"


def _zero_but_paid(current: dict[str, Any]) -> None:
    _models(current)["alibaba/happyhorse-1.0"]["pricing"] = {"input": 0, "output": 0}


def _speech_per_million(current: dict[str, Any]) -> None:
    pricing = _models(current)["openai/whisper-1"]["pricing"]
    pricing["input"] = pricing.pop("perUnit") * 10**6
    pricing.pop("unit")


def _cites_a_missing_field(current: dict[str, Any]) -> None:
    model = _models(current)["openai/gpt-4o"]
    model["evidence"]["supportsVision"] = "architecture.vision_input ['image', 'text']"


def _redirect_to_nowhere(deprecations: dict[str, Any]) -> None:
    deprecations["redirects"].append(
        {"from": "openai/gpt-4o", "to": "openai/gpt-4o-retired", "reason": "override", "since": "x"}
    )


BREAKS: dict[str, tuple[str, str, Callable[[dict[str, Any]], None], str]] = {
    # law: (artifact, the model named, the edit, a word of the values shown)
    "alias-unique": ("current", "gpt-4o", _same_alias, "openai/gpt-4o-mini"),
    "natural-alias": ("current", "anthropic/claude-haiku-4.5:batch", _batch_takes_the_name, "base"),
    "tagged-sibling": (
        "current",
        "anthropic/claude-haiku-4.5:batch",
        _batch_takes_the_name,
        "tagged",
    ),
    "zero-means-free": ("current", "alibaba/happyhorse-1.0", _zero_but_paid, "isFree false"),
    "unit-stated": ("current", "openai/whisper-1", _speech_per_million, "per 1M input"),
    "api-cites-raw": ("current", "openai/gpt-4o", _cites_a_missing_field, "vision_input"),
    "nothing-resolves-to-removed": (
        "deprecations",
        "openai/gpt-4o",
        _redirect_to_nowhere,
        "openai/gpt-4o-retired",
    ),
}


@pytest.fixture(scope="module")
def lawful(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the 2026-08-19 "all" payload, synced by `catalog sync`: every law holds."""
    store = tmp_path_factory.mktemp("lawful") / "store"
    name = "openrouter-models-all-2026-08-19.json"
    args = ["sync", "openrouter", "--store", str(store), "--from-file", str(fixture_path(name))]
    assert main([*args, "--now", "2026-08-19T06:00:00Z", "-q"]) == 0
    assert main(["check", "--store", str(store)]) == 0
    return store


@pytest.mark.parametrize("law", list(BREAKS))
def test_catalog_check_names_the_law_an_edited_store_breaks(
    law: str, lawful: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    artifact, model, edit, shown = BREAKS[law]
    store = tmp_path / "store"
    shutil.copytree(lawful, store)
    rewrite_artifact(LocalStore(store), artifact, edit)
    capsys.readouterr()
    assert main(["check", "--store", str(store)]) == 1
    captured = capsys.readouterr()
    assert f"{law:<30}VIOLATED" in captured.out
    section = captured.out.split(f"{law:<30}VIOLATED", 1)[1].split("\n")
    lines = [x for x in section[1:] if x.startswith("  ")]
    line = next(x for x in lines if x.startswith(f"  openrouter:{model}:"))
    assert shown in line, line
    assert "violation(s)" in captured.err and law in captured.err
    assert main(["check", "--store", str(store), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["holds"] is False
    assert {v["law"] for v in document["violations"]} >= {law}


def test_a_provider_list_without_provenance_breaks_its_law(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog, (now, lists) = (
        "openrouter-models-2026-08-17.json",
        RECORDED_LISTS["openrouter-models-2026-08-17.json"],
    )
    store = LocalStore(tmp_path / "store")
    publish_lists(store, catalog, {"baseten": lists["baseten"]}, parse_iso(now))
    key = keys.provider_current("baseten")
    document = read_json(store, key)
    del document["provenance"]["openai/gpt-oss-120b"]["pricing"]
    store.put(key, json.dumps(document, default=str).encode())
    capsys.readouterr()
    assert main(["check", "--store", str(store.root)]) == 1
    out = capsys.readouterr().out
    assert "provider-provenance           VIOLATED (1)" in out
    assert "baseten:openai/gpt-oss-120b: pricing has no provenance (value present)" in out


def test_every_law_has_its_docstring_and_check_explains_them(
    lawful: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set(BREAKS) | {"provider-provenance"} == set(LAWS)
    for name, law in LAWS.items():
        assert law.__doc__ and len(law.__doc__.split()) > 12, name
    capsys.readouterr()
    assert main(["check", "--store", str(lawful), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document["laws"]) == list(LAWS)
    assert document["laws"]["zero-means-free"].startswith("A token price of 0 means free")


def test_an_empty_store_has_nothing_to_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["check", "--store", str(tmp_path / "empty")]) == 1
    assert "nothing published" in capsys.readouterr().err


def test_a_sync_records_what_breaks_a_law_in_its_report_and_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record another writer left in the store (reka/reka-edge, whose vanishing on
    2026-04-02 keeps it carried as it was) is priced $0/$0 without being free: the next sync
    publishes all the same and says so in its report, in status.json and `catalog status`."""
    store = LocalStore(tmp_path / "store")

    def sync(name: str) -> Any:
        request = SyncRequest(now=fixture_date(name), from_file=fixture_path(name))
        result = sync_openrouter(store, CatalogConfig(), request)
        assert result.published, result.error
        return result

    sync("openrouter-models-2026-04-01.json")

    def edit(current: dict[str, Any]) -> None:
        _models(current)["reka/reka-edge"]["pricing"] = {"input": 0, "output": 0}

    rewrite_artifact(store, "current", edit)
    result = sync("openrouter-models-2026-04-02.json")
    laws = result.report.details["laws"]
    assert (laws["violations"], laws["byLaw"]) == (1, {"zero-means-free": 1})
    (violation,) = laws["list"]
    assert violation["model"] == "reka/reka-edge"
    assert "input 0, output 0 with isFree false" in violation["detail"]
    assert any(
        w.startswith("laws: 1 violation(s) (zero-means-free ×1)") for w in result.report.warnings
    )
    assert read_json(store, keys.STATUS)["jobs"]["openrouter"]["counts"]["lawViolations"] == 1
    capsys.readouterr()
    assert main(["status", "--store", str(store.root), "--now", "2026-04-02T02:00:00Z"]) == 0
    assert "1 law violation(s): run `catalog check`" in capsys.readouterr().out


def test_carried_records_of_an_earlier_release_get_evidence_in_the_cited_form(
    tmp_path: Path,
) -> None:
    """A store written before issue 26 has evidence such as "input modalities ['text']". A
    listed model's is decided again by the next sync; a carried one's (reka/reka-edge, gone
    from the 2026-04-02 feed) is brought to the cited form from the raw record it was last
    seen in, with the same values, so the laws hold."""
    store = LocalStore(tmp_path / "store")
    old_form = {"isFree": "priced: input, output > 0", "supportsVision": "input modalities"}

    def edit(current: dict[str, Any]) -> None:
        _models(current)["reka/reka-edge"]["evidence"].update(old_form)

    for name in ("openrouter-models-2026-04-01.json", "openrouter-models-2026-04-02.json"):
        if name.endswith("04-02.json"):
            rewrite_artifact(store, "current", edit)
        request = SyncRequest(now=fixture_date(name), from_file=fixture_path(name))
        result = sync_openrouter(store, CatalogConfig(), request)
        laws = result.report.details["laws"]
        assert result.published and laws["violations"] == 0, laws["list"]
    model = _models(read_json(store, keys.CURRENT))["reka/reka-edge"]
    assert model["lifecycle"]["state"] == "stale"
    assert model["evidence"]["isFree"] == "pricing: input, output > 0"
    assert model["evidence"]["supportsVision"].startswith("architecture.input_modalities [")


def test_catalog_raw_keys_read_only_the_head_of_each_catalog(tmp_path, caplog):
    """A catalog's ``rawKey`` is read from the head of its ``current.json`` (it precedes the
    entries): a file whose tail is cut still names it; a file that is not an object names
    none; one unreadable from the start is logged and skipped."""
    from pipeline.laws.published import catalog_raw_keys

    store = LocalStore(tmp_path / "store")
    head = {"schemaVersion": 1, "source": "modelsdev", "rawKey": "models/catalogs/m/raw.json"}
    whole = json.dumps({**head, "entries": [{"key": "a/b"}] * 3}).encode()
    store.put(keys.catalog_current("modelsdev"), whole[: len(whole) // 2 + 40])
    store.put(keys.catalog_current("litellm"), b'["rawKey", "models/catalogs/l/raw.json"]')
    store.put(keys.catalog_current("genai-prices"), b"\x00 not json")
    with caplog.at_level("WARNING"):
        assert catalog_raw_keys(store) == {"modelsdev": "models/catalogs/m/raw.json"}
    assert any(r.message == "catalog unreadable" for r in caplog.records)


def test_names_the_law_does_not_resolve_lead_straight_to_a_current_model(replay: Replay) -> None:
    """nothing-resolves-to-removed resolves only the names ``indirect_names`` gives (issue 29:
    a sync without redirects then builds no index). At every step of the replay, each other
    name the reader resolves stops at a model of current.json on its first hop."""
    from pipeline.laws.identity import indirect_names
    from pipeline.records.catalog import CurrentCatalog, Deprecations
    from pipeline.resolve import CatalogIndex, resolve

    resolved = 0
    for step in replay.steps:
        current = {m.id: m for m in CurrentCatalog.model_validate(step.current).models}
        indirect = indirect_names(Deprecations.model_validate(step.deprecations), current)
        index = CatalogIndex(step.current, step.deprecations)
        names = set(index.by_alias) | set(index.redirects) | set(index.alias_history)
        names |= set(index.tombstone_aliases)
        assert set(indirect) <= names and indirect == sorted(indirect)
        for name in sorted(names - set(indirect)):
            found = resolve(name, index)
            assert [hop.step for hop in found.hops] in (["id"], ["alias"]), (step.name, name)
            assert found.model_id in current
        resolved += len(indirect)
    assert resolved  # the replay has redirects, old aliases and tombstones to follow
