"""Provider-native lists state only what is known (issue 14), on the recorded 2026-08-17 lists.

Every list is fetched over HTTP from the recorded body and enriched from the recorded
OpenRouter catalog of the same day (tests/published_lists.py), exactly as a run does. What is
checked here is each source's own list (``models/providers/<source>/native.json``, schema
version 2); the merged provider lists built from it are checked in tests/test_breadth.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import fixture_path, read_json
from published_lists import publish_all

from pipeline.config import CatalogConfig
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.records.catalog import CurrentCatalog
from pipeline.runs.providers import ProvidersResult
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.sources import mistral, openai
from pipeline.sources.openrouter import extract_items
from pipeline.stages.enrich import OpenRouterIndex
from pipeline.timeutil import parse_iso


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStore, ProvidersResult]:
    store = LocalStore(tmp_path_factory.mktemp("lists") / "store")
    return store, publish_all(store)


def provider_list(store: LocalStore, source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A source's own list: its records by id and its provenance."""
    document = read_json(store, keys.provider_native(source))
    return {m["id"]: m for m in document["models"]}, document["provenance"]


def every_provider_list(store: LocalStore) -> Iterator[tuple[str, Any]]:
    """(store key, document) of each source's own list."""
    for key in store.list("models/providers/"):
        if key.endswith("/native.json"):
            yield key, read_json(store, key)


# -- 1. unknown stays unknown -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "model_id", "kind", "vision"),
    [
        ("dashscope", "qwen-vl-max", "chat", True),
        # Nothing says whether these take images: the flag is unknown (absent), not false.
        ("dashscope", "qwen-image-2.0", "image", None),
        ("dashscope", "qwen3-asr-flash-realtime", "transcription", None),
        ("gemini", "gemini-2.5-flash-preview-tts", "speech", None),
    ],
)
def test_unstated_modalities_are_unknown_and_heuristics_decide(
    published, source, model_id, kind, vision
):
    store, _ = published
    models, provenance = provider_list(store, source)
    record = models[model_id]
    assert record["modalities"] == {"input": [], "output": []}
    assert provenance[model_id]["modalities"] == "unknown"
    assert (record["kind"], record.get("supportsVision")) == (kind, vision)
    # No flag claims the API's word for something the API never said.
    assert record["detectionSource"]["kind"] == "heuristic", record["evidence"]["kind"]
    if vision is None:
        assert "supportsVision" not in record["detectionSource"]
        assert provenance[model_id]["supportsVision"] == "unknown"
        assert record["evidence"]["supportsVision"].startswith("unknown: ")
    else:
        assert record["detectionSource"]["supportsVision"] == "heuristic"
    for flag in ("kind", "supportsVision"):
        assert "modalities" not in record["evidence"][flag]


def test_no_api_modality_evidence_without_stated_modalities(published):
    """Across every list: a vision/kind decision credited to the API always rests on
    modalities the provider stated or OpenRouter enrichment supplied (with its provenance)."""
    store, _ = published
    checked = 0
    for _key, document in every_provider_list(store):
        for record in document["models"]:
            origin = document["provenance"][record["id"]]["modalities"]
            if record["detectionSource"].get("supportsVision") == "api":
                assert origin != "unknown", (document["source"], record["id"])
                checked += 1
    assert checked > 300


