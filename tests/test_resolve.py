"""Model-reference resolution over the replayed real history, as library and as
``catalog resolve`` (through pipeline.cli.main)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import Replay

from pipeline.cli import main
from pipeline.publishing import jsonio, keys
from pipeline.resolve import AUTO_ID, CatalogIndex, resolve


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _resolve_json(capsys: pytest.CaptureFixture[str], store: str, ref: str) -> dict:
    code, out, _ = _cli(capsys, "resolve", ref, "--store", store, "--json")
    assert code == 0, ref
    return json.loads(out)


def test_removed_exacto_resolves_to_its_base(replay: Replay, capsys) -> None:
    store = str(replay.store.root)
    tombstones = {t["id"] for t in replay.steps[-1].deprecations["tombstones"]}
    assert "z-ai/glm-4.6:exacto" in tombstones  # removed, not merely stale
    code, out, _ = _cli(capsys, "resolve", "z-ai/glm-4.6:exacto", "--store", store)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("z-ai/glm-4.6:exacto → z-ai/glm-4.6 (alias glm-4.6, active)")
    assert "redirect" in lines[1] and "variant since 2026-03-11T01:00:00Z" in lines[1]
    assert lines[2].split()[1:] == ["id", "z-ai/glm-4.6", "→", "z-ai/glm-4.6"]
    assert lines[3].startswith("notice model-notice-")
    assert "was retired on 2026-05-01; using z-ai/glm-4.6" in lines[3]


def test_renamed_id_resolves_to_new_id(replay: Replay, capsys) -> None:
    result = _resolve_json(capsys, str(replay.store.root), "reka/reka-edge")
    assert result["modelId"] == "rekaai/reka-edge"
    assert [(h["step"], h["ref"], h["to"]) for h in result["hops"]] == [
        ("redirect", "reka/reka-edge", "rekaai/reka-edge"),
        ("id", "rekaai/reka-edge", "rekaai/reka-edge"),
    ]
    assert result["hops"][0]["detail"].startswith("rename since 2026-04-02")
    assert result["notice"]["text"].endswith("using rekaai/reka-edge")


def test_removed_model_without_sibling_falls_back_within_family(replay: Replay, capsys) -> None:
    result = _resolve_json(capsys, str(replay.store.root), "meta-llama/llama-guard-2-8b")
    (hop,) = result["hops"]
    assert hop["step"] in ("family-fallback", "auto")
    current = {m["id"]: m for m in replay.steps[-1].current["models"]}
    target = current[result["modelId"]]
    assert target["lifecycle"]["state"] == "active"
    if hop["step"] == "family-fallback":
        assert target["family"] == "meta-llama"
        assert target["kind"] == "chat"
    else:
        assert result["modelId"] == AUTO_ID
    assert "meta-llama/llama-guard-2-8b was retired on 2026-05-01" in result["notice"]["text"]


def test_curated_ranks_choose_the_family_fallback(replay: Replay, capsys, tmp_path: Path) -> None:
    root = tmp_path / "store"
    shutil.copytree(replay.store.root, root)
    first = _resolve_json(capsys, str(root), "meta-llama/llama-guard-2-8b")
    current = replay.steps[-1].current["models"]
    guard = next(
        t["record"]
        for t in replay.steps[-1].deprecations["tombstones"]
        if t["id"] == "meta-llama/llama-guard-2-8b"
    )
    others = [
        m["id"]
        for m in current
        if m["family"] == "meta-llama"
        and m["lifecycle"]["state"] == "active"
        and m["id"] != first["modelId"]
        and m["kind"] == guard["kind"]
        and m["supportsVision"] == guard["supportsVision"]
        and m["supportsTools"] == guard["supportsTools"]
        and (m["reasoning"] != "none") == (guard["reasoning"] != "none")
    ]
    assert others, "needs a second same-profile meta-llama model"
    favourite = sorted(others)[0]
    curated = {"models": [{"id": favourite, "rank": 0.99}, {"id": first["modelId"], "rank": 0.1}]}
    (root / keys.CURATED).write_bytes(jsonio.dumps(curated))
    second = _resolve_json(capsys, str(root), "meta-llama/llama-guard-2-8b")
    assert second["modelId"] == favourite


def test_alias_of_removed_model_still_resolves(replay: Replay) -> None:
    last = replay.steps[-1]
    stone = next(t for t in last.deprecations["tombstones"] if t["id"] == "z-ai/glm-4.6:exacto")
    result = resolve(stone["alias"], CatalogIndex(last.current, last.deprecations))
    assert [h.step for h in result.hops] == ["alias", "redirect", "id"]
    assert result.model_id == "z-ai/glm-4.6"


def test_stale_model_with_redirect_is_sent_on(replay: Replay) -> None:
    # On 2026-03-11 the :exacto ids are only stale, yet they no longer serve: follow the
    # variant redirect instead of handing back a dead id.
    step = replay.at("2026-03-11")
    index = CatalogIndex(step.current, step.deprecations)
    assert index.models["z-ai/glm-4.6:exacto"]["lifecycle"]["state"] == "stale"
    result = resolve("z-ai/glm-4.6:exacto", index)
    assert result.model_id == "z-ai/glm-4.6"
    assert result.notice is not None and "has moved" in result.notice.text


def test_current_id_and_alias_resolve_exactly_without_notice(replay: Replay) -> None:
    last = replay.steps[-1]
    index = CatalogIndex(last.current, last.deprecations)
    for ref in ("openai/gpt-4o", "gpt-4o"):
        result = resolve(ref, index)
        assert result.model_id == "openai/gpt-4o"
        assert result.exact and result.notice is None


def test_unknown_reference_fails_with_a_clear_error(replay: Replay, capsys) -> None:
    code, out, err = _cli(capsys, "resolve", "nope/nothing", "--store", str(replay.store.root))
    assert code == 4 and out == ""  # unknown model: the same code in every command
    assert "'nope/nothing' does not resolve" in err


def test_resolve_without_catalog_says_what_to_do(tmp_path: Path, capsys) -> None:
    code, _, err = _cli(capsys, "resolve", "openai/gpt-4o", "--store", str(tmp_path / "empty"))
    assert code == 1
    assert "run `syncmodels all` first" in err
