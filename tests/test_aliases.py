"""Alias generation (DESIGN.md §5) on real ids: deterministic, unique, sticky, order-free."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from conftest import fixture_date, fixture_path, read_json

from pipeline.config import CatalogConfig
from pipeline.overrides.files import ALIAS_SHAPE, Overrides
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.resolve import CatalogIndex, resolve
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.stages.aliases import AliasCandidate, alias_base, alias_changes, assign_aliases

ALL = "openrouter-models-all-2026-08-19.json"


def _candidates(name: str) -> list[AliasCandidate]:
    data = json.loads(fixture_path(name).read_bytes())
    return [AliasCandidate(m["id"], m.get("created")) for m in data["data"]]


@pytest.mark.parametrize(
    ("model_id", "alias", "stripped"),
    [
        ("openai/gpt-4o", "gpt-4o", False),
        ("openai/gpt-4o-2024-08-06", "gpt-4o", True),  # ISO date tag
        ("qwen/qwen3.5-plus-20260420", "qwen3.5-plus", True),  # compact date tag
        ("openai/gpt-3.5-turbo-0613", "gpt-3.5-turbo", True),  # vendor revision tag
        ("cohere/command-r7b-12-2024", "command-r7b", True),  # MM-YYYY
        ("google/gemini-2.5-pro-preview-05-06", "gemini-2.5-pro-preview", True),  # MM-DD
        ("z-ai/glm-4.6:exacto", "glm-4.6", True),
        ("qwen/qwen-plus-2025-07-28:thinking", "qwen-plus", True),
        ("~anthropic/claude-opus-latest", "claude-opus-latest", False),
    ],
)
def test_alias_base_strips_noise(model_id: str, alias: str, stripped: bool) -> None:
    assert alias_base(model_id) == (alias, stripped)


def test_all_snapshot_aliases_are_unique_well_formed_and_canonical() -> None:
    candidates = _candidates(ALL)
    assert len(candidates) == 549
    aliases = assign_aliases(candidates, {})
    assert len(aliases) == 549
    assert len(set(aliases.values())) == 549
    shape = re.compile(ALIAS_SHAPE)
    assert all(shape.match(a) for a in aliases.values()), [
        a for a in aliases.values() if not shape.match(a)
    ]
    # The most canonical claimant keeps the bare name; the others get a stable hash suffix.
    assert aliases["openai/gpt-4o"] == "gpt-4o"
    assert aliases["deepseek/deepseek-r1"] == "deepseek-r1"
    assert re.fullmatch(r"gpt-4o-x[0-9a-z]{3,}", aliases["openai/gpt-4o-2024-08-06"])
    assert re.fullmatch(r"glm-5.2-x[0-9a-z]{3,}", aliases["z-ai/glm-5.2:free"])
    # Both dated: the oldest `created` wins the bare name.
    assert aliases["qwen/qwen3.5-plus-02-15"] == "qwen3.5-plus"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_aliases_do_not_depend_on_input_order(seed: int) -> None:
    candidates = _candidates(ALL)
    expected = assign_aliases(candidates, {})
    shuffled = candidates[:]
    random.Random(seed).shuffle(shuffled)
    assert assign_aliases(shuffled, {}) == expected
    # Also with memory, reservations and held names in play.
    previous = {c.id: expected[c.id] for c in candidates[::3]}
    reserved = {"openai/gpt-4o-2024-11-20": "gpt-4o-latest-snapshot"}
    held = {"gpt-5", "o3"}
    a = assign_aliases(candidates, previous, reserved, held)
    b = assign_aliases(shuffled, previous, reserved, held)
    assert a == b


def test_published_aliases_are_sticky_against_newcomers() -> None:
    older = _candidates("openrouter-models-2026-08-17.json")
    before = assign_aliases(older, {})
    # A later catalog with more models: every old id keeps its alias, whatever the order.
    newer = _candidates(ALL)
    random.Random(7).shuffle(newer)
    after = assign_aliases(newer, before)
    assert all(after[i] == a for i, a in before.items() if i in after)
    # A newcomer that would be more canonical still cannot take a published name.
    taken = {"openai/gpt-4o-2024-08-06": "gpt-4o"}
    result = assign_aliases([AliasCandidate("openai/gpt-4o", 1), *newer[:5]], taken)
    assert result["openai/gpt-4o"] != "gpt-4o"


def test_override_reserves_a_name_and_the_change_is_history() -> None:
    candidates = _candidates(ALL)
    before = assign_aliases(candidates, {})
    reserved = {"openai/gpt-4o-2024-11-20": "gpt-4o"}
    after = assign_aliases(candidates, before, reserved)
    assert after["openai/gpt-4o-2024-11-20"] == "gpt-4o"
    assert after["openai/gpt-4o"] != "gpt-4o"
    assert len(set(after.values())) == len(after)
    changes = alias_changes(before, after, "2026-08-20T00:00:00Z")
    assert {(c.model_id, c.old_alias, c.new_alias) for c in changes} == {
        ("openai/gpt-4o", "gpt-4o", after["openai/gpt-4o"]),
        ("openai/gpt-4o-2024-11-20", before["openai/gpt-4o-2024-11-20"], "gpt-4o"),
    }


def test_held_aliases_of_tombstones_are_not_reused() -> None:
    result = assign_aliases([AliasCandidate("z-ai/glm-4.6", 1)], {}, held={"glm-4.6"})
    assert result["z-ai/glm-4.6"].startswith("glm-4.6-x")


def test_alias_override_through_sync_is_recorded_and_old_alias_still_resolves(
    tmp_path: Path,
) -> None:
    store = LocalStore(tmp_path / "store")
    name = "openrouter-models-2026-08-19.json"
    now = fixture_date(name)

    def run(overrides: Overrides) -> None:
        request = SyncRequest(now=now, from_file=fixture_path(name), overrides=overrides)
        assert sync_openrouter(store, CatalogConfig(), request).published

    run(Overrides())
    old = {m["id"]: m["alias"] for m in read_json(store, keys.CURRENT)["models"]}
    assert old["openai/gpt-4o"] == "gpt-4o"
    run(Overrides(aliases={"openai/gpt-4o": "4o"}))
    current = read_json(store, keys.CURRENT)
    deprecations = read_json(store, keys.DEPRECATIONS)
    assert {m["id"]: m["alias"] for m in current["models"]}["openai/gpt-4o"] == "4o"
    assert deprecations["aliasHistory"] == [
        {
            "oldAlias": "gpt-4o",
            "newAlias": "4o",
            "modelId": "openai/gpt-4o",
            "since": "2026-08-19T01:00:00Z",
        }
    ]
    resolution = resolve("gpt-4o", CatalogIndex(current, deprecations))
    assert resolution.model_id == "openai/gpt-4o"
    assert [h.step for h in resolution.hops] == ["alias-history", "id"]
    # The override is dropped later: the alias stays (sticky) and history is not repeated.
    run(Overrides())
    current = read_json(store, keys.CURRENT)
    assert {m["id"]: m["alias"] for m in current["models"]}["openai/gpt-4o"] == "4o"
    assert len(read_json(store, keys.DEPRECATIONS)["aliasHistory"]) == 1
