"""Issue 4 acceptance: lifecycle, redirects and the changelog over the real OpenRouter history.

The session ``replay`` fixture (conftest.py) syncs every real snapshot in date order with the
run's clock at each capture time; the tests below read what each run published.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import Replay, fixture_date, fixture_path, read_json

from pipeline.config import CatalogConfig
from pipeline.overrides.files import DeprecationOverride, Overrides
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.resolve import CatalogIndex, resolve
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.sources.openrouter import extract_items
from pipeline.timeutil import iso, parse_iso

EXACTO = (
    "z-ai/glm-4.6:exacto",
    "openai/gpt-oss-120b:exacto",
    "qwen/qwen3-coder:exacto",
    "moonshotai/kimi-k2-0905:exacto",
    "deepseek/deepseek-v3.1-terminus:exacto",
)
BEFORE_VANISH = "2026-01-14T1827Z"
VANISHED = "2026-01-14T2118Z"
BACK = "2026-01-15T1630Z"


def _raw_ids(name: str) -> set[str]:
    # extract_items knows the three shapes of the captures (envelope, bare list, wrapper).
    return {m["id"] for m in extract_items(fixture_path(name).read_bytes())}


def _redirects(step_deprecations: dict) -> dict[str, dict]:
    return {r["from"]: r for r in step_deprecations["redirects"]}


def test_every_record_carries_lifecycle_dates(replay: Replay) -> None:
    for step in replay.steps:
        listed = _raw_ids(step.name)
        for model in step.current["models"]:
            life = model["lifecycle"]
            assert {"state", "firstSeen", "lastSeen", "stateSince"} <= life.keys(), model["id"]
            assert life["firstSeen"] <= life["lastSeen"] <= iso(step.now)
            if model["id"] in listed:
                assert "missingSince" not in life, (step.name, model["id"])
                assert life["lastSeen"] == iso(step.now)
            else:
                assert life["state"] in ("stale", "deprecated"), (step.name, model["id"])
                assert life["missingSince"] <= iso(step.now)


def test_models_gone_for_19_hours_go_stale_and_return_active_with_same_alias(
    replay: Replay,
) -> None:
    before, gone, back = replay.at(BEFORE_VANISH), replay.at(VANISHED), replay.at(BACK)
    vanished = _raw_ids(before.name) - _raw_ids(gone.name)
    returned = vanished & _raw_ids(back.name)
    assert len(vanished) == 7 and len(returned) == 5  # SOURCES.md: 7 vanish, 5 come back
    went_stale = {c["id"] for c in gone.changelog["stateChanges"] if c["to"] == "stale"}
    assert vanished <= went_stale
    for model_id in vanished:
        life = gone.models[model_id]["lifecycle"]
        assert life["state"] == "stale", model_id
        assert life["missingSince"] == iso(gone.now)
    for model_id in returned:
        model = back.models[model_id]
        assert model["lifecycle"]["state"] == "active", model_id
        assert "missingSince" not in model["lifecycle"]
        assert model["lifecycle"]["firstSeen"] == before.models[model_id]["lifecycle"]["firstSeen"]
        assert model["alias"] == before.models[model_id]["alias"]
        assert model_id not in _redirects(back.deprecations), model_id
    # While gone, the :free variants whose base stayed were redirected to it; the redirect
    # was withdrawn when they came back.
    assert {i for i, r in _redirects(gone.deprecations).items() if i in vanished} >= {
        "meta-llama/llama-3.2-3b-instruct:free"
    }


def test_vanished_exacto_variants_go_stale_then_deprecated_then_removed(replay: Replay) -> None:
    gone = replay.at("2026-03-11")
    assert not set(EXACTO) & _raw_ids(gone.name)
    for model_id in EXACTO:
        assert gone.models[model_id]["lifecycle"]["state"] == "stale"
        redirect = _redirects(gone.deprecations)[model_id]
        assert (redirect["to"], redirect["reason"]) == (model_id.split(":")[0], "variant")
    # 2026-04-01 is 21 days later: deprecated (≥ 14); 2026-05-01 is 51 days: removed (≥ 30).
    later = replay.at("2026-04-01")
    assert {later.models[i]["lifecycle"]["state"] for i in EXACTO} == {"deprecated"}
    removed = replay.at("2026-05-01")
    tombstones = {t["id"]: t for t in removed.deprecations["tombstones"]}
    for model_id in EXACTO:
        assert model_id not in removed.models
        assert tombstones[model_id]["removedAt"] == iso(removed.now)
        assert tombstones[model_id]["alias"] == gone.models[model_id]["alias"]
        assert model_id in _redirects(removed.deprecations)  # still carried over
    assert set(EXACTO) <= set(removed.changelog["removed"])


def test_reka_rename_becomes_a_rename_redirect(replay: Replay) -> None:
    step = replay.at("2026-04-02")
    redirect = _redirects(step.deprecations)["reka/reka-edge"]
    assert redirect == {
        "from": "reka/reka-edge",
        "to": "rekaai/reka-edge",
        "reason": "rename",
        "since": iso(step.now),
    }
    assert step.changelog["renamed"] == [{"from": "reka/reka-edge", "to": "rekaai/reka-edge"}]
    # A rename is the same model: the new id takes the alias, the carried old id another.
    assert step.models["rekaai/reka-edge"]["alias"] == "reka-edge"
    assert step.models["reka/reka-edge"]["alias"].startswith("reka-edge-x")


def test_an_alias_changes_only_by_a_recorded_correction_and_once(replay: Replay) -> None:
    """Aliases are sticky; the only moves (issue 26) are a natural alias going back to its
    base model from a tagged sibling, and an alias following a rename. Each is in the
    changelog and the alias history with its reason, and no model's alias moves twice."""
    alias_of: dict[str, str] = {}
    moved: list[str] = []
    for step in replay.steps:
        changes = {c["modelId"]: c for c in step.changelog["aliasChanges"]}
        for model_id, model in step.models.items():
            before = alias_of.setdefault(model_id, model["alias"])
            if before != model["alias"]:
                change = changes[model_id]
                assert (change["oldAlias"], change["newAlias"]) == (before, model["alias"])
                assert change["reason"], (step.name, model_id)
                moved.append(model_id)
                alias_of[model_id] = model["alias"]
        aliases = [m["alias"] for m in step.current["models"]]
        assert len(aliases) == len(set(aliases)), step.name
    assert len(moved) == len(set(moved))
    # 2026-01-14 18:27: allenai/olmo-3-32b-think is listed beside its `:free` variant, which
    # had the name to itself until then.
    assert "allenai/olmo-3-32b-think:free" in moved