@pytest.mark.parametrize(
    ("source", "model_id", "unknown"),
    [
        # OpenAI's list carries ids only and OpenRouter has no record of these on 2026-08-17.
        (
            "openai",
            "gpt-5.1-chat-latest",
            {"supportsVision", "supportsTools", "reasoning", "structuredOutput", "isImageGen"}
            | {"isFree"},
        ),
        # ... but a reasoning-first family is recognised by its name (`fixed`, heuristic).
        (
            "openai",
            "o3-deep-research",
            {"supportsVision", "supportsTools", "structuredOutput", "isImageGen", "isFree"},
        ),
        # Matched to OpenRouter's qwen/qwen-plus, which has no reasoning controls: its own
        # flags come through, reasoning is nobody's word.
        ("dashscope", "qwen-plus", {"reasoning"}),
    ],
)
def test_flags_nothing_states_are_unknown_not_false(published, source, model_id, unknown):
    """A flag no source states (no API signal, no pattern, no override) is absent from the
    provider's record and `unknown` in its provenance, never `false`/`none` that looks like
    data (before: `gpt-5.1-chat-latest` supportsTools false, `qwen-plus` reasoning none)."""
    store, _ = published
    models, provenance = provider_list(store, source)
    record = models[model_id]
    attrs = ("supportsVision", "supportsTools", "reasoning", "structuredOutput", "isImageGen")
    stated = {a for a in (*attrs, "isFree") if a in record}
    assert {a for a in (*attrs, "isFree") if a not in record} == unknown
    for flag in unknown:
        assert provenance[model_id][flag] == "unknown"
        assert flag not in record["detectionSource"]
        assert record["evidence"][flag].startswith("unknown")
    for flag in stated:
        assert record["detectionSource"][flag] in ("api", "heuristic", "override")
        assert provenance[model_id].get(flag) is None


def test_provider_lists_are_schema_version_2_and_never_publish_a_flag_default(published):
    from pipeline.publishing.schemas import validate

    store, _ = published
    checked = 0
    for key, document in every_provider_list(store):
        assert document["schemaVersion"] == 2
        validate("provider-current", json.loads(store.get(key).data))
        for record in document["models"]:
            for flag, evidence in record["evidence"].items():
                if flag != "kind":
                    assert not evidence.startswith("default:"), (key, record["id"], flag)
            checked += 1
    assert checked > 800


def test_together_chat_type_does_not_claim_text_only_input(published):
    store, _ = published
    models, provenance = provider_list(store, "together")
    for model_id, openrouter_id in [
        ("google/gemma-4-31B-it", "google/gemma-4-31b-it"),
        ("moonshotai/Kimi-K2.6", "moonshotai/kimi-k2.6"),
    ]:
        record = models[model_id]
        assert record["supportsVision"] is True
        assert "image" in record["modalities"]["input"]
        assert record["modalities"]["output"] == ["text"]  # Together's own `type: chat`
        assert (
            provenance[model_id]["modalities"] == f"input openrouter:{openrouter_id}, output native"
        )


# -- 2. prices and limits only from their owner -------------------------------------------------


@pytest.mark.parametrize(
    ("source", "model_id"),
    [("cerebras", "gpt-oss-120b"), ("dashscope", "qwen3-32b"), ("deepseek", "deepseek-v4-pro")],
)
def test_another_hosts_price_is_never_published(published, source, model_id):
    store, _ = published
    models, provenance = provider_list(store, source)
    record = models[model_id]
    # Matched (so capabilities come from OpenRouter) ...
    assert any(ref["source"] == "openrouter" for ref in record["sources"])
    assert record["supportsTools"] is True
    # ... but OpenRouter's cheapest-host price and top-host cap are not this provider's.
    assert "input" not in record["pricing"] and "output" not in record["pricing"]
    assert "maxOutput" not in record and "maxContext" not in record
    assert record["priceTier"] == "unknown"
    for name in ("pricing", "maxOutput", "maxContext"):
        assert provenance[model_id][name] == "unknown"


