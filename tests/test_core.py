"""The curated core (issue 20): overrides/curated-core.json merged into curated.json, its
concise aliases, churn (renames, removals, unknown ids), bad files, and the reader."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, fixture_path, read_json

from pipeline.cli import main
from pipeline.config import CatalogConfig
from pipeline.overrides.files import OverrideError, load_file, load_overrides
from pipeline.publishing import keys, schemas
from pipeline.publishing.store import LocalStore
from pipeline.registry import QueryError, Registry
from pipeline.resolve import CatalogIndex, resolve
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.service.app import create_app
from pipeline.stages.aliases import alias_base
from pipeline.timeutil import parse_iso

ALL = "openrouter-models-all-2026-08-19.json"
SHIPPED = REPO / "overrides"
NOW = "2026-08-19T06:00:00Z"


def sync_all(store: Path, overrides: Path, *extra: str) -> int:
    args = ["sync", "all", "--store", str(store), "--from-file", str(fixture_path(ALL))]
    return main([*args, "--now", NOW, "-q", "--overrides", str(overrides), *extra])


def overrides_with(tmp_path: Path, core: dict[str, Any] | str, name: str = "ov") -> Path:
    """A copy of the shipped overrides with curated-core.json replaced."""
    directory = tmp_path / name
    shutil.copytree(SHIPPED, directory)
    text = core if isinstance(core, str) else json.dumps({"models": core}, indent=2)
    (directory / "curated-core.json").write_text(text, encoding="utf-8")
    return directory


def entry(**fields: Any) -> dict[str, Any]:
    base = {
        "specialty": "coding",
        "summary": "A test entry's one-line summary",
        "help": "A short paragraph of help text for the entry.",
        "reviewed": "2026-08-19",
    }
    return {**base, **fields}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`catalog sync all` of the 2026-08-19 full snapshot with the shipped overrides."""
    store = tmp_path_factory.mktemp("core") / "store"
    assert sync_all(store, SHIPPED) == 0
    return store


def published(store: Path, key: str) -> Any:
    return json.loads((store / key).read_bytes())


# -- the shipped core ------------------------------------------------------------------------------


def test_shipped_core_is_published_with_its_metadata_and_aliases_resolve(shipped: Path):
    curated = published(shipped, keys.CURATED)
    current = published(shipped, keys.CURRENT)
    schemas.validate("curated", curated)
    core = curated["core"]
    assert 30 <= len(core) <= 40
    assert curated["coreIssues"] == []  # every entry is current on the day it was reviewed
    file = json.loads((SHIPPED / "curated-core.json").read_bytes())["models"]
    assert [e["id"] for e in core] == list(file)  # the file's order
    index = CatalogIndex(current, published(shipped, keys.DEPRECATIONS))
    records = {m["id"]: m for m in current["models"]}
    overrides = load_overrides(SHIPPED)
    for item in core:
        hand = file[item["id"]]
        assert (item["specialty"], item["summary"], item["help"]) == (
            hand["specialty"],
            hand["summary"],
            hand["help"],
        )
        # The concise alias is an additional name of the entry's model and resolves to it;
        # the model's own alias stays its natural one (issue 26).
        record = records[item["id"]]
        assert item["alias"] == hand["alias"]
        reserved = overrides.aliases.get(item["id"])
        assert record["alias"] == reserved or alias_base(item["id"])[0]
        assert [record["alias"], *record.get("aliases", [])][-1] == hand["alias"]
        assert resolve(hand["alias"], index).model_id == item["id"]
        assert resolve(record["alias"], index).model_id == item["id"]
        assert item["sources"]["summary"] == "curated-core"
        assert item["state"] == "active"
        for name, value in hand.get("defaults", {}).items():
            assert item["defaults"][name] == value
            assert item["sources"][f"defaults.{name}"] == "curated-core"
    chat_like = [
        e for e in core if records[e["id"]]["kind"] == "chat" and not records[e["id"]]["isImageGen"]
    ]
    assert chat_like and all(e["defaults"] for e in chat_like)
    # Hand-written copy stays honest: a help paragraph quotes the feed's own numbers.
    opus = next(e for e in core if e["id"] == "anthropic/claude-opus-5")
    assert "1,000,000-token context" in opus["help"]
    assert "$5.00 in / $25.00 out" in opus["help"]
    assert opus["buckets"][0] == "coding"
    assert curated["buckets"]["coding"][0]["alias"] == "claude-opus-5"