def test_deprecations_never_lose_entries(replay: Replay) -> None:
    for before, after in zip(replay.steps, replay.steps[1:], strict=False):
        listed = _raw_ids(after.name)
        kept_redirects = set(_redirects(before.deprecations)) - listed
        assert kept_redirects <= set(_redirects(after.deprecations)), after.name
        kept_stones = {t["id"] for t in before.deprecations["tombstones"]} - listed
        assert kept_stones <= {t["id"] for t in after.deprecations["tombstones"]}, after.name
        # removed models leave current.json
        assert not {t["id"] for t in after.deprecations["tombstones"]} & after.models.keys()


def _pricing(name: str) -> dict[str, dict[str, str]]:
    data = json.loads(fixture_path(name).read_bytes())
    return {m["id"]: m["pricing"] for m in data["data"]}


def test_sparse_pricing_switch_gives_no_price_changes(replay: Replay) -> None:
    before, after = (
        "openrouter-models-2026-01-15T1831Z.json",
        "openrouter-models-2026-01-29T0404Z.json",
    )
    old, new = _pricing(before), _pricing(after)
    # Models whose only raw pricing difference is zero-valued keys that stopped being sent.
    only_dropped_zeros = {
        i
        for i in old.keys() & new.keys()
        if old[i] != new[i]
        and all(v == "0" for k, v in old[i].items() if k not in new[i])
        and all(old[i].get(k) == v for k, v in new[i].items())
    }
    assert len(only_dropped_zeros) > 150  # 195 models: a naive diff flags every one
    changes = replay.at("2026-01-29T0404Z").changelog["changed"]
    priced = {c["id"] for c in changes if c["field"].startswith("pricing.")}
    assert not priced & only_dropped_zeros
    # Real price moves in the same window are still reported, as exact decimals.
    assert {
        "id": "alpindale/goliath-120b",
        "field": "pricing.input",
        "from": Decimal("6"),
        "to": Decimal("3.75"),
    } in changes


def test_listed_model_past_its_expiration_date_is_deprecated(replay: Replay) -> None:
    checked = 0
    for step in replay.steps:
        listed = _raw_ids(step.name)
        for model_id in listed:
            life = step.models[model_id]["lifecycle"]
            if "expiresAt" not in life:
                continue
            expired = parse_iso(life["expiresAt"]) <= step.now
            assert life["state"] == ("deprecated" if expired else "active"), (step.name, model_id)
            checked += expired
    assert checked > 0


# -- later clocks on the same last snapshot ------------------------------------------------


def _sync(store: LocalStore, name: str, now, **kw) -> None:  # type: ignore[no-untyped-def]
    result = sync_openrouter(
        store, CatalogConfig(), SyncRequest(now=now, from_file=fixture_path(name), **kw)
    )
    assert result.published, result.error


