"""Capability flags, their provenance, price tiers and --explain, on the real payloads."""

from __future__ import annotations

import dataclasses
import functools
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, fixture_path, openrouter_fixtures, read_json

from pipeline.cli import main
from pipeline.config import TierConfig
from pipeline.overrides.files import CapabilityOverride, CapabilitySet
from pipeline.publishing import keys
from pipeline.records import payloads
from pipeline.records.model import Pricing
from pipeline.sources import openrouter
from pipeline.stages import capabilities, signals, tiers
from pipeline.stages.capabilities import FLAGS, Heuristic, Resolver
from pipeline.stages.normalize import Normalized, normalize_openrouter

ALL = "openrouter-models-all-2026-08-19.json"
ROUTERS = {
    "openrouter/auto",
    "openrouter/auto-beta",
    "openrouter/bodybuilder",
    "openrouter/free",
    "openrouter/fusion",
    "openrouter/pareto-code",
}
# Output modality → kind for every non-chat model of the "all" snapshot.
KIND_OF_OUTPUT = {
    "embeddings": "embedding",
    "rerank": "rerank",
    "transcription": "transcription",
    "speech": "speech",
    "video": "video",
    "image": "image",
}


@functools.cache
def raw_models(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(openrouter.extract_items(fixture_path(name).read_bytes()))


@functools.cache
def normalized(name: str) -> tuple[Normalized, ...]:
    return tuple(
        normalize_openrouter(payloads.OpenRouterModel.model_validate(item))
        for item in raw_models(name)
    )


@pytest.fixture(scope="module")
def all_catalog(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The built artifact and run report of a sync of the "all" snapshot (no overrides)."""
    from pipeline.config import CatalogConfig
    from pipeline.publishing.store import LocalStore
    from pipeline.runs.sync import SyncRequest, sync_openrouter
    from pipeline.timeutil import parse_iso

    store = LocalStore(tmp_path_factory.mktemp("all"))
    result = sync_openrouter(
        store,
        CatalogConfig(),
        SyncRequest(now=parse_iso("2026-08-19T06:00:00Z"), from_file=fixture_path(ALL)),
    )
    assert result.published, result.error
    current = read_json(store, keys.CURRENT)
    report = read_json(store, keys.run_report(result.run_id))
    return {"models": {m["id"]: m for m in current["models"]}, "report": report}


def feed_model(model_id: str = "acme/model-1", **fields: Any) -> Normalized:
    """A model as the feed would list it; only the fields given differ from a plain chat model."""
    item: dict[str, Any] = {
        "id": model_id,
        "name": fields.pop("name", model_id),
        "created": 1_750_000_000,
        "context_length": 8192,
        "architecture": fields.pop(
            "architecture",
            {"modality": "text->text", "input_modalities": ["text"], "output_modalities": ["text"]},
        ),
        "pricing": fields.pop("pricing", {"prompt": "0.000001", "completion": "0.000002"}),
        "top_provider": {},
    }
    item.update(fields)
    return normalize_openrouter(payloads.OpenRouterModel.model_validate(item))


# -- the "all" snapshot -------------------------------------------------------------------


def test_every_image_output_model_is_image_gen(all_catalog):
    models = all_catalog["models"]
    drawing = {i for i, m in models.items() if "image" in m["modalities"]["output"]}
    assert len(drawing) >= 40  # 33 image-only, gemini/gpt-5 image chat models, routers
    assert {i for i, m in models.items() if m["isImageGen"]} == drawing
    for model_id in drawing:
        assert models[model_id]["detectionSource"]["isImageGen"] == "api"


def test_every_model_gets_the_kind_of_its_outputs(all_catalog):
    for item in raw_models(ALL):
        model = all_catalog["models"][item["id"]]
        outputs = item["architecture"]["output_modalities"]
        if item["id"] in ROUTERS:
            expected = "router"
        elif "text" in outputs:
            expected = "chat"
        else:
            (expected,) = {KIND_OF_OUTPUT[o] for o in outputs}
        assert model["kind"] == expected, (item["id"], outputs)


def test_embeddings_are_embedding(all_catalog):
    embedders = [
        i for i in raw_models(ALL) if "embeddings" in i["architecture"]["output_modalities"]
    ]
    assert len(embedders) == 34
    for item in embedders:
        assert all_catalog["models"][item["id"]]["kind"] == "embedding"


def test_routers_are_router_and_never_priced(all_catalog):
    models = all_catalog["models"]
    assert {i for i, m in models.items() if m["kind"] == "router"} == ROUTERS
    for model_id in ROUTERS:
        pricing = Pricing.model_validate(models[model_id]["pricing"])
        # "Priced" = a fixed price above 0 on any component. Routers are either dynamic (-1,
        # `variable`) or openrouter/free, which only forwards to free models and lists 0.
        assert not signals.is_priced(pricing), model_id
        assert pricing.variable or models[model_id]["isFree"], model_id
        assert models[model_id]["priceTier"] in ("variable", "free")
    free = models["openrouter/free"]
    assert (free["isFree"], free["priceTier"], free["pricing"]["input"]) == (True, "free", 0)
    assert free["evidence"]["kind"] == "architecture.tokenizer is Router"


def test_latest_alias_ids_are_priced_chat_models_not_routers(all_catalog):
    aliases = {i: m for i, m in all_catalog["models"].items() if i.startswith("~")}
    assert len(aliases) == 11
    for model_id, model in aliases.items():
        assert model["kind"] == "chat", model_id
        assert model["aliasTarget"], model_id
        assert signals.is_priced(Pricing.model_validate(model["pricing"]))
        assert model["priceTier"] not in ("variable", "free", "unknown")
        assert "not a router" in model["evidence"]["kind"]
    assert aliases["~anthropic/claude-opus-latest"]["priceTier"] == "pro"  # $5 per 1M input


def test_image_models_with_zero_token_prices_are_not_free(all_catalog):
    """flux/seedream/recraft list prompt = completion = "0" and charge per output image."""
    models = all_catalog["models"]
    zero_token_image = [
        i["id"]
        for i in raw_models(ALL)
        if i["architecture"]["output_modalities"] == ["image"]
        and i["pricing"]["prompt"] == "0"
        and i["pricing"]["completion"] == "0"
    ]
    assert len(zero_token_image) >= 20
    for model_id in zero_token_image:
        model = models[model_id]
        assert model["isFree"] is False, model_id
        assert model["pricing"]["imageOutput"] > 0
        assert model["priceTier"] == "unknown"
        assert model["cost"].endswith("per 1M image tokens")


def test_video_speech_rerank_at_zero_are_free_only_with_the_free_tag(all_catalog):
    """The feed does not price video/speech/rerank/music per token: "0" there is not "free"."""
    models = all_catalog["models"]
    checked = 0
    for item in raw_models(ALL):
        prices = {k: v for k, v in item["pricing"].items() if k != "overrides"}
        outputs = set(item["architecture"]["output_modalities"])
        if set(prices.values()) != {"0"} or outputs <= {"text", "embeddings"}:
            continue
        checked += 1
        assert models[item["id"]]["isFree"] is item["id"].endswith(":free"), item["id"]
    assert checked >= 30
    assert models["deepgram/flux-tts:free"]["isFree"] is True
    assert models["google/veo-3.1"]["isFree"] is False
    assert models["cohere/rerank-4-pro"]["isFree"] is False
    assert models["nvidia/nemotron-3-embed-1b:free"]["isFree"] is True


def test_every_flag_has_a_layer_and_evidence(all_catalog):
    for model_id, model in all_catalog["models"].items():
        assert set(model["detectionSource"]) == set(FLAGS), model_id
        assert set(model["evidence"]) == set(FLAGS), model_id
        assert all(model["evidence"].values()), model_id


def test_report_counts_flags_by_layer(all_catalog):
    details = all_catalog["report"]["details"]
    counts = details["capabilities"]
    assert set(counts) == set(FLAGS)
    for flag in FLAGS:
        assert sum(counts[flag].values()) == 549, flag
    # On the 2026 feed the API speaks for everything but reasoning of models without
    # reasoning controls (260 of them); none of those is a reasoning-first family.
    assert counts["kind"] == {"api": 549, "heuristic": 0, "override": 0, "default": 0}
    assert counts["reasoning"] == {"api": 289, "heuristic": 0, "override": 0, "default": 260}
    assert details["conflicts"] == []


# -- heuristics ---------------------------------------------------------------------------


def test_a_real_conflict_is_reported_and_the_api_wins(sync_file, store):
    """2026-01-14 21:18: qwen/qwen3-coder:free and devstral-small-2505 were listed without
    tools (the coder row says tools); the API wins and the report says so."""
    result = sync_file(fixture_path("openrouter-models-2026-01-14T2118Z.json"))
    conflicts = result.report.details["conflicts"]
    assert [(c["id"], c["flag"]) for c in conflicts] == [
        ("mistralai/devstral-small-2505", "supportsTools"),
        ("qwen/qwen3-coder:free", "supportsTools"),
    ]
    conflict = conflicts[1]
    assert conflict["api"] is False and conflict["heuristic"] is True
    assert conflict["decidedBy"] == "api" and conflict["value"] is False
    assert "qwen3-coder" in conflict["heuristicEvidence"]
    record = next(
        m for m in read_json(store, keys.CURRENT)["models"] if m["id"] == "qwen/qwen3-coder:free"
    )
    assert record["supportsTools"] is False
    assert record["detectionSource"]["supportsTools"] == "api"


def test_heuristics_contradict_the_api_only_where_known():
    """Across every real payload, the table disagrees with the feed on exactly these. A new
    row that fights the API shows up here before it floods the run reports."""
    found = set()
    for name in openrouter_fixtures():
        for model in normalized(name):
            found |= {(c["id"], c["flag"]) for c in capabilities.resolve(model).conflicts}
    assert found == {
        ("mistralai/devstral-small-2505", "supportsTools"),
        ("qwen/qwen3-coder:free", "supportsTools"),
    }


def test_kind_rows_recognise_the_2026_catalog_without_modalities():
    """Blind the resolver (no modalities, no tokenizer, as in a feed without them): the name
    rows must still find each non-chat model's kind, bar the listed misses."""
    misses = set()
    for model in normalized(ALL):
        seen = capabilities.resolve(model)
        blind = capabilities.resolve(
            dataclasses.replace(model, modalities_given=False, tokenizer=None)
        )
        if blind.kind != seen.kind:
            misses.add(model.id)
        if blind.kind != "router":
            assert blind.source["kind"] == "heuristic", model.id
        if seen.kind != "router" and seen.is_image_gen:
            assert blind.is_image_gen, model.id
    # voxtral-mini-3b is a chat model elsewhere; this feed lists a transcription endpoint.
    assert misses == {"mistralai/voxtral-mini-3b-2507"}


@pytest.mark.parametrize(
    ("model_id", "flag", "value"),
    [
        ("openai/o3-mini", "reasoning", "fixed"),
        ("deepseek/deepseek-r1-distill-llama-70b", "reasoning", "fixed"),
        ("qwen/qwq-32b", "reasoning", "fixed"),
        ("x-ai/grok-4-fast-reasoning", "reasoning", "fixed"),
        ("x-ai/grok-4-fast-non-reasoning", "reasoning", "none"),
        ("qwen/qwen3-vl-235b-a22b-instruct", "supportsVision", True),
        ("haotian-liu/llava-13b", "supportsVision", True),
        ("z-ai/glm-4.6v", "supportsVision", True),
        ("qwen/qwen3-235b-a22b", "supportsVision", False),
        ("qwen/qwen3-coder", "supportsTools", True),
        ("mistralai/devstral-2512", "supportsTools", True),
        ("openai/gpt-5.1-codex", "supportsTools", True),
        ("mistralai/codestral-embed-2505", "supportsTools", False),  # an embedder
        ("black-forest-labs/flux.2-pro", "isImageGen", True),
        ("black-forest-labs/flux-3-video", "isImageGen", False),
        ("deepgram/flux-tts:free", "isImageGen", False),
        ("google/gemini-2.5-flash-image-preview", "isImageGen", True),
        ("openai/gpt-5-image-mini", "isImageGen", True),
        ("openrouter/free", "kind", "router"),
        ("openrouter/owl-alpha", "kind", "chat"),
        ("openrouter/cinematika-7b", "kind", "chat"),
        ("recraft/recraft-v4", "kind", "image"),
        ("cohere/rerank-v3.5", "kind", "rerank"),
        ("openai/whisper-1", "kind", "transcription"),
        ("google/veo-3.1", "kind", "video"),
    ],
)
def test_heuristic_rows_on_an_api_silent_feed(model_id, flag, value):
    """2024-style record: no modalities, no supported_parameters, so the heuristics decide."""
    model = feed_model(model_id, architecture={"tokenizer": "Other"})
    caps = capabilities.resolve(model)
    assert caps.value(flag) == value
    assert caps.source[flag] == "heuristic"
    if flag not in caps.defaulted:
        assert "heuristic /" in caps.evidence[flag]


def test_every_heuristic_row_is_commented():
    source = Path(capabilities.__file__).read_text(encoding="utf-8")
    table = source.split("HEURISTICS: tuple[Heuristic, ...] = (", 1)[1].split("\n)\n", 1)[0]
    lines = table.splitlines()
    starts = [n for n, line in enumerate(lines) if line.startswith("    _row(")]
    assert len(starts) == len(capabilities.HEURISTICS)
    for n in starts:
        assert lines[n - 1].startswith("    # "), f"row without a comment: {lines[n]}"


# -- precedence, flag by flag ---------------------------------------------------------------

# flag → (feed fields giving an API value, that value, a contradicting heuristic value,
# an override value). The heuristic row is added to the table for the test so that every
# flag, including those without real rows (structuredOutput, isFree), is covered.
PRECEDENCE: dict[str, tuple[dict[str, Any], Any, Any, Any]] = {
    "kind": (
        {"architecture": {"input_modalities": ["text"], "output_modalities": ["embeddings"]}},
        "embedding",
        "video",
        "rerank",
    ),
    "supportsVision": ({}, False, True, True),
    "supportsTools": ({"supported_parameters": ["max_tokens"]}, False, True, True),
    "reasoning": ({"reasoning": {"mandatory": False}}, "none", "fixed", "configurable"),
    "structuredOutput": ({"supported_parameters": ["response_format"]}, True, False, False),
    "isImageGen": ({}, False, True, True),
    "isFree": ({"pricing": {"prompt": "0", "completion": "0"}}, True, False, False),
}


def _with_row(monkeypatch: pytest.MonkeyPatch, flag: str, value: Any) -> None:
    row = Heuristic(flag, value, "a test family", re.compile(r"^acme/"))
    monkeypatch.setattr(capabilities, "HEURISTICS", (row, *capabilities.HEURISTICS))


@pytest.mark.parametrize("flag", FLAGS)
def test_api_beats_heuristic_and_the_conflict_is_reported(flag, monkeypatch):
    fields, api_value, guess, _ = PRECEDENCE[flag]
    _with_row(monkeypatch, flag, guess)
    caps = capabilities.resolve(feed_model("acme/model-1", **fields))
    assert caps.value(flag) == api_value
    assert caps.source[flag] == "api"
    (conflict,) = [c for c in caps.conflicts if c["flag"] == flag]
    assert conflict == {
        "id": "acme/model-1",
        "flag": flag,
        "value": api_value,
        "decidedBy": "api",
        "api": api_value,
        "apiEvidence": caps.evidence[flag],
        "heuristic": guess,
        "heuristicEvidence": "id contains 'acme/': a test family (heuristic /^acme//)",
    }


@pytest.mark.parametrize("flag", FLAGS)
def test_override_beats_api_and_heuristic(flag, monkeypatch):
    fields, api_value, guess, forced = PRECEDENCE[flag]
    _with_row(monkeypatch, flag, guess)
    entry = CapabilityOverride(
        match="acme/model-1", set=CapabilitySet(**{flag: forced}), note="test: vendor docs"
    )
    caps = Resolver([entry]).resolve(feed_model("acme/model-1", **fields))
    assert caps.value(flag) == forced != api_value
    assert caps.source[flag] == "override"
    assert caps.evidence[flag] == (
        "capability-overrides.json $.overrides[0] (match 'acme/model-1'): test: vendor docs"
    )
    layers = {frozenset(k for k in c if k in ("heuristic", "override")) for c in caps.conflicts}
    assert frozenset({"override"}) in layers  # override vs API is reported as well
    other = {f: caps.source[f] for f in FLAGS if f != flag}
    assert "override" not in other.values()


@pytest.mark.parametrize("flag", [f for f in FLAGS if f != "isFree"])
def test_heuristic_fills_only_where_the_api_is_silent(flag, monkeypatch):
    """Pricing always speaks for isFree; every other flag can lack an API signal."""
    _, _, guess, _ = PRECEDENCE[flag]
    _with_row(monkeypatch, flag, guess)
    caps = capabilities.resolve(feed_model("acme/model-1", architecture={}))
    assert caps.value(flag) == guess
    assert caps.source[flag] == "heuristic"
    assert caps.conflicts == []


def test_pattern_override_and_later_entries_win():
    entries = [
        CapabilityOverride(
            pattern=r"^acme/.*-vl-", set=CapabilitySet(supportsVision=True), note="all vl"
        ),
        CapabilityOverride(
            match="acme/x-vl-2", set=CapabilitySet(supportsVision=False), note="not this one"
        ),
    ]
    resolver = Resolver(entries)
    assert resolver.resolve(feed_model("acme/x-vl-1")).supports_vision is True
    second = resolver.resolve(feed_model("acme/x-vl-2"))
    assert second.supports_vision is False
    assert second.evidence["supportsVision"].startswith("capability-overrides.json $.overrides[1]")
    assert resolver.resolve(feed_model("other/x-vl-1")).source["supportsVision"] == "api"


def test_default_is_labelled_and_counted():
    caps = capabilities.resolve(feed_model("acme/plain"))
    assert caps.reasoning == "none"
    assert caps.source["reasoning"] == "heuristic"
    assert caps.evidence["reasoning"].startswith("default:")
    counts = capabilities.report([caps])["capabilities"]
    assert counts["reasoning"] == {"api": 0, "heuristic": 0, "override": 0, "default": 1}


def test_reasoning_api_signals():
    controls = feed_model(supported_parameters=["reasoning", "include_reasoning"])
    assert capabilities.resolve(controls).reasoning == "configurable"
    always = feed_model(supported_parameters=["max_tokens"], reasoning={"mandatory": True})
    assert capabilities.resolve(always).reasoning == "fixed"
    assert capabilities.resolve(always).source["reasoning"] == "api"
    # A reasoning-first family with controls is configurable, and that is no conflict.
    o3 = capabilities.resolve(feed_model("openai/o3", supported_parameters=["reasoning"]))
    assert (o3.reasoning, o3.conflicts) == ("configurable", [])


# -- price tiers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("input_price", "tier"),
    [
        ("0.01", "budget"),
        ("0.99", "budget"),
        ("1", "standard"),
        ("4.99", "standard"),
        ("5", "pro"),
        ("14.99", "pro"),
        ("15", "premium"),
        ("150", "premium"),
    ],
)
def test_tier_boundaries(input_price, tier):
    pricing = Pricing(input=Decimal(input_price), output=Decimal(input_price) * 4)
    assert tiers.classify(pricing, is_free=False) == tier


def test_tier_boundaries_come_from_config():
    config = TierConfig(budget_below=Decimal(2), standard_below=Decimal(3), pro_below=Decimal(4))
    pricing = Pricing(input=Decimal("1.5"), output=Decimal(6))
    assert tiers.classify(pricing, is_free=False, config=config) == "budget"
    assert tiers.classify(pricing, is_free=False) == "standard"
    assert (
        tiers.classify(Pricing(input=Decimal(3), output=Decimal(6)), is_free=False, config=config)
        == "pro"
    )


def test_special_tiers():
    assert tiers.classify(Pricing(variable=True), is_free=False) == "variable"
    assert tiers.classify(Pricing(input=Decimal(0), output=Decimal(0)), is_free=True) == "free"
    image = Pricing(input=Decimal(0), output=Decimal(0), image_output=Decimal("3.4"))
    assert tiers.classify(image, is_free=False) == "unknown"
    assert tiers.classify(Pricing(), is_free=False) == "unknown"
    cheap_in = Pricing(input=Decimal(0), output=Decimal("0.5"))
    assert tiers.classify(cheap_in, is_free=False) == "budget"


def test_real_tiers_keep_raw_prices_beside(all_catalog):
    models = all_catalog["models"]
    for model_id, tier in {
        "openrouter/auto": "variable",
        "openrouter/free": "free",
        "~anthropic/claude-opus-latest": "pro",
        "z-ai/glm-4.6": "budget",
        "black-forest-labs/flux.2-pro": "unknown",
        "google/veo-3.1": "unknown",
    }.items():
        assert models[model_id]["priceTier"] == tier, model_id
    assert models["openrouter/auto"]["pricing"]["variable"] is True
    assert models["z-ai/glm-4.6"]["pricing"]["input"] == Decimal("0.5")
    counted = {m["priceTier"] for m in models.values()}
    assert counted == {"free", "budget", "standard", "pro", "premium", "variable", "unknown"}


# -- --explain --------------------------------------------------------------------------------


def _sync_cli(tmp_path: Path, *extra: str) -> int:
    return main(
        [
            "sync",
            "all",
            "--store",
            str(tmp_path / "store"),
            "--from-file",
            str(fixture_path(ALL)),
            "--now",
            "2026-08-19T06:00:00Z",
            "--overrides",
            str(REPO / "overrides"),
            "-q",
            *extra,
        ]
    )


def test_explain_prints_each_flag_with_layer_and_evidence(tmp_path, capsys):
    assert _sync_cli(tmp_path, "--explain", "openrouter/free") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "openrouter/free (Free Models Router), alias free"
    table = {line.split()[0]: line.split(None, 3)[1:] for line in lines[1:-1]}
    assert table["kind"] == ["router", "api", "architecture.tokenizer is Router"]
    assert table["isFree"] == ["true", "api", "pricing: every listed price is 0"]
    assert table["supportsTools"] == ["true", "api", "supported_parameters has tool_choice, tools"]
    assert table["priceTier"] == ["free", "pricing", "isFree: every listed price is 0"]
    assert set(FLAGS) <= set(table)
    assert lines[-1].startswith("openrouter: 549 models")  # the summary stays last


def test_explain_shows_an_override_and_its_conflict(tmp_path, capsys):
    assert _sync_cli(tmp_path, "--explain", "google/lyria-3-pro-preview") == 0
    out = capsys.readouterr().out
    assert re.search(r"kind +speech +override +capability-overrides.json \$.overrides\[0\]", out)
    assert "conflict on kind: api says chat" in out
    assert "override says speech" in out


def test_explain_of_an_unknown_model_exits_as_unknown_model(tmp_path, capsys):
    assert _sync_cli(tmp_path, "--explain", "acme/nothing") == 4  # as resolve and cost do
    captured = capsys.readouterr()
    assert "--explain: no model 'acme/nothing' (id or alias) in the published catalog" in (
        captured.err
    )
    assert captured.out.startswith("openrouter: 549 models")


def test_router_row_refines_a_text_model_without_conflict():
    """A feed with modalities but without the Router tokenizer: text output says "chat", the
    router row refines it to "router" (not a contradiction: routers answer in text)."""
    model = feed_model(
        "openrouter/free",
        pricing={"prompt": "0", "completion": "0"},
        architecture={"input_modalities": ["text"], "output_modalities": ["text"]},
    )
    caps = capabilities.resolve(model)
    assert (caps.kind, caps.source["kind"], caps.conflicts) == ("router", "heuristic", [])
    assert "architecture.output_modalities ['text']" in caps.evidence["kind"]


def test_2024_payload_without_supported_parameters(sync_file):
    """The 2024 feed had only `modality` and no supported_parameters: vision comes from the
    modality string, tools and structured output fall back to the default."""
    result = sync_file(fixture_path("openrouter-models-2024-02-18.json"), "2024-02-18T01:00:00Z")
    counts = result.report.details["capabilities"]
    assert counts["supportsVision"]["api"] == 100
    assert counts["supportsTools"] == {"api": 0, "heuristic": 0, "override": 0, "default": 100}
    assert result.catalog is not None
    models = {m.id: m for m in result.catalog.models}
    assert models["haotian-liu/llava-13b"].supports_vision is True  # modality "multimodal"
    assert models["openrouter/auto"].kind == "router"
    assert models["openrouter/cinematika-7b"].kind == "chat"
    assert models["openrouter/cinematika-7b:free"].is_free is True
