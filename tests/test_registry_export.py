"""The per-family YAML registry export round-trips to current.json's prices and windows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import yaml
from conftest import fixture_path, read_json

from pipeline import cli
from pipeline.publishing import keys
from pipeline.publishing.registry_export import PREFIX

ALL = "openrouter-models-all-2026-08-19.json"
CAPABILITIES = {
    "chat",
    "streaming",
    "tools",
    "vision",
    "audio",
    "reasoning",
    "agentic",
    "json_mode",
}


def per_token(value) -> float:
    return float(Decimal(value) / 10**6)


def test_yaml_registry_round_trips_prices_and_context_windows(sync_file, store):
    assert sync_file(fixture_path(ALL)).published
    assert cli.main(["export-registry", "--store", str(store.root)]) == 0
    current = read_json(store, keys.CURRENT)
    by_id = {m["id"]: m for m in current["models"]}
    folder = store.root / PREFIX
    files = sorted(folder.glob("*.yaml"))
    names = {p.stem for p in files}
    assert {"gpt", "claude", "gemini", "deepseek", "qwen", "mistral", "llama"} <= names

    seen: set[str] = set()
    for path in files:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(document) == {"models"}, path.name
        for key, entry in document["models"].items():
            record = by_id[entry["openrouter_id"]]
            seen.add(record["id"])
            assert entry["model_id"] == record["id"].split("/", 1)[1], key
            assert entry["provider"] == record["family"]
            assert entry.get("context_window") == record.get("maxContext")
            assert entry.get("max_output_tokens") == record.get("maxOutput")
            pricing = record["pricing"]
            for ours, theirs in (
                ("input", "input_per_token"),
                ("output", "output_per_token"),
                ("cacheRead", "cached_input_per_token"),
            ):
                if ours in pricing:
                    assert entry["pricing"][theirs] == per_token(pricing[ours]), (key, ours)
                else:
                    assert theirs not in entry["pricing"]
            assert set(entry["capabilities"]) <= CAPABILITIES
            assert ("vision" in entry["capabilities"]) == record["supportsVision"]
            assert ("tools" in entry["capabilities"]) == record["supportsTools"]
            assert entry["verification"] == {
                "status": "unverified",
                "last_checked": current["generatedAt"][:10],
                "verified_capabilities": [],
            }
    expected = {
        m["id"]
        for m in current["models"]
        if m["kind"] == "chat"
        and m["lifecycle"]["state"] in ("active", "stale")
        and not m["id"].startswith("~")
    }
    assert seen == expected


def test_registry_prices_are_plain_decimals(sync_file, store, tmp_path):
    assert sync_file(fixture_path(ALL)).published
    out = tmp_path / "registry"
    assert cli.main(["export-registry", "--store", str(store.root), "--output", str(out)]) == 0
    text = (out / "gpt.yaml").read_text(encoding="utf-8")
    entry = yaml.safe_load(text)["models"]["gpt-5.4"]
    # $2.50 / $15 / $0.25 per 1M as in the feed (0.0000025 per token), no float noise.
    assert "input_per_token: 0.0000025\n" in text
    assert entry["pricing"] == {
        "input_per_token": 0.0000025,
        "output_per_token": 0.000015,
        "cached_input_per_token": 0.00000025,
    }
    current = read_json(store, keys.CURRENT)
    created = next(m["created"] for m in current["models"] if m["id"] == "openai/gpt-5.4")
    assert entry["release_date"] == datetime.fromtimestamp(created, tz=UTC).strftime("%Y-%m-%d")
    # The export is deterministic: the same catalog gives the same bytes.
    again = tmp_path / "again"
    assert cli.main(["export-registry", "--store", str(store.root), "--output", str(again)]) == 0
    assert (again / "gpt.yaml").read_bytes() == (out / "gpt.yaml").read_bytes()