def test_core_defaults_fall_back_to_the_feeds_default_parameters(shipped: Path):
    core = {e["id"]: e for e in published(shipped, keys.CURATED)["core"]}
    qwen = core["qwen/qwen3.8-27b"]  # the entry sets only max_tokens
    assert qwen["defaults"] == {
        "max_tokens": 16000,
        "temperature": 1,
        "top_k": 20,
        "top_p": 0.95,
    }
    assert qwen["sources"]["defaults.max_tokens"] == "curated-core"
    assert {qwen["sources"][f"defaults.{k}"] for k in ("temperature", "top_k", "top_p")} == {"feed"}
    # The entry's own value beats the feed's: codestral's feed default is temperature 0.3.
    codestral = core["mistralai/codestral-2508"]
    assert codestral["defaults"]["temperature"] == 0.3
    assert codestral["sources"]["defaults.temperature"] == "curated-core"


def test_catalog_core_prints_the_table(shipped: Path, capsys):
    assert main(["core", "--store", str(shipped)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["ALIAS", "SPECIALTY", "MODEL"]
    assert any(
        line.split()[:3] == ["opus", "coding", "anthropic/claude-opus-5"]
        for line in out.splitlines()
    )
    assert "core model(s) from curated.json run" in out
    assert main(["core", "--store", str(shipped), "--specialty", "imageGen", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {e["specialty"] for e in data["core"]} == {"imageGen"} and len(data["core"]) == 4


def test_sync_curated_recomputes_the_core_from_the_store(shipped: Path, tmp_path: Path):
    store = tmp_path / "store"
    shutil.copytree(shipped, store)
    args = ["sync", "curated", "--store", str(store), "--now", "2026-08-20T06:00:00Z"]
    assert main([*args, "-q", "--overrides", str(SHIPPED)]) == 0
    curated = published(store, keys.CURATED)
    assert [e["id"] for e in curated["core"]] == [
        e["id"] for e in published(shipped, keys.CURATED)["core"]
    ]


# -- pins, exclusions, refused defaults ------------------------------------------------------------


def test_pins_and_exclusions_are_honoured_and_refusals_reported(tmp_path: Path):
    core = {
        # Top of the coding bucket without the core: excluded, it is curated nowhere.
        "deepseek/deepseek-v4-flash-0731": {
            "exclude": True,
            "note": "test exclusion",
            "reviewed": "2026-08-19",
        },
        # Ranked 0.43, far below any bucket's cut: pinned to chat and vision.
        "qwen/qwen3.8-27b": entry(alias="qwen-27b", pin=["chat", "vision"]),
        # An image generator cannot be pinned to coding: refused with the rule.
        "black-forest-labs/flux.2-pro": entry(alias="flux", specialty="imageGen", pin=["coding"]),
        # A default the model does not take is dropped at sync time and reported.
        "openai/gpt-5.6-sol": entry(alias="sol", defaults={"temperature": 0.2, "max_tokens": 9000}),
    }
    store = tmp_path / "store"
    assert sync_all(store, overrides_with(tmp_path, core)) == 0
    curated = published(store, keys.CURATED)
    buckets = {name: [r["id"] for r in refs] for name, refs in curated["buckets"].items()}
    assert curated["excluded"] == ["deepseek/deepseek-v4-flash-0731"]
    assert all("deepseek/deepseek-v4-flash-0731" not in ids for ids in buckets.values())
    assert buckets["chat"][0] == "qwen/qwen3.8-27b"
    assert buckets["vision"][0] == "qwen/qwen3.8-27b"
    assert "black-forest-labs/flux.2-pro" not in buckets["coding"]
    # The constraints still hold with pins in place.
    for ids in buckets.values():
        assert len(ids) == len(set(ids))
    assert not curated["shortfalls"]
    issues = {(i["entry"], i["problem"], i.get("field")) for i in curated["coreIssues"]}
    assert issues == {
        ("black-forest-labs/flux.2-pro", "pin-refused", "pin.coding"),
        ("openai/gpt-5.6-sol", "unsupported-default", "defaults.temperature"),
    }
    sol = next(e for e in curated["core"] if e["id"] == "openai/gpt-5.6-sol")
    assert sol["defaults"] == {"max_tokens": 9000}
    report = published(store, keys.run_report(curated["runId"]))
    assert any("flux.2-pro pin.coding" in w and "rule of coding" in w for w in report["warnings"])
    assert any("gpt-5.6-sol defaults.temperature" in w for w in report["warnings"])


# -- churn: the 2026-04-01 → 04-02 reka rename -----------------------------------------------------


def test_core_entry_follows_the_reka_rename_and_unknown_ids_are_reported(tmp_path: Path):
    core = {
        "reka/reka-edge": entry(
            alias="edge", specialty="fastCheap", defaults={"temperature": 0.4, "top_k": 40}
        ),
        "acme/never-existed": entry(alias="ghost", specialty="chat"),
    }
    overrides = load_overrides(overrides_with(tmp_path, core))
    store = LocalStore(tmp_path / "store")
    results = []
    for name in ("openrouter-models-2026-04-01.json", "openrouter-models-2026-04-02.json"):
        now = parse_iso(f"{name[18:28]}T12:00:00Z")
        request = SyncRequest(now=now, from_file=fixture_path(name), overrides=overrides)
        results.append(sync_openrouter(store, CatalogConfig(), request))
        assert results[-1].published
    before, after = results
    # Day one: the entry is on its model, the concise alias is published.
    assert any("acme/never-existed" in w and "no model" in w for w in before.report.warnings)
    current = read_json(store, keys.CURRENT)
    models = {m["id"]: m for m in current["models"]}
    # The rename carries the model's alias and its concise name (issue 26).
    assert models["rekaai/reka-edge"]["alias"] == "reka-edge"
    assert models["rekaai/reka-edge"]["aliases"] == ["edge"]
    assert models["reka/reka-edge"]["alias"].startswith("reka-edge-x")
    assert "aliases" not in models["reka/reka-edge"]
    curated = read_json(store, keys.CURATED)
    (edge,) = [e for e in curated["core"] if e["alias"] == "edge"]
    assert (edge["id"], edge["entry"]) == ("rekaai/reka-edge", "reka/reka-edge")
    assert edge["defaults"] == {"temperature": Decimal("0.4"), "top_k": 40}
    problems = {i["entry"]: i for i in curated["coreIssues"]}
    assert problems["reka/reka-edge"]["problem"] == "renamed"
    assert problems["reka/reka-edge"]["replacement"] == "rekaai/reka-edge"
    assert problems["acme/never-existed"]["problem"] == "unknown"
    assert [e["id"] for e in curated["core"]] == ["rekaai/reka-edge"]
    warning = next(w for w in after.report.warnings if "reka/reka-edge" in w)
    assert "renamed to rekaai/reka-edge" in warning and "update curated-core.json" in warning
    # The concise alias and the model's alias resolve to the new id; the old id's alias moved
    # into history, with the reason.
    index = CatalogIndex(current, read_json(store, keys.DEPRECATIONS))
    assert resolve("edge", index).model_id == "rekaai/reka-edge"
    assert resolve("reka-edge", index).model_id == "rekaai/reka-edge"
    assert resolve("reka/reka-edge", index).model_id == "rekaai/reka-edge"
    history = read_json(store, keys.DEPRECATIONS)["aliasHistory"]
    assert [(h["modelId"], h["oldAlias"]) for h in history] == [("reka/reka-edge", "reka-edge")]
    assert history[0]["reason"] == "'reka-edge' went with the rename to rekaai/reka-edge"


def test_removed_model_is_reported_with_the_resolutions_replacement():
    from pipeline.records.catalog import Deprecations, Redirect
    from pipeline.runs import fallback
    from pipeline.stages import core

    catalog = fallback.load_embedded()
    models = {m.id: m for m in catalog.models}
    gone = Deprecations(
        generated_at=NOW,
        run_id="r",
        redirects=[
            Redirect.model_validate(
                {"from": "acme/gone", "to": "acme/also-gone", "reason": "override", "since": NOW}
            )
        ],
    )
    (attached,) = core.attach(
        {"acme/gone": load_entry(entry(alias="gone"))},
        models,
        gone,
        replacement=lambda _id: "openai/gpt-5.4",
    )
    # The redirect leads nowhere listed and no tombstone exists: unknown, not followed.
    assert attached.how == "unknown" and attached.model is None
    deprecated = models["openai/gpt-5.4"].model_copy(deep=True)
    deprecated.lifecycle.state = "deprecated"
    (attached,) = core.attach(
        {"openai/gpt-5.4": load_entry(entry(alias="g"))},
        {**models, "openai/gpt-5.4": deprecated},
        None,
        replacement=lambda _id: "openai/gpt-5.5",
    )
    (issue,) = attached.issues
    assert (issue.problem, issue.replacement) == ("deprecated", "openai/gpt-5.5")
    assert "resolution now serves openai/gpt-5.5" in issue.detail


def load_entry(fields: dict[str, Any]) -> Any:
    from pipeline.overrides.files import CoreEntry

    return CoreEntry.model_validate(fields)


# -- bad files -------------------------------------------------------------------------------------

BAD_CORE = {
    "unknown-key": (
        {"openai/gpt-5.4": entry(alias="g54", tagline="x")},
        "$.models[\"openai/gpt-5.4\"].tagline: unknown key 'tagline' in the entry for "
        "'openai/gpt-5.4'",
    ),
    "unknown-default": (
        {"openai/gpt-5.4": entry(alias="g54", defaults={"temprature": 0.2})},
        "$.models[\"openai/gpt-5.4\"].defaults.temprature: unknown default 'temprature'",
    ),
    "duplicate-alias": (
        {"openai/gpt-5.4": entry(alias="fast"), "openai/gpt-5.5": entry(alias="fast")},
        "$.models[\"openai/gpt-5.5\"].alias: concise alias 'fast' is already given to "
        "'openai/gpt-5.4'",
    ),
    "missing-summary": (
        {"openai/gpt-5.4": {k: v for k, v in entry(alias="g54").items() if k != "summary"}},
        '$.models["openai/gpt-5.4"].summary: missing',
    ),
    "bad-temperature": (
        {"openai/gpt-5.4": entry(alias="g54", defaults={"temperature": 3})},
        '$.models["openai/gpt-5.4"].defaults.temperature: 3: '
        "Input should be less than or equal to 2",
    ),
    "alias-disagrees-with-alias-overrides": (
        {"openrouter/auto": entry(alias="router")},
        "$.models[\"openrouter/auto\"].alias: 'openrouter/auto' already has the alias 'auto'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CORE))
def test_bad_core_files_are_refused_naming_file_entry_and_field(case, tmp_path: Path, capsys):
    core, expected = BAD_CORE[case]
    directory = overrides_with(tmp_path, core)
    assert main(["validate", str(directory)]) == 2
    err = capsys.readouterr().err
    assert f"{directory / 'curated-core.json'}: {expected}" in err, err
    # The run refuses it too, before anything is published.
    store = tmp_path / "store"
    assert sync_all(store, directory) == 2
    assert not (store / keys.CURRENT).exists()


def test_validate_refuses_unsupported_defaults_unknown_ids_and_taken_aliases(
    tmp_path: Path, capsys
):
    core = {
        "openai/gpt-5.6-sol": entry(alias="sol", defaults={"top_k": 40}),
        "acme/never-existed": entry(alias="ghost"),
        "openai/gpt-5.5": entry(alias="gpt-5.4"),  # the published alias of openai/gpt-5.4
        "qwen/qwen3.8-27b": entry(alias="q27", defaults={"max_tokens": 500000}),
    }
    directory = overrides_with(tmp_path, core)
    assert main(["validate", str(directory)]) == 2
    err = capsys.readouterr().err
    file = directory / "curated-core.json"
    assert (
        f'{file}: $.models["openai/gpt-5.6-sol"].defaults.top_k: '
        "openai/gpt-5.6-sol does not support top_k" in err
    )
    assert f'{file}: $.models["acme/never-existed"]: no model, redirect or removed model' in err
    assert (
        f'{file}: $.models["openai/gpt-5.5"].alias: '
        "'gpt-5.4' is the published alias of openai/gpt-5.4" in err
    )
    assert "500000 is more than qwen/qwen3.8-27b's maxOutput of 131072" in err
    assert "checked against the embedded catalog of 2026-08-19" in err


def test_validate_against_a_store_warns_about_renamed_entries(tmp_path: Path, capsys):
    store = tmp_path / "store"
    for name in ("openrouter-models-2026-04-01.json", "openrouter-models-2026-04-02.json"):
        args = ["sync", "openrouter", "--store", str(store), "--from-file", str(fixture_path(name))]
        assert main([*args, "--now", f"{name[18:28]}T12:00:00Z", "-q"]) == 0
    directory = overrides_with(tmp_path, {"reka/reka-edge": entry(alias="edge")})
    capsys.readouterr()
    assert main(["validate", str(directory), "--store", str(store)]) == 0
    err = capsys.readouterr().err
    assert (
        "warning: curated-core.json: reka/reka-edge: reka/reka-edge was renamed to rekaai/reka-edge"
        in err
    )


def test_shipped_core_file_loads_and_its_aliases_are_additional_names():
    loaded = load_overrides(SHIPPED)
    assert 30 <= len(loaded.core) <= 40
    concise = loaded.concise_aliases()
    for model_id, item in loaded.core.items():
        assert concise[model_id] == item.alias
        # Not a reservation of the model's alias (that stays the natural one, issue 26),
        # unless alias-overrides.json reserves the same name.
        assert loaded.aliases.get(model_id, item.alias) == item.alias
    with pytest.raises(OverrideError, match="cannot read it"):
        load_file(SHIPPED.parent / "nonexistent" / "curated-core.json")


# -- the feed's facts: changelog -------------------------------------------------------------------


def test_changelog_reports_changed_default_parameters(tmp_path: Path):
    raw = json.loads(fixture_path(ALL).read_bytes())
    store = LocalStore(tmp_path / "store")
    first = tmp_path / "a.json"
    first.write_text(json.dumps(raw))
    for item in raw["data"]:
        if item["id"] == "qwen/qwen3.8-27b":
            item["default_parameters"]["temperature"] = 0.7
    second = tmp_path / "b.json"
    second.write_text(json.dumps(raw))
    runs = []
    for path, now in ((first, "2026-08-19T06:00:00Z"), (second, "2026-08-19T12:00:00Z")):
        runs.append(
            sync_openrouter(store, CatalogConfig(), SyncRequest(now=parse_iso(now), from_file=path))
        )
    changed = runs[1].report.details["changelog"]["changed"]
    assert [c for c in changed if c["field"] == "defaultParameters"] == [
        {
            "id": "qwen/qwen3.8-27b",
            "field": "defaultParameters",
            "from": {"temperature": 1, "top_k": 20, "top_p": 0.95},
            "to": {"temperature": 0.7, "top_k": 20, "top_p": 0.95},
        }
    ]


# -- the reader ------------------------------------------------------------------------------------


def test_registry_core_and_new_search_filters(shipped: Path):
    registry = Registry.open(str(shipped))
    core = registry.core()
    assert [e["alias"] for e in core][:3] == ["opus", "sonnet", "sol"]
    assert all(e["model"] is not None and e["model"]["id"] == e["id"] for e in core)
    assert {e["id"] for e in registry.core("open")} == {
        "qwen/qwen3.8-27b",
        "openai/gpt-oss-120b",
        "google/gemma-4-31b-it",
    }
    open_models = registry.search(open_weights=True)
    assert len(open_models) == 190 and all("openWeights" in m for m in open_models)
    closed = registry.search(open_weights=False)
    assert len(closed) + len(open_models) == len(registry.search())
    recent = registry.search(knowledge_cutoff_after="2025-09-01")
    assert recent and all(m["knowledgeCutoff"][:10] > "2025-09-01" for m in recent)
    assert {m["knowledgeCutoff"][:10] for m in recent} == {"2025-09-30", "2025-12-01", "2026-02-16"}
    month = registry.search(knowledge_cutoff_after="2025-09")
    assert {m["id"] for m in month} >= {m["id"] for m in recent}
    both = registry.search(open_weights=True, knowledge_cutoff_after="2024-12-31")
    assert all("openWeights" in m and m["knowledgeCutoff"] > "2024-12-31" for m in both)
    with pytest.raises(QueryError, match="knowledge_cutoff_after"):
        registry.search(knowledge_cutoff_after="last year")


def test_http_core_endpoint_and_search_filters(shipped: Path):
    from fastapi.testclient import TestClient

    app = create_app(Registry.open(str(shipped)), refresh_seconds=0)
    with TestClient(app) as client:
        answer = client.get("/api/models/core")
        assert answer.status_code == 200
        body = answer.json()
        assert body["available"] is True and 30 <= len(body["core"]) <= 40
        assert (
            body["core"][0]["alias"] == "opus"
            and body["core"][0]["model"]["id"] == body["core"][0]["id"]
        )
        etag = answer.headers["ETag"]
        assert client.get("/api/models/core", headers={"If-None-Match": etag}).status_code == 304
        only = client.get("/api/models/core", params={"specialty": "embedding"}).json()
        assert {e["id"] for e in only["core"]} == {
            "openai/text-embedding-3-large",
            "qwen/qwen3-embedding-8b",
        }
        page = client.get(
            "/api/models", params={"open_weights": "true", "knowledge_cutoff_after": "2025-06-30"}
        ).json()
        assert page["total"] > 0
        assert all("openWeights" in m and m["knowledgeCutoff"] > "2025-06-30" for m in page["data"])
        bad = client.get("/api/models", params={"knowledge_cutoff_after": "soon"})
        assert bad.status_code == 422