@pytest.mark.parametrize("bound", [False, True])
def test_exacto_removed_after_30_days_unless_bound(tmp_path: Path, bound: bool) -> None:
    store = LocalStore(tmp_path / "store")
    last = "openrouter-models-2026-03-11.json"
    _sync(
        store,
        "openrouter-models-2026-03-10.json",
        fixture_date("openrouter-models-2026-03-10.json"),
    )
    _sync(store, last, fixture_date(last))
    if bound:
        store.put(keys.BINDINGS + "chat-service.json", b'{"z-ai/glm-4.6:exacto": 3}\n')
    start = fixture_date(last)

    def states() -> dict[str, str]:
        current = read_json(store, keys.CURRENT)
        return {m["id"]: m["lifecycle"]["state"] for m in current["models"] if m["id"] in EXACTO}

    assert set(states().values()) == {"stale"}
    _sync(store, last, start + timedelta(days=13))
    assert set(states().values()) == {"stale"}
    _sync(store, last, start + timedelta(days=15))
    assert set(states().values()) == {"deprecated"}
    _sync(store, last, start + timedelta(days=31))
    final = states()
    stones = {t["id"] for t in read_json(store, keys.DEPRECATIONS)["tombstones"]}
    if bound:
        assert final == {"z-ai/glm-4.6:exacto": "deprecated"}
        assert set(EXACTO) - stones == {"z-ai/glm-4.6:exacto"}
    else:
        assert final == {}
        assert set(EXACTO) <= stones


def test_unreadable_bindings_file_blocks_removal(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    last = "openrouter-models-2026-03-11.json"
    _sync(
        store,
        "openrouter-models-2026-03-10.json",
        fixture_date("openrouter-models-2026-03-10.json"),
    )
    store.put(keys.BINDINGS + "broken.json", b"{not json")
    result = sync_openrouter(
        store,
        CatalogConfig(),
        SyncRequest(now=fixture_date(last) + timedelta(days=40), from_file=fixture_path(last)),
    )
    assert result.published
    assert result.report.details["changelog"]["removed"] == []
    assert any("broken.json" in w for w in result.report.warnings)


def test_deprecation_override_forces_deprecated_with_redirect(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    name = "openrouter-models-2026-03-11.json"
    overrides = Overrides(
        deprecations=[
            DeprecationOverride(
                id="z-ai/glm-4.6",
                redirect_to="z-ai/glm-4.7",
                since="2026-03-01",
                note="vendor retires 4.6",
            ),
            DeprecationOverride(
                id="openai/gpt-oss-120b",
                redirect_to="openai/gpt-oss-20b",
                since="2027-01-01",
                note="not yet in force",
            ),
        ]
    )
    _sync(store, name, fixture_date(name), overrides=overrides)
    models = {m["id"]: m for m in read_json(store, keys.CURRENT)["models"]}
    assert models["z-ai/glm-4.6"]["lifecycle"]["state"] == "deprecated"
    assert models["openai/gpt-oss-120b"]["lifecycle"]["state"] == "active"
    redirects = _redirects(read_json(store, keys.DEPRECATIONS))
    assert redirects["z-ai/glm-4.6"] == {
        "from": "z-ai/glm-4.6",
        "to": "z-ai/glm-4.7",
        "reason": "override",
        "since": "2026-03-01T00:00:00Z",
    }
    assert "openai/gpt-oss-120b" not in redirects
    # Callers of the forced model are sent on, though the feed still lists it.
    index = CatalogIndex(read_json(store, keys.CURRENT), read_json(store, keys.DEPRECATIONS))
    assert resolve("z-ai/glm-4.6", index).model_id == "z-ai/glm-4.7"


def test_deprecations_json_is_published_schema_valid(replay: Replay) -> None:
    from pipeline.publishing import schemas

    blob = replay.store.get(keys.DEPRECATIONS)
    assert blob is not None
    schemas.validate("deprecations", json.loads(blob.data))
    assert replay.store.get(keys.schema("deprecations")) is not None


def test_same_inputs_and_clock_give_identical_deprecations(tmp_path: Path) -> None:
    published = []
    for run in ("a", "b"):
        store = LocalStore(tmp_path / run)
        for name in ("openrouter-models-2026-03-10.json", "openrouter-models-2026-03-11.json"):
            _sync(store, name, fixture_date(name))
        blob = store.get(keys.DEPRECATIONS)
        assert blob is not None
        published.append(blob.data)
    assert published[0] == published[1]
    assert b"z-ai/glm-4.6:exacto" in published[0]