def test_only_the_vendors_closed_models_take_openrouter_prices(published):
    """Every price a provider list took from OpenRouter is the vendor's closed-weights model."""
    store, _ = published
    raw = extract_items(fixture_path("openrouter-models-2026-08-17.json").read_bytes())
    open_weights = {item["id"]: bool(item.get("hugging_face_id")) for item in raw}
    taken = 0
    for key in store.list("models/providers/"):
        if not key.endswith("/current.json"):
            continue
        document = read_json(store, key)
        for model_id, fields in document["provenance"].items():
            origin = fields.get("pricing", "")
            if origin.startswith("openrouter:"):
                openrouter_id = origin.removeprefix("openrouter:")
                assert document["source"] not in ("cerebras", "groq", "together", "baseten")
                assert open_weights[openrouter_id] is False, (document["source"], model_id)
                taken += 1
    assert taken > 50
    models, provenance = provider_list(store, "openai")
    assert models["gpt-4o"]["pricing"]["input"] == Decimal("2.5")
    assert provenance["gpt-4o"]["pricing"] == "openrouter:openai/gpt-4o"


def test_openrouter_catalog_says_its_prices_are_the_lowest_across_hosts(published):
    store, _ = published
    catalog = read_json(store, keys.CURRENT)
    assert "lowest across hosts" in catalog["pricingBasis"]


# -- 3. exact matching ---------------------------------------------------------------------------


def _index(fixture: str, tmp_path: Path) -> OpenRouterIndex:
    store = LocalStore(tmp_path / "or")
    now = parse_iso("2026-08-17T12:00:00Z")
    result = sync_openrouter(
        store, CatalogConfig(), SyncRequest(now=now, from_file=fixture_path(fixture))
    )
    assert result.published
    catalog = CurrentCatalog.model_validate_json(store.get(keys.CURRENT).data)
    return OpenRouterIndex.build(catalog.models)


def test_version_tags_are_part_of_the_identity(tmp_path):
    index = _index("openrouter-models-2025-10-01.json", tmp_path)
    items = mistral.ADAPTER.parse(
        [fixture_path("provider-mistral-models-2025-08-30.json").read_bytes()]
    )
    listed = {item["id"] for item in items}
    assert {"mistral-small-2312", "mistral-small-2409", "mistral-small-2506"} <= listed
    for version in ("2312", "2409", "2501", "2503", "2506"):
        found = index.lookup(f"mistral-small-{version}", ("mistralai",)).record
        assert found is None or found.id != "mistralai/mistral-small", version
    found = index.lookup("magistral-medium-2507", ("mistralai",)).record
    assert found is None or found.id.endswith("2507")
    # Date tags still meet: a dated native id and OpenRouter's undated id.
    claude = index.lookup("claude-sonnet-4-5-20250929", ("anthropic",))
    assert claude.record is not None and claude.record.id == "anthropic/claude-sonnet-4.5"


def test_different_dates_are_different_snapshots(published):
    store, _ = published
    models, provenance = provider_list(store, "dashscope")
    old = models["qwen3.5-plus-2026-02-15"]
    assert [ref["source"] for ref in old["sources"]] == ["dashscope"]
    assert provenance["qwen3.5-plus-2026-02-15"]["pricing"] == "unknown"
    same_day = models["qwen3.5-plus-2026-04-20"]
    assert {"source": "openrouter", "nativeId": "qwen/qwen3.5-plus-20260420"} in same_day["sources"]


def test_org_prefixed_host_id_matches_its_model_part(published):
    store, _ = published
    models, _ = provider_list(store, "together")
    record = models["deepseek-ai/DeepSeek-V4-Pro"]
    assert {"source": "openrouter", "nativeId": "deepseek/deepseek-v4-pro"} in record["sources"]
    assert record["supportsTools"] is True and record["reasoning"] != "none"


def test_ambiguous_matches_are_no_match_and_reported(tmp_path):
    from pipeline.runs.fallback import load_embedded
    from pipeline.runs.providers import SourceResult

    base = load_embedded().models[0]
    records = [
        base.model_copy(update={"id": f"{org}/model-x", "family": org}) for org in ("a", "b")
    ]
    found = OpenRouterIndex.build(records).lookup("model-x", ())
    assert found.record is None and found.ambiguous == ("a/model-x", "b/model-x")
    entry = SourceResult(
        "host", "api", count=1, matched=0, ambiguous={"model-x": list(found.ambiguous)}
    )
    assert entry.entry(parse_iso("2026-08-17T12:00:00Z"))["openrouterMatch"]["ambiguous"] == {
        "model-x": ["a/model-x", "b/model-x"]
    }


