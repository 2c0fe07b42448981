"""Native id ↔ OpenRouter id matching."""

from __future__ import annotations

import pytest

from pipeline.records.model import ModelRecord
from pipeline.runs.fallback import load_embedded
from pipeline.stages.enrich import OpenRouterIndex, match_key


@pytest.mark.parametrize(
    ("native", "openrouter"),
    [
        ("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4.5"),
        ("gpt-4o-2024-08-06", "openai/gpt-4o"),
        ("gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("command-a-03-2025", "cohere/command-a"),
        ("meta-llama/Llama-3.3-70B-Instruct", "meta-llama/llama-3.3-70b-instruct"),
        ("qwen_max", "qwen/qwen-max"),
    ],
)
def test_match_key_meets(native, openrouter):
    assert match_key(native) == match_key(openrouter)


@pytest.mark.parametrize(
    ("native", "openrouter"),
    [
        ("gpt-4o-mini", "openai/gpt-4o"),
        ("claude-opus-4-1", "anthropic/claude-opus-4"),
        # Four-digit tags are versions, part of the identity (issue 14).
        ("gpt-4-0613", "openai/gpt-4"),
        ("mistral-small-2506", "mistralai/mistral-small"),
        ("deepseek-ai/DeepSeek-V4-Pro-0813", "deepseek/deepseek-v4-pro"),
    ],
)
def test_match_key_keeps_distinct_models_apart(native, openrouter):
    assert match_key(native) != match_key(openrouter)


def _record(model_id: str) -> ModelRecord:
    base = load_embedded().models[0]
    return base.model_copy(update={"id": model_id, "family": model_id.split("/", maxsplit=1)[0]})


def test_vendor_sources_only_match_their_vendor():
    index = OpenRouterIndex.build(
        [_record("openai/gpt-oss-120b"), _record("openai/gpt-4o"), _record("openai/gpt-4o:free")]
    )
    assert index.match("gpt-4o-2024-08-06", ("openai",)).id == "openai/gpt-4o"
    assert index.match("gpt-4o", ("mistralai",)) is None
    # Hosts (no vendor) match by the prefix they carry.
    assert index.match("openai/gpt-oss-120b", ()).id == "openai/gpt-oss-120b"


def test_ambiguous_host_ids_do_not_match():
    index = OpenRouterIndex.build([_record("a/model-x"), _record("b/model-x")])
    assert index.match("model-x", ()) is None


def test_host_ids_match_only_their_vendor():
    index = OpenRouterIndex.build(
        [_record("google/gemma-4-31b-it"), _record("deepseek/deepseek-v3")]
    )
    assert index.match("google/gemma-4-31B-it", ()).id == "google/gemma-4-31b-it"
    # A fine-tune under another org is a different model.
    assert index.match("pearl-ai/gemma-4-31b-it", ()) is None
    # Hugging Face org names that differ from OpenRouter's vendor prefix.
    assert index.match("deepseek-ai/DeepSeek-V3", ()).id == "deepseek/deepseek-v3"
