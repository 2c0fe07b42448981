"""Curation on the real 2026-08-19 full snapshot: scores, rank, buckets, curated.json."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import fixture_date, fixture_path, read_json

from pipeline import cli
from pipeline.config import ConfigError, CurationConfig, curation_config, load_config
from pipeline.overrides.files import (
    REPO_OVERRIDES,
    OverrideError,
    QualityScore,
    load_file,
    load_overrides,
)
from pipeline.publishing import jsonio, keys
from pipeline.records.catalog import CurrentCatalog
from pipeline.resolve import CatalogIndex, profile, ranks_from_curated
from pipeline.stages.curate import build_curated, quality_overrides
from pipeline.stages.normalize import variant_base as base_id
from pipeline.stages.rank import VARIABLE_COST, cost_score, rank_catalog
from pipeline.timeutil import parse_iso

ALL = "openrouter-models-all-2026-08-19.json"
NOW = "2026-08-19T01:00:00Z"
SOURCES = {"override", "benchmarks", "heuristic", "lifecycle", "telemetry", "price", "variable"}


@pytest.fixture
def synced(sync_file, store):
    result = sync_file(fixture_path(ALL), now=NOW)
    assert result.published, result.error
    return store


def _plain(store, key):
    """A published document with plain floats (the rank arithmetic is float)."""
    read_json(store, key)  # asserts it exists
    return jsonio.loads_plain(store.get(key).data)


@pytest.fixture
def curated(synced):
    return _plain(synced, keys.CURATED)


@pytest.fixture
def current(synced):
    return _plain(synced, keys.CURRENT)


def _catalog(store) -> CurrentCatalog:
    return CurrentCatalog.model_validate_json(store.get(keys.CURRENT).data)


def test_full_sync_publishes_curated_with_the_catalog_run(curated, current):
    assert curated["runId"] == current["runId"]
    assert curated["catalogRunId"] == current["runId"]
    assert curated["generatedAt"] == current["generatedAt"]
    assert set(curated["buckets"]) == {
        "coding",
        "reasoning",
        "chat",
        "fastCheap",
        "vision",
        "imageGen",
    }
    assert curated["weights"] == {
        "quality": 0.45,
        "reliability": 0.25,
        "latency": 0.15,
        "cost": 0.15,
    }


def test_every_bucket_meets_its_minimum_or_reports_why(curated):
    minimums = curated["constraints"]["minimums"]
    assert minimums == {
        "coding": 5,
        "reasoning": 5,
        "chat": 8,
        "fastCheap": 5,
        "vision": 4,
        "imageGen": 3,
    }
    short = {s["bucket"]: s for s in curated["shortfalls"]}
    for bucket, refs in curated["buckets"].items():
        if len(refs) < minimums[bucket]:
            assert bucket in short, bucket
            assert short[bucket]["selected"] == len(refs)
            assert short[bucket]["reason"]
        else:
            assert bucket not in short


def test_no_bucket_holds_more_than_two_of_one_family(curated, current):
    family = {m["id"]: m["family"] for m in current["models"]}
    for bucket, refs in curated["buckets"].items():
        counts = Counter(family[r["id"]] for r in refs)
        assert max(counts.values()) <= 2, (bucket, counts)


def test_a_variant_never_shares_a_bucket_with_its_base(curated):
    for bucket, refs in curated["buckets"].items():
        lines = [base_id(r["id"]) for r in refs]
        assert len(lines) == len(set(lines)), bucket


def test_rank_is_the_weighted_sum_of_the_scores(curated):
    weights = curated["weights"]
    assert curated["models"]
    for model in curated["models"]:
        scores = model["scores"]
        total = sum(scores[name]["value"] * weights[name] for name in weights)
        assert model["rank"] == pytest.approx(total, abs=1e-6), model["id"]
        for name, score in scores.items():
            assert 0 <= score["value"] <= 1, (model["id"], name)
            assert score["source"] in {*SOURCES, "default"}
        assert curated["ranks"][model["id"]] == model["rank"]
    ranks = [m["rank"] for m in curated["models"]]
    assert ranks == sorted(ranks, reverse=True)


def test_the_curated_core_is_30_to_40_unique_models(curated):
    in_buckets = {r["id"] for refs in curated["buckets"].values() for r in refs}
    assert 30 <= len(in_buckets) <= 40
    assert in_buckets == {m["id"] for m in curated["models"]}
    for model in curated["models"]:
        for bucket in model["buckets"]:
            assert model["id"] in {r["id"] for r in curated["buckets"][bucket]}


def test_image_gen_holds_only_image_generators(curated, current):
    by_id = {m["id"]: m for m in current["models"]}
    assert curated["buckets"]["imageGen"]
    for ref in curated["buckets"]["imageGen"]:
        assert by_id[ref["id"]]["isImageGen"] is True
        assert "image" in by_id[ref["id"]]["modalities"]["output"]
    for bucket in ("coding", "reasoning", "chat", "fastCheap", "vision"):
        for ref in curated["buckets"][bucket]:
            assert by_id[ref["id"]]["kind"] == "chat"
            assert not by_id[ref["id"]]["isImageGen"], (bucket, ref["id"])


def test_bucket_members_meet_their_rules(curated, current):
    by_id = {m["id"]: m for m in current["models"]}
    for ref in curated["buckets"]["reasoning"]:
        assert by_id[ref["id"]]["reasoning"] != "none"
    for ref in curated["buckets"]["vision"]:
        assert by_id[ref["id"]]["supportsVision"]
    for ref in curated["buckets"]["fastCheap"]:
        assert by_id[ref["id"]]["priceTier"] in ("free", "budget")
    for ref in curated["buckets"]["coding"]:
        assert by_id[ref["id"]]["supportsTools"]
    for refs in curated["buckets"].values():
        for ref in refs:
            assert by_id[ref["id"]]["lifecycle"]["state"] == "active"
            assert by_id[ref["id"]]["alias"] == ref["alias"]
            assert not ref["id"].startswith("~")


def test_benchmarks_reach_current_json_and_drive_quality(current, curated):
    gemini = next(m for m in current["models"] if m["id"] == "google/gemini-3.7-flash")
    # Values as the feed gives them (artificial_analysis of 2026-08-19).
    assert gemini["benchmarks"]["intelligenceIndex"] == 56
    assert gemini["benchmarks"]["codingIndex"] == pytest.approx(76.1)
    assert gemini["benchmarks"]["designArenaEntries"] == 7
    # The feed's nulls mean "not measured": left out, never read as 0.
    ring = next(m for m in current["models"] if m["id"] == "inclusionai/ring-2.6-1t")
    assert ring["benchmarks"] == {"codingIndex": 42.8}
    assert "benchmarks" not in next(m for m in current["models"] if m["id"] == "openrouter/auto")
    sources = Counter(m["scores"]["quality"]["source"] for m in curated["models"])
    assert sources["benchmarks"] >= 20


def test_only_active_models_are_curated(synced):
    catalog = _catalog(synced)
    config = CurationConfig()
    now = parse_iso(NOW)
    before = build_curated(catalog, now=now, run_id="r", config=config)
    top = before.models[0].id
    for record in catalog.models:
        if record.id == top:
            record.lifecycle.state = "stale"
    after = build_curated(catalog, now=now, run_id="r", config=config)
    assert top not in {m.id for m in after.models}
    assert top not in after.ranks


def test_a_bucket_that_cannot_reach_its_minimum_is_short_not_padded(synced):
    catalog = _catalog(synced)
    config = CurationConfig(minimums={"imageGen": 60})
    config = curation_config(load_config_with(config))
    doc = build_curated(catalog, now=parse_iso(NOW), run_id="r", config=config)
    image = doc.buckets["imageGen"]
    short = next(s for s in doc.shortfalls if s.bucket == "imageGen")
    assert short.selected == len(image) < 60
    assert short.eligible > len(image)  # the family cap left some out, and says so
    assert "per family" in short.reason
    by_id = {m.id: m for m in catalog.models}
    assert all(by_id[r.id].is_image_gen for r in image)


def load_config_with(curation: CurationConfig):
    config = load_config(None)
    config.extra["curation"] = curation.model_dump()
    return config


def test_quality_override_beats_the_feed(synced):
    entries = quality_overrides(load_overrides(REPO_OVERRIDES))
    assert entries, "overrides/quality-scores.json ships at least one entry"
    catalog = _catalog(synced)
    now = parse_iso(NOW)
    with_file = rank_catalog(
        catalog.models, now=now, config=CurationConfig(), quality_overrides=entries
    )
    without = rank_catalog(catalog.models, now=now, config=CurationConfig())
    ring = "inclusionai/ring-2.6-1t"
    assert with_file[ring].scores.quality.source == "override"
    assert with_file[ring].scores.quality.value == 0.428
    assert "2026-06-22" in (with_file[ring].scores.quality.detail or "")
    assert without[ring].scores.quality.source == "benchmarks"  # coding index only
    assert with_file[ring].rank != without[ring].rank


def test_weights_come_from_config(synced):
    catalog = _catalog(synced)
    config = CurationConfig.model_validate(
        {"weights": {"quality": 1, "reliability": 0, "latency": 0, "cost": 0}}
    )
    doc = build_curated(catalog, now=parse_iso(NOW), run_id="r", config=config)
    for model in doc.models:
        assert model.rank == pytest.approx(model.scores.quality.value, abs=1e-6)


def test_weights_that_do_not_sum_to_one_are_a_config_error(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("curation:\n  weights: {quality: 0.5, reliability: 0.5, latency: 0.5}\n")
    with pytest.raises(ConfigError, match="sum to 1"):
        curation_config(load_config(str(path)))
    path.write_text("curation:\n  minimums: {codng: 3}\n")
    with pytest.raises(ConfigError, match="codng"):
        curation_config(load_config(str(path)))


def test_a_bad_quality_scores_file_names_file_and_entry(tmp_path):
    path = tmp_path / "quality-scores.json"
    path.write_text(
        '{"scores": [{"pattern": "([", "quality": 0.5, "asOf": "2026-08-19",'
        ' "note": "a figure from somewhere"}]}'
    )
    with pytest.raises(OverrideError) as err:
        load_file(path)
    assert err.value.path == "$.scores[0].pattern"
    path.write_text(
        '{"scores": [{"match": "a/b", "quality": 1.5, "asOf": "2026-08-19",'
        ' "note": "a figure from somewhere"}]}'
    )
    with pytest.raises(OverrideError, match=r"quality-scores\.json"):
        load_file(path)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_sync_curated_changes_only_curated_and_is_deterministic(synced, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("sync curated must not touch the network")

    monkeypatch.setattr("pipeline.sources.openrouter.fetch_catalog", no_network)
    root = synced.root
    before = _snapshot(root)
    argv = ["sync", "curated", "--store", str(root), "--now", "2026-08-21T03:00:00Z", "-q"]
    assert cli.main(argv) == 0
    first = _snapshot(root)
    changed = {k for k in first if before.get(k) != first[k]}
    report = {k for k in changed if k.startswith("models/runs/")}
    # curated.json is committed through the manifest with its immutable per-run copy (issue 7).
    copies = {k for k in changed if k.startswith("models/openrouter/runs/")}
    assert changed - report - copies == {keys.CURATED, keys.STATUS, keys.MANIFEST}
    assert len(report) == 1
    curated = jsonio.loads(first[keys.CURATED])
    assert copies == {keys.openrouter_run_copy(curated["runId"], "curated")}
    assert curated["generatedAt"] == "2026-08-21T03:00:00Z"
    assert curated["catalogRunId"] == jsonio.loads(first[keys.CURRENT])["runId"]
    status = jsonio.loads(first[keys.STATUS])
    assert status["jobs"]["curated"]["outcome"] == "ok"

    assert cli.main(argv) == 0
    second = _snapshot(root)
    assert second[keys.CURATED] == first[keys.CURATED]


def test_sync_curated_without_a_catalog_fails_cleanly(store, capsys):
    assert cli.main(["sync", "curated", "--store", str(store.root), "-q"]) == 1
    assert "run `syncmodels all` first" in capsys.readouterr().err
    assert store.get(keys.CURATED) is None


def test_family_fallback_uses_the_curated_rank(curated, current):
    ranks = ranks_from_curated(curated)
    index = CatalogIndex(current, ranks=ranks)
    record = next(m for m in current["models"] if m["id"] == "openai/gpt-5.4")
    chosen = index.family_fallback(record)
    assert chosen is not None
    rivals = [
        m
        for m in current["models"]
        if m["family"] == "openai"
        and m["id"] != record["id"]
        and m["lifecycle"]["state"] == "active"
        and profile(m) == profile(record)
    ]
    best = max(rivals, key=lambda m: (ranks.get(m["id"], -1.0), m["id"]))
    assert chosen["id"] == best["id"]
    assert chosen["id"] in ranks


def test_models_that_came_back_within_a_week_score_low_reliability(sync_file, store):
    # Real transient: 7 models vanish 2026-01-14 18:27→21:18 and 5 come back by 01-15 16:30.
    for name in (
        "openrouter-models-2026-01-14T1827Z.json",
        "openrouter-models-2026-01-14T2118Z.json",
        "openrouter-models-2026-01-15T1630Z.json",
    ):
        assert sync_file(fixture_path(name), now=fixture_date(name)).published
    catalog = _catalog(store)
    now = fixture_date("openrouter-models-2026-01-15T1630Z.json")
    ranked = rank_catalog(catalog.models, now=now, config=CurationConfig())
    flapped = {
        r.record.id
        for r in ranked.values()
        if r.scores.reliability.value == 0.30 and r.scores.reliability.source == "lifecycle"
    }
    assert "qwen/qwen3-4b:free" in flapped
    assert len(flapped) == 5
    steady = ranked["openai/gpt-4o"].scores.reliability
    assert steady.source == "lifecycle"
    assert steady.value > 0.30
    # A week later, with no further change, the flap no longer counts.
    later = rank_catalog(catalog.models, now=now + timedelta(days=8), config=CurationConfig())
    assert later["qwen/qwen3-4b:free"].scores.reliability.value > 0.30


def test_cost_latency_and_reliability_rules_on_real_records(synced):
    catalog = _catalog(synced)
    ranked = rank_catalog(catalog.models, now=parse_iso(NOW), config=CurationConfig())
    cost = {i: r.scores.cost for i, r in ranked.items()}
    # Cheaper scores higher on the log scale; free is 1.0 and above every paid model.
    assert cost["openai/gpt-5.4-nano"].value > cost["openai/gpt-5.4"].value
    assert cost["openai/gpt-5.4"].value > cost["openai/gpt-5.4-pro"].value
    free = [r for r in ranked.values() if r.record.is_free]
    assert free
    assert all(r.scores.cost.value == 1.0 for r in free)
    assert max(c.value for i, c in cost.items() if not ranked[i].record.is_free) < 1.0
    latency = {i: r.scores.latency for i, r in ranked.items()}
    assert latency["google/gemini-3.7-flash"].value == 0.85
    assert latency["openai/gpt-5.4:batch"].value < latency["openai/gpt-5.4"].value
    assert latency["openai/gpt-5.4"].source == "default"
    assert ranked["z-ai/glm-5.2:free"].scores.reliability.value <= 0.5
    # Variable (router) pricing gets the stated neutral value.
    router = next(r for r in catalog.models if r.pricing.variable)
    assert cost_score(router.model_copy(update={"kind": "chat"}), {}).value == VARIABLE_COST
    assert cost_score(router, {}).source == "variable"


def test_a_bad_curation_section_stops_the_sync(tmp_path, capsys):
    path = tmp_path / "catalog.yaml"
    path.write_text("curation:\n  max_per_family: 0\n")
    argv = ["sync", "curated", "--store", str(tmp_path / "s"), "--config", str(path), "-q"]
    assert cli.main(argv) == 2
    assert "curation.max_per_family" in capsys.readouterr().err


def test_a_quality_entry_for_a_base_id_covers_its_variants(synced):
    entry = QualityScore.model_validate(
        {
            "pattern": r"^openai/gpt-5\.4$",
            "quality": 0.9,
            "asOf": "2026-08-19",
            "note": "test entry: a figure for the base model",
        }
    )
    ranked = rank_catalog(
        _catalog(synced).models,
        now=parse_iso(NOW),
        config=CurationConfig(),
        quality_overrides=[entry],
    )
    for model_id in ("openai/gpt-5.4", "openai/gpt-5.4:batch"):
        assert ranked[model_id].scores.quality.value == 0.9
        assert ranked[model_id].scores.quality.source == "override"
    assert ranked["openai/gpt-5.4-pro"].scores.quality.source != "override"


def test_the_2024_feed_is_published_short_with_reasons(sync_file, store):
    # The 2024 feed has no supported_parameters, reasoning flags or image output: coding,
    # reasoning and imageGen cannot be filled, and say so instead of taking other models.
    name = "openrouter-models-2024-02-18.json"
    assert sync_file(fixture_path(name), now=fixture_date(name)).published
    curated = _plain(store, keys.CURATED)
    short = {s["bucket"]: s for s in curated["shortfalls"]}
    assert set(short) == {"coding", "reasoning", "imageGen"}
    for bucket, entry in short.items():
        assert curated["buckets"][bucket] == []
        assert entry["selected"] == entry["eligible"] == 0
        assert "meet the rule" in entry["reason"]
    assert len(curated["buckets"]["chat"]) >= 8