# -- 5./6. reasoning ---------------------------------------------------------------------------


def test_gemini_thinking_is_the_apis_reasoning_signal(published):
    store, _ = published
    models, _ = provider_list(store, "gemini")
    raw = json.loads(fixture_path("provider-gemini-models-2026-08-17.json").read_bytes())
    thinking = [m["name"].removeprefix("models/") for m in raw["models"] if m.get("thinking")]
    assert len(thinking) == 34
    assert all(models[i]["reasoning"] != "none" for i in thinking)
    latest = models["gemini-flash-latest"]
    assert latest["reasoning"] == "configurable"
    assert latest["detectionSource"]["reasoning"] == "api"
    # OpenRouter's ~google/gemini-flash-latest is the same name: tools and vision known.
    assert latest["supportsTools"] is True and latest["supportsVision"] is True


def test_reasoning_first_families_are_recognised_whoever_serves_them(published):
    store, _ = published
    models, _ = provider_list(store, "openai")
    for model_id in ("o3-deep-research", "o4-mini-deep-research"):
        assert models[model_id]["reasoning"] == "fixed", models[model_id]["evidence"]
    together, _ = provider_list(store, "together")
    distill = together["deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"]
    assert distill["reasoning"] == "fixed"
    # The reference ids in OpenAI's own list that are not reasoning models stay `none`.
    # (`none` where OpenRouter's record says so, unknown where nothing does.)
    assert all(
        models[i].get("reasoning", "none") == "none"
        for i in models
        if i.startswith(("gpt-4o-", "gpt-3.5"))
        and models[i]["detectionSource"].get("reasoning") != "api"
    )


# -- 7./8. units and float noise -----------------------------------------------------------------


def test_audio_models_are_priced_per_unit_not_per_million_tokens(tmp_path):
    store = LocalStore(tmp_path / "or")
    now = parse_iso("2026-08-19T00:00:00Z")
    path = fixture_path("openrouter-models-all-2026-08-19.json")
    assert sync_openrouter(store, CatalogConfig(), SyncRequest(now=now, from_file=path)).published
    models = {m["id"]: m for m in read_json(store, keys.CURRENT)["models"]}
    raw = {i["id"]: i for i in extract_items(path.read_bytes())}
    for model_id in ("openai/whisper-1", "deepgram/nova-3", "x-ai/grok-stt-1.0"):
        record = models[model_id]
        assert record["pricing"]["perUnit"] == Decimal(raw[model_id]["pricing"]["prompt"])
        assert record["pricing"]["unit"] == "unstated"
        assert "input" not in record["pricing"] and "output" not in record["pricing"]
        assert record["priceTier"] == "unknown"
        assert "per 1M" not in record["cost"] and "billing unit" in record["cost"]
    assert (
        models["openai/whisper-1"]["cost"] == "$0.006 per billing unit (unit not stated upstream)"
    )
    unit_priced = [m for m in models.values() if "perUnit" in m["pricing"]]
    assert len(unit_priced) == 32
    assert {m["kind"] for m in unit_priced} == {"speech", "transcription"}
    # Priced per token upstream (prompt and completion): stays per 1M tokens, exactly.
    transcribe = models["openai/gpt-4o-transcribe"]["pricing"]
    assert (transcribe["input"], transcribe["output"]) == (Decimal("2.5"), Decimal(10))


