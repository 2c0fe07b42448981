"""Alias generation (DESIGN.md §5) on real ids: deterministic, unique, sticky, order-free."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

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
        # Issue 29 skips each rule where it has nothing to do; where it has, it still applies.
        ("vendor/Model_Name 2", "model-name-2", False),  # separators
        ("vendor/a..b.-c--d", "a-b-c-d", False),  # dot runs, dash runs
        ("vendor/x%2e\u202ey", "x-2e-y", False),  # unsafe characters
        ("vendor/gpt-4-0613\n", "gpt-4", True),  # `$` matches before a final newline
        ("vendor/r-2024-08-06-0613", "r", True),  # tags stripped repeatedly
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
    # A newcomer that would be more canonical still cannot take another model's published
    # name (a base model of another vendor here, not a tagged sibling of its own).
    taken = {"azure/gpt-4o": "gpt-4o"}
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


# -- issue 26: natural aliases stay with base models; a rename carries the alias --------------

# The natural alias → its base model, on the 2026-08-19 "all" snapshot. Before issue 26 each
# name went to a sibling: the base had a concise core alias (`haiku`) or came after a tagged
# sibling that took the name (`:batch`, `:free`, a dated `-0731` / `-0813` snapshot).
NATURAL = {
    "claude-haiku-4.5": "anthropic/claude-haiku-4.5",
    "claude-opus-5": "anthropic/claude-opus-5",
    "claude-sonnet-5": "anthropic/claude-sonnet-5",
    "gpt-5.4-nano": "openai/gpt-5.4-nano",
    "gpt-5.6-luna": "openai/gpt-5.6-luna",
    "gpt-5.6-sol": "openai/gpt-5.6-sol",
    "gpt-5.6-terra": "openai/gpt-5.6-terra",
    "gemini-3.5-flash": "google/gemini-3.5-flash",
    "gemini-3.7-flash": "google/gemini-3.7-flash",
    "glm-5.2": "z-ai/glm-5.2",
    "text-embedding-3-large": "openai/text-embedding-3-large",
    "gemma-4-31b-it": "google/gemma-4-31b-it",
    "deepseek-v4-flash": "deepseek/deepseek-v4-flash",
    "deepseek-v4-pro": "deepseek/deepseek-v4-pro",
}


def _cli_sync(store: Path, name: str, now: str, *extra: str) -> None:
    from pipeline.cli import main

    args = ["sync", "openrouter", "--store", str(store), "--from-file", str(fixture_path(name))]
    assert main([*args, "--now", now, "-q", *extra]) == 0


def test_natural_aliases_belong_to_base_models_and_concise_ones_are_additional(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    store = tmp_path / "store"
    _cli_sync(store, ALL, "2026-08-19T06:00:00Z")
    current = read_json(LocalStore(store), keys.CURRENT)
    index = CatalogIndex(current, read_json(LocalStore(store), keys.DEPRECATIONS))
    records = {m["id"]: m for m in current["models"]}
    for name, base in NATURAL.items():
        assert records[base]["alias"] == name, base
        assert resolve(name, index).model_id == base, name
    # The curated core's concise names are additional: they resolve to the same model.
    assert records["anthropic/claude-haiku-4.5"]["aliases"] == ["haiku"]
    assert resolve("haiku", index).model_id == "anthropic/claude-haiku-4.5"
    assert records["google/gemma-4-31b-it"]["aliases"] == ["gemma"]
    # Tagged siblings keep a name of their own.
    for sibling in ("anthropic/claude-haiku-4.5:batch", "google/gemma-4-31b-it:free"):
        assert re.fullmatch(r".+-x[0-9a-z]{3,}", records[sibling]["alias"]), sibling
    # What a caller pays: the base model's price, not the batch variant's half price.
    capsys.readouterr()
    args = ["--input", "1000000", "--output", "1000000", "--store", str(store)]
    assert main(["cost", "claude-haiku-4.5", *args]) == 0
    assert "$6.00" in capsys.readouterr().out
    assert main(["cost", "gemma-4-31b-it", *args]) == 0
    assert "$0.000000" not in capsys.readouterr().out


def test_embedded_catalog_keeps_natural_aliases_with_base_models() -> None:
    from pipeline.runs import fallback

    embedded = fallback.load_embedded()
    records = {m.id: m for m in embedded.models}
    for name, base in NATURAL.items():
        assert records[base].alias == name, base


def _edit_aliases(store: LocalStore, aliases: dict[str, str]) -> None:
    """Put aliases as an older release published them into the store's current.json (the
    well-known copy, the run's copy and the manifest's hash, so the store reads as published)."""
    from storewrap import rewrite_artifact

    def edit(current: dict[str, Any]) -> None:
        for model in current["models"]:
            if model["id"] in aliases:
                model["alias"] = aliases[model["id"]]
                model.pop("aliases", None)

    rewrite_artifact(store, "current", edit)


def test_an_existing_store_is_corrected_once_with_the_reason_in_alias_history(
    tmp_path: Path,
) -> None:
    store = LocalStore(tmp_path / "store")
    _cli_sync(tmp_path / "store", ALL, "2026-08-19T06:00:00Z")
    # As the release before issue 26 published them: the core's `haiku` as the base's
    # alias, its natural alias on the batch variant.
    _edit_aliases(
        store,
        {
            "anthropic/claude-haiku-4.5": "haiku",
            "anthropic/claude-haiku-4.5:batch": "claude-haiku-4.5",
        },
    )
    _cli_sync(tmp_path / "store", ALL, "2026-08-19T07:00:00Z")
    current = read_json(store, keys.CURRENT)
    records = {m["id"]: m for m in current["models"]}
    assert records["anthropic/claude-haiku-4.5"]["alias"] == "claude-haiku-4.5"
    assert records["anthropic/claude-haiku-4.5"]["aliases"] == ["haiku"]
    history = read_json(store, keys.DEPRECATIONS)["aliasHistory"]
    batch_alias = records["anthropic/claude-haiku-4.5:batch"]["alias"]
    assert history == [
        {
            "oldAlias": "haiku",
            "newAlias": "claude-haiku-4.5",
            "modelId": "anthropic/claude-haiku-4.5",
            "since": "2026-08-19T07:00:00Z",
            "reason": "natural alias of the base model, taken back from its tagged sibling "
            "anthropic/claude-haiku-4.5:batch",
        },
        {
            "oldAlias": "claude-haiku-4.5",
            "newAlias": batch_alias,
            "modelId": "anthropic/claude-haiku-4.5:batch",
            "since": "2026-08-19T07:00:00Z",
            "reason": "'claude-haiku-4.5' is the natural alias of the base model "
            "anthropic/claude-haiku-4.5; a tagged sibling never takes it",
        },
    ]
    index = CatalogIndex(current, read_json(store, keys.DEPRECATIONS))
    assert resolve("claude-haiku-4.5", index).model_id == "anthropic/claude-haiku-4.5"
    assert resolve("haiku", index).model_id == "anthropic/claude-haiku-4.5"
    # Recorded once: the next run has nothing to correct.
    _cli_sync(tmp_path / "store", ALL, "2026-08-19T08:00:00Z")
    assert len(read_json(store, keys.DEPRECATIONS)["aliasHistory"]) == 2


def test_a_rename_carries_the_alias_also_in_a_store_that_gave_it_a_new_one(
    tmp_path: Path,
) -> None:
    store = LocalStore(tmp_path / "store")
    _cli_sync(tmp_path / "store", "openrouter-models-2026-04-01.json", "2026-04-01T01:00:00Z")
    _cli_sync(tmp_path / "store", "openrouter-models-2026-04-02.json", "2026-04-02T01:00:00Z")
    current = read_json(store, keys.CURRENT)
    records = {m["id"]: m for m in current["models"]}
    # reka/reka-edge → rekaai/reka-edge (redirect `rename`): the alias went with the model.
    assert records["rekaai/reka-edge"]["alias"] == "reka-edge"
    old_alias = records["reka/reka-edge"]["alias"]
    assert old_alias.startswith("reka-edge-x")
    index = CatalogIndex(current, read_json(store, keys.DEPRECATIONS))
    assert resolve("reka-edge", index).model_id == "rekaai/reka-edge"
    assert read_json(store, keys.DEPRECATIONS)["aliasHistory"] == [
        {
            "oldAlias": "reka-edge",
            "newAlias": old_alias,
            "modelId": "reka/reka-edge",
            "since": "2026-04-02T01:00:00Z",
            "reason": "'reka-edge' went with the rename to rekaai/reka-edge",
        }
    ]
    # A store the release before issue 26 wrote: the new id got a name of its own and the
    # alias stayed on the stale old id. The next run moves it, once.
    from storewrap import rewrite_artifact

    _edit_aliases(store, {"rekaai/reka-edge": "reka-edge-xtuw", "reka/reka-edge": "reka-edge"})
    rewrite_artifact(store, "deprecations", lambda document: document.update(aliasHistory=[]))
    _cli_sync(tmp_path / "store", "openrouter-models-2026-04-06.json", "2026-04-06T01:00:00Z")
    records = {m["id"]: m for m in read_json(store, keys.CURRENT)["models"]}
    assert records["rekaai/reka-edge"]["alias"] == "reka-edge"
    history = read_json(store, keys.DEPRECATIONS)["aliasHistory"]
    assert [(h["modelId"], h["oldAlias"], h["newAlias"], h["reason"]) for h in history] == [
        (
            "reka/reka-edge",
            "reka-edge",
            records["reka/reka-edge"]["alias"],
            "'reka-edge' went with the rename to rekaai/reka-edge",
        ),
        (
            "rekaai/reka-edge",
            "reka-edge-xtuw",
            "reka-edge",
            "renamed from reka/reka-edge: the alias follows the model",
        ),
    ]
    _cli_sync(tmp_path / "store", "openrouter-models-2026-04-07.json", "2026-04-07T01:00:00Z")
    assert len(read_json(store, keys.DEPRECATIONS)["aliasHistory"]) == 2
