"""Each upstream quirk an adapter owns, shown on the real payload that has it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from conftest import fixture_path

from pipeline.records.payloads import NativeModel
from pipeline.sources import anthropic, cohere, gemini, groq, mistral, ollama, openai, together
from pipeline.sources.native import Adapter


def translate_all(adapter: Adapter, fixture: str) -> dict[str, NativeModel]:
    items: list[Any] = adapter.parse([fixture_path(fixture).read_bytes()])
    return {m.id: m for m in (adapter.translate(item) for item in items)}


def test_mistral_drops_fetch_time_created_and_collapses_repeated_ids():
    models = translate_all(mistral.ADAPTER, "provider-mistral-models-2025-08-30.json")
    assert all(m.created is None for m in models.values())  # `created` is the request time
    # voxtral-mini-2507 is listed twice; its own entry (audio input, 32k) wins over the copy
    # carried by the transcribe model's alias entry (16k, no audio).
    voxtral = models["voxtral-mini-2507"]
    assert voxtral.max_context == 32768
    assert "audio" in (voxtral.input_modalities or [])
    latest = translate_all(mistral.ADAPTER, "provider-mistral-models-2026-08-17.json")
    assert latest["codestral-latest"].canonical_slug == "codestral-2508"
    assert latest["mistral-medium-2505"].expires_at == "2026-08-31T12:00:00Z"


def test_together_zero_prices_mean_not_priced_per_token():
    models = translate_all(together.ADAPTER, "provider-together-models-2026-08-17.json")
    kimi = models["moonshotai/Kimi-K3"]
    assert kimi.pricing is not None
    assert (kimi.pricing.input, kimi.pricing.output) == (Decimal(3), Decimal(15))
    assert kimi.pricing.cache_read == Decimal("0.3")
    # Image models are billed per image and report 0 per token: no made-up free price.
    images = [m for m in models.values() if m.output_modalities == ["image"]]
    assert images
    assert all(m.pricing is None for m in images if not m.id.endswith("-Free"))
    embed = models["intfloat/multilingual-e5-large-instruct"]
    assert embed.output_modalities == ["embeddings"]


def test_gemini_strips_models_prefix_and_keeps_google_token_limits():
    models = translate_all(gemini.ADAPTER, "provider-gemini-models-2026-08-17.json")
    flash = models["gemini-2.5-flash"]
    assert (flash.max_context, flash.max_output) == (1048576, 65536)
    assert not any(i.startswith("models/") for i in models)
    embedders = [m for m in models.values() if m.output_modalities == ["embeddings"]]
    assert len(embedders) == 3


def test_openai_shutdown_date_and_guessed_kinds():
    models = translate_all(openai.ADAPTER, "provider-openai-models-2026-08-17.json")
    assert models["gpt-4-0613"].expires_at == "2026-10-23T00:00:00Z"
    assert models["text-embedding-3-small"].output_modalities == ["embeddings"]
    assert "guessed" in models["text-embedding-3-small"].notes["modalities"]
    assert models["gpt-4o"].output_modalities is None  # left to OpenRouter enrichment


def test_created_zero_or_absent_is_unknown():
    cerebras = translate_all(openai.ADAPTER, "provider-cerebras-models-2026-08-17.json")
    deepseek = translate_all(openai.ADAPTER, "provider-deepseek-models-2026-08-17.json")
    assert all(m.created is None for m in [*cerebras.values(), *deepseek.values()])


def test_cohere_null_features_are_unknown_not_none():
    models = translate_all(cohere.ADAPTER, "provider-cohere-models-2026-08-17.json")
    aya = models["c4ai-aya-expanse-32b"]  # features: null
    assert aya.supported_parameters is None
    reasoning = models["command-a-reasoning-08-2025"]
    assert reasoning.supported_parameters is not None
    assert {"tools", "reasoning", "response_format"} <= set(reasoning.supported_parameters)
    kinds = {tuple(m.output_modalities or []) for m in models.values()}
    assert {("embeddings",), ("rerank",), ("transcription",), ("text",)} <= kinds


def test_anthropic_2026_capabilities_and_limits():
    models = translate_all(anthropic.ADAPTER, "provider-anthropic-models-2026-08-17.json")
    opus = models["claude-opus-5"]
    assert (opus.max_context, opus.max_output) == (1000000, 128000)
    assert opus.input_modalities == ["text", "image", "file"]
    assert "reasoning" in (opus.supported_parameters or [])
    old = translate_all(anthropic.ADAPTER, "provider-anthropic-models-2025-08-30.json")
    assert all(m.max_context is None and m.supported_parameters is None for m in old.values())
    assert old["claude-3-opus-20240229"].created == 1709164800  # created_at is an ISO string


def test_groq_window_and_token_prices_only():
    models = translate_all(groq.ADAPTER, "provider-groq-models-2026-08-17.json")
    orpheus = models["canopylabs/orpheus-arabic-saudi"]
    assert orpheus.max_context == 4000
    assert orpheus.output_modalities == ["speech"]
    assert orpheus.pricing is not None and orpheus.pricing.input == Decimal(40)
    old = translate_all(groq.ADAPTER, "provider-groq-models-2025-08-30.json")
    assert old["llama3-70b-8192"].max_context == 8192


def test_gemini_thinking_methods_and_embedding_limits():
    """Issue 14: `thinking: true` is Google's word that the model reasons; generateContent
    says nothing about modalities (TTS and image models use it too); embedders report
    outputTokenLimit 1, which is not an output cap."""
    models = translate_all(gemini.ADAPTER, "provider-gemini-models-2026-08-17.json")
    # The evidence starts with the field that says so (issue 26: machine-checkable).
    assert models["gemini-flash-latest"].reasoning == (
        "thinking is true in the Gemini list: the model reasons"
    )
    assert models["gemini-2.5-flash-preview-tts"].reasoning is None  # no `thinking` key
    assert models["gemini-2.5-flash-preview-tts"].input_modalities is None
    assert models["gemini-2.5-flash-image"].output_modalities is None
    embed = models["gemini-embedding-001"]
    assert embed.output_modalities == ["embeddings"]
    assert embed.max_output is None and embed.max_context == 2048
    assert models["veo-3.1-generate-preview"].output_modalities == ["video"]


def test_together_type_states_outputs_and_only_non_chat_inputs():
    models = translate_all(together.ADAPTER, "provider-together-models-2026-08-17.json")
    gemma = models["google/gemma-4-31B-it"]  # type: chat, takes images
    assert gemma.input_modalities is None and gemma.output_modalities == ["text"]
    kinds = {tuple(m.output_modalities or ()) for m in models.values()}
    assert {("text",), ("image",), ("embeddings",), ("rerank",)} <= kinds
    # Image and video generators: the type says what comes out, not whether an image goes
    # in (issue 26: Wan-AI/wan2.7-t2v is text-to-video, not vision).
    generators = [m for m in models.values() if m.output_modalities in (["image"], ["video"])]
    assert len(generators) == 68
    assert all(m.input_modalities is None for m in generators)
    assert all(m.cites == {"outputs": "type"} for m in generators if m.pricing is None)
    # Float noise in the price: cleaned to the decimal Together meant.
    llama = models["meta-llama/Llama-3.3-70B-Instruct-Turbo"].pricing
    assert llama is not None and llama.input == Decimal("1.04")


def test_mistral_capabilities_decide_modalities_and_parameters():
    """Issue 14: Mistral's capability booleans are the API's word; an embedder lists them all
    false, which states no output (not "text"), so it stays unknown for the heuristics."""
    models = translate_all(mistral.ADAPTER, "provider-mistral-models-2026-08-17.json")
    small = models["mistral-small-2603"]
    assert small.input_modalities == ["text", "image"] and small.output_modalities == ["text"]
    assert small.supported_parameters is not None
    assert {"tools", "reasoning", "response_format"} <= set(small.supported_parameters)
    assert models["voxtral-mini-tts-2603"].output_modalities == ["speech"]
    realtime = models["voxtral-mini-transcribe-realtime-2602"]
    assert realtime.output_modalities == ["transcription"]
    assert "audio" in (realtime.input_modalities or [])
    embed = models["mistral-embed"]
    assert embed.input_modalities is None and embed.output_modalities is None
    assert embed.supported_parameters == ["max_tokens", "temperature"]  # no tools stated


def test_cohere_null_features_leave_inputs_unknown_and_ollama_states_no_modalities():
    """Issue 14: `features: null` says nothing about image input; Ollama's tag list says
    nothing about modalities. Neither becomes a text-only default."""
    cohere_models = translate_all(cohere.ADAPTER, "provider-cohere-models-2026-08-17.json")
    aya = cohere_models["c4ai-aya-expanse-32b"]  # chat endpoints, features: null
    assert aya.input_modalities is None and aya.output_modalities == ["text"]
    vision = cohere_models["command-a-vision-07-2025"]
    assert vision.input_modalities == ["text", "image"]
    local = translate_all(ollama.ADAPTER, "provider-ollama-api-tags-2025-07-20.json")
    assert local and all(m.input_modalities is None for m in local.values())
    assert all(m.pricing is not None and m.pricing.input == 0 for m in local.values())