def test_float_noise_is_cleaned_and_the_raw_snapshot_keeps_it(published, tmp_path):
    store, _ = published
    models, _ = provider_list(store, "together")
    llama = models["meta-llama/Llama-3.3-70B-Instruct-Turbo"]["pricing"]
    assert llama["input"] == llama["output"] == Decimal("1.04")
    document = read_json(store, keys.provider_native("together"))
    assert b"1.0399999999999998" in store.get(document["rawKey"]).data

    or_store = LocalStore(tmp_path / "or")
    path = fixture_path("openrouter-models-2026-02-27.json")
    now = parse_iso("2026-02-27T00:00:00Z")
    assert sync_openrouter(
        or_store, CatalogConfig(), SyncRequest(now=now, from_file=path)
    ).published
    noisy = [
        i
        for i in extract_items(path.read_bytes())
        if "0.00000020000000000000002" in json.dumps(i["pricing"])
    ]
    assert noisy
    published_models = {m["id"]: m for m in read_json(or_store, keys.CURRENT)["models"]}
    names = {"prompt": "input", "completion": "output", "input_cache_read": "cacheRead"}
    for item in noisy:
        for key, value in item["pricing"].items():
            if value == "0.00000020000000000000002":
                assert published_models[item["id"]]["pricing"][names[key]] == Decimal("0.2")
    raw_key = read_json(or_store, keys.CURRENT)["rawKey"]
    assert b"0.00000020000000000000002" in or_store.get(raw_key).data


def test_openai_list_states_no_prices(published):
    """The OpenAI-compatible lists carry only id/created/owned_by (the adapter's quirk)."""
    items = openai.ADAPTER.parse(
        [fixture_path("provider-cerebras-models-2026-08-17.json").read_bytes()]
    )
    natives = [openai.ADAPTER.translate(i) for i in items]
    assert all(n.pricing is None and n.max_output is None for n in natives)


def test_catalog_fallback_tier_keeps_open_weight_prices_out(tmp_path):
    """When DashScope's API fails, its list is served from OpenRouter's qwen/ entries: the
    closed models keep OpenRouter's (vendor) prices, open-weight ones carry none."""
    from provider_server import ProviderServer

    from pipeline.runs.providers import ProvidersRequest, sync_providers
    from pipeline.sources.registry import INSTANCE_ONLY, SOURCE_TYPES

    store = LocalStore(tmp_path / "store")
    now = parse_iso("2026-08-17T12:00:00Z")
    path = fixture_path("openrouter-models-2026-08-17.json")
    assert sync_openrouter(store, CatalogConfig(), SyncRequest(now=now, from_file=path)).published
    with ProviderServer() as server:
        base = server.mount("dashscope", "dashscope", b"<html>maintenance</html>")
        sources: dict[str, Any] = {
            n: {"enabled": False} for n in SOURCE_TYPES if n not in INSTANCE_ONLY
        }
        sources["dashscope"] = {"enabled": True, "base_url": base, "api_key_env": "K"}
        result = sync_providers(
            store,
            CatalogConfig(extra={"sources": sources}),
            ProvidersRequest(now=now, only=["dashscope"]),
            env={"K": "key"},
            sleep=lambda _s: None,
        )
    assert result.results["dashscope"].tier == "catalog"
    models, provenance = provider_list(store, "dashscope")
    open_model = models["qwen3-32b"]
    assert "input" not in open_model["pricing"] and open_model["priceTier"] == "unknown"
    assert provenance["qwen3-32b"]["pricing"] == "unknown"
    # Without a price, whether it is free is unknown too (not `isFree: false`).
    assert "isFree" not in open_model and provenance["qwen3-32b"]["isFree"] == "unknown"
    assert open_model["supportsTools"] is True  # flags stay the model's, from OpenRouter
    closed = models["qwen3-max"]
    assert closed["pricing"]["input"] == Decimal("0.78")
    assert provenance["qwen3-max"] == {"all": "openrouter:qwen/qwen3-max"}


# -- issue 26: the seams — units, flags, a host's own figures, lifecycle -------------------------

