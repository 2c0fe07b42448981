"""Pinned manifests: the committed ones are valid and complete; a broken one stops only itself."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import read_json

from pipeline.config import CatalogConfig
from pipeline.publishing import keys
from pipeline.runs.providers import ProvidersRequest, sync_providers
from pipeline.sources import pinned
from pipeline.timeutil import parse_iso

REPO = Path(__file__).resolve().parent.parent
PINNED = REPO / "overrides" / "pinned"
NOW = parse_iso("2026-08-19T06:00:00Z")
NAMES = ("deepinfra", "perplexity", "xai")


def sync(store, manifest_dir: Path):
    return sync_providers(
        store,
        CatalogConfig(),
        ProvidersRequest(now=NOW, only=list(NAMES)),
        env={},
        manifest_dir=str(manifest_dir),
    )


@pytest.mark.parametrize("name", NAMES)
def test_committed_manifest_is_valid_and_publishes_every_entry(name, store):
    data = (PINNED / f"{name}.yaml").read_bytes()
    manifest = pinned.load(data, f"{name}.yaml", name)
    assert manifest.sources and manifest.reviewed
    result = sync(store, PINNED)
    assert result.results[name].tier == "api", result.results[name].reason
    current = read_json(store, keys.provider_current(name))
    assert current["count"] == len(manifest.models)
    assert current["ttlSeconds"] == 86400
    for entry, record in zip(
        sorted(manifest.models, key=lambda m: m.model_id), current["models"], strict=True
    ):
        assert record["id"] == entry.model_id
        assert record["maxContext"] == entry.context_window
        # Exact: per-token decimal strings × 1M, no float rounding.
        assert record["pricing"]["input"] == Decimal(entry.pricing.prompt) * 1_000_000
    assert store.get(current["rawKey"]).data == data


def test_schema_error_stops_only_that_source(store, tmp_path):
    for name in NAMES:
        (tmp_path / f"{name}.yaml").write_bytes((PINNED / f"{name}.yaml").read_bytes())
    broken = yaml.safe_load((PINNED / "xai.yaml").read_text())
    broken["models"][1]["context_window"] = "a lot"
    del broken["reviewed"]
    (tmp_path / "xai.yaml").write_text(yaml.safe_dump(broken))

    result = sync(store, tmp_path)
    reason = result.results["xai"].reason
    assert result.results["xai"].tier == "failed"
    assert str(tmp_path / "xai.yaml") in reason
    assert "reviewed: Field required" in reason
    second = broken["models"][1]["model_id"]
    assert f"models.1.context_window ({second})" in reason
    assert store.get(keys.provider_current("xai")) is None
    assert result.results["perplexity"].tier == "api"
    assert result.results["deepinfra"].tier == "api"
    status = read_json(store, keys.STATUS)["jobs"]["providers"]
    assert status["sources"]["xai"]["servedBy"] == "failed"
    assert status["outcome"] == "degraded"


def test_manifest_for_another_provider_is_rejected():
    data = (PINNED / "xai.yaml").read_bytes()
    with pytest.raises(pinned.ManifestError, match="provider is 'xai', expected 'perplexity'"):
        pinned.load(data, "perplexity.yaml", "perplexity")


def test_unknown_key_is_a_schema_error():
    document = yaml.safe_load((PINNED / "perplexity.yaml").read_text())
    document["models"][0]["context_lenght"] = 1000
    with pytest.raises(pinned.ManifestError, match=r"models\.0\.context_lenght \(sonar\)"):
        pinned.load(yaml.safe_dump(document).encode(), "perplexity.yaml", "perplexity")


def test_catalog_validate_checks_pinned_manifests(tmp_path, capsys):
    from pipeline.cli import main

    (tmp_path / "pinned").mkdir()
    for name in NAMES:
        (tmp_path / "pinned" / f"{name}.yaml").write_bytes((PINNED / f"{name}.yaml").read_bytes())
    assert main(["validate", str(tmp_path)]) == 0
    assert "3 pinned manifest(s) valid" in capsys.readouterr().out
    (tmp_path / "pinned" / "xai.yaml").write_text("provider: xai\nmodels: []\n")
    assert main(["validate", str(tmp_path)]) == 2  # as a sync with this file (issue 13)
    err = capsys.readouterr().err
    assert "xai.yaml: schema error" in err and "reviewed: Field required" in err