# Text-to-speech priced per character (Together's "input" per 1M characters, Groq's "prompt"
# per character) that was published as a per-1M-token price: 8 models, 10 values.
PER_CHARACTER = {
    ("together", "cartesia/sonic"): (Decimal("0.000065"), None),
    ("together", "cartesia/sonic-2"): (Decimal("0.000065"), None),
    ("together", "cartesia/sonic-3"): (Decimal("0.000065"), None),
    ("together", "hexgrad/Kokoro-82M"): (Decimal("0.000004"), None),
    ("together", "canopylabs/orpheus-3b-0.1-ft"): (Decimal("0.000015"), None),
    ("together", "rime-labs/rime-arcana-v2"): (Decimal("0.00000027"), None),
    ("groq", "canopylabs/orpheus-arabic-saudi"): (Decimal("0.00004"), Decimal("0.00002")),
    ("groq", "canopylabs/orpheus-v1-english"): (Decimal("0.000022"), Decimal("0.000011")),
}


def test_per_character_speech_prices_carry_their_unit_on_every_list(published):
    store, _ = published
    for (source, model_id), (per_unit, cached) in PER_CHARACTER.items():
        models, provenance = provider_list(store, source)
        model = models[model_id]
        pricing = model["pricing"]
        assert (pricing["perUnit"], pricing["unit"]) == (per_unit, "unstated"), model_id
        assert not {"input", "output", "cacheRead"} & set(pricing), model_id
        assert pricing["other"].get("input_cache_read") == cached, model_id
        assert "per 1M" not in model["cost"] and "per billing unit" in model["cost"]
        assert model["priceTier"] == "unknown" and model["isFree"] is False
        assert provenance[model_id]["pricing"] == "native"
    # No speech or transcription model of any list is priced "per 1M input" any more.
    for _key, document in every_provider_list(store):
        for model in document["models"]:
            if model["kind"] in ("speech", "transcription") and "input" in model["pricing"]:
                assert "output" in model["pricing"], model["id"]


T2V = ("Wan-AI/wan2.7-t2v", "HappyHorse/HappyHorse-1.0-T2V", "alibaba/happyhorse-1.0-t2v")


def test_text_to_video_is_not_vision_and_api_flags_cite_a_field_of_the_raw_record(published):
    store, _ = published
    together, provenance = provider_list(store, "together")
    for model_id in (*T2V, "alibaba/happyhorse-1.1-t2v"):
        model = together[model_id]
        assert model["supportsVision"] is False, model_id
        assert model["detectionSource"]["supportsVision"] == "heuristic"
        assert "text-to-video" in model["evidence"]["supportsVision"]
        # `type: video` says what comes out; what goes in is not stated.
        assert provenance[model_id]["modalities"] == "input unknown, output native"
    assert together["Wan-AI/wan2.7-i2v"]["supportsVision"] is True
    # Flags decided by an adapter's own rule or an id guess are heuristics, not the API's.
    anthropic, _ = provider_list(store, "anthropic")
    sonnet = anthropic["claude-sonnet-5"]
    assert sonnet["detectionSource"]["supportsTools"] == "heuristic"
    assert sonnet["evidence"]["supportsTools"].startswith("anthropic list rule")
    assert sonnet["evidence"]["supportsVision"].startswith("capabilities.image_input: ")
    mistral_models, _ = provider_list(store, "mistral")
    assert mistral_models["mistral-medium-2505"]["detectionSource"]["structuredOutput"] == (
        "heuristic"
    )
    openai_models, _ = provider_list(store, "openai")
    dalle = openai_models.get("dall-e-3") or openai_models["gpt-image-1"]
    assert dalle["detectionSource"].get("supportsVision") != "api"
    # Every `api` flag left cites a field the raw record has: the law, on every list.
    from pipeline.laws import check, read_set

    assert check(read_set(store), ["api-cites-raw"]) == []
    flags = 0
    for _key, document in every_provider_list(store):
        for model in document["models"]:
            flags += sum(1 for layer in model["detectionSource"].values() if layer == "api")
    assert flags > 2000


def test_a_hosts_own_openrouter_style_figures_are_read_as_native(published):
    """Baseten's /models carries pricing, context_length, max_completion_tokens,
    supported_features and quantization for its 13 models: 65 values, all published with
    provenance `native` (before issue 26: absent, `unknown`)."""
    store, _ = published
    models, provenance = provider_list(store, "baseten")
    raw = {
        m["id"]: m
        for m in json.loads(fixture_path("provider-baseten-models-2026-08-17.json").read_bytes())[
            "data"
        ]
    }
    assert len(models) == len(raw) == 13
    read = 0
    for model_id, entry in raw.items():
        model, origin = models[model_id], provenance[model_id]
        assert model["maxContext"] == entry["context_length"], model_id
        assert model["maxOutput"] == entry["max_completion_tokens"], model_id
        assert model["pricing"]["input"] == Decimal(entry["pricing"]["prompt"]) * 10**6
        assert model["pricing"]["output"] == Decimal(entry["pricing"]["completion"]) * 10**6
        assert model["quantization"] == entry["quantization"], model_id
        assert ("tools" in entry["supported_features"]) == model["supportsTools"], model_id
        assert model["evidence"]["supportsTools"].startswith("supported_features: ")
        for name in ("maxContext", "maxOutput", "pricing", "supportedParameters", "quantization"):
            assert origin[name] == "native", (model_id, name)
            read += 1
    assert read == 65
    assert models["openai/gpt-oss-120b"]["cost"] == "$0.10/$0.50 per 1M"


def test_mistral_retirement_and_replacement_are_in_the_record(published):
    store, _ = published
    models, _ = provider_list(store, "mistral")
    life = models["mistral-medium-2505"]["lifecycle"]
    assert life["expiresAt"] == "2026-08-31T12:00:00Z"
    assert life["replacement"] == "mistral-medium-3-5"
    assert "replacement" not in models["mistral-medium-3-5"]["lifecycle"]


def test_a_model_its_provider_replaced_is_redirected_there_when_it_goes(tmp_path):
    """Mistral names mistral-medium-3-5 as the replacement of mistral-medium-2508 (retiring
    2026-08-31). OpenRouter lists that model as mistralai/mistral-medium-3.1, a name the
    matcher cannot tie to Mistral's dated id; the recorded payload is edited in one place to
    carry the dated canonical slug OpenRouter gives newer Mistral models
    (mistral-medium-3.5-20260430), then the model is left out of the next snapshot."""
    from published_lists import publish_lists

    from pipeline.resolve import CatalogIndex, resolve

    raw = json.loads(fixture_path("openrouter-models-2026-08-17.json").read_bytes())
    (old,) = [m for m in raw["data"] if m["id"] == "mistralai/mistral-medium-3.1"]
    old["canonical_slug"] = "mistralai/mistral-medium-2508"
    before = tmp_path / "before.json"
    before.write_text(json.dumps(raw))
    store = LocalStore(tmp_path / "store")
    lists = {"mistral": ("mistral", "provider-mistral-models-2026-08-17.json")}
    publish_lists(store, before, lists, parse_iso("2026-08-17T12:00:00Z"))
    models, _ = provider_list(store, "mistral")
    assert [s["nativeId"] for s in models["mistral-medium-2508"]["sources"]][-1] == old["id"]
    raw["data"].remove(old)
    after = tmp_path / "after.json"
    after.write_text(json.dumps(raw))
    request = SyncRequest(now=parse_iso("2026-08-18T12:00:00Z"), from_file=after)
    assert sync_openrouter(store, CatalogConfig(), request).published
    deprecations = read_json(store, keys.DEPRECATIONS)
    (redirect,) = [r for r in deprecations["redirects"] if r["from"] == old["id"]]
    assert (redirect["to"], redirect["reason"]) == ("mistralai/mistral-medium-3-5", "replacement")
    index = CatalogIndex(read_json(store, keys.CURRENT), deprecations)
    assert resolve(old["id"], index).model_id == "mistralai/mistral-medium-3-5"
