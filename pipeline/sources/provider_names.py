"""One table: how each independent catalog names a provider, and which provider that is here.

models.dev, LiteLLM and genai-prices each name providers their own way (`google` / `gemini`,
`mistral` / `mistralai`, `alibaba` / `dashscope`, `togetherai` / `together_ai` / `together`).
``PROVIDER_NAMES`` maps every name known to differ to ours: the name of our own source for that
provider where there is one (``pipeline.sources.registry``), else the models.dev name. A name
missing from the table is its own provider, under its own name: two catalogs' providers are
never merged because their names look alike, only because a row here says so.

``SKIPPED`` names what is not a provider list at all (OpenRouter, whose own feed is the
catalog's spine; LiteLLM's web-search tools). Each row says where it comes from.
"""

from __future__ import annotations

import re

# (catalog source type, the catalog's provider name) → our provider name.
PROVIDER_NAMES: dict[tuple[str, str], str] = {
    # Google: the Gemini API (generativelanguage.googleapis.com) is our `gemini` source.
    ("modelsdev", "google"): "gemini",
    ("litellm", "gemini"): "gemini",
    ("genai-prices", "google"): "gemini",
    # Vertex AI serves the same Gemini models (and partners' models) on another endpoint and
    # bill: a provider of its own, `vertex`, whatever the catalog calls each of its parts.
    ("modelsdev", "google-vertex"): "vertex",
    ("modelsdev", "google-vertex-anthropic"): "vertex",
    ("litellm", "vertex_ai"): "vertex",
    ("litellm", "vertex_ai-language-models"): "vertex",
    ("litellm", "vertex_ai-anthropic_models"): "vertex",
    ("litellm", "vertex_ai-mistral_models"): "vertex",
    ("litellm", "vertex_ai-llama_models"): "vertex",
    ("litellm", "vertex_ai-embedding-models"): "vertex",
    ("litellm", "vertex_ai-image-models"): "vertex",
    ("litellm", "vertex_ai-video-models"): "vertex",
    ("litellm", "vertex_ai-ai21_models"): "vertex",
    ("litellm", "vertex_ai-qwen_models"): "vertex",
    ("litellm", "vertex_ai-deepseek_models"): "vertex",
    ("litellm", "vertex_ai-openai_models"): "vertex",
    ("litellm", "vertex_ai-text-models"): "vertex",
    ("litellm", "vertex_ai-zai_models"): "vertex",
    ("litellm", "vertex_ai-minimax_models"): "vertex",
    ("litellm", "vertex_ai-moonshot_models"): "vertex",
    # Mistral (OpenRouter's vendor prefix is `mistralai`).
    ("modelsdev", "mistral"): "mistral",
    ("litellm", "mistral"): "mistral",
    ("genai-prices", "mistral"): "mistral",
    # Alibaba Cloud Model Studio, international endpoint: our `dashscope` source.
    ("modelsdev", "alibaba"): "dashscope",
    ("litellm", "dashscope"): "dashscope",
    # Together AI.
    ("modelsdev", "togetherai"): "together",
    ("litellm", "together_ai"): "together",
    ("genai-prices", "together"): "together",
    # Moonshot AI (Kimi), international endpoint.
    ("modelsdev", "moonshotai"): "moonshot",
    ("litellm", "moonshot"): "moonshot",
    ("genai-prices", "moonshotai"): "moonshot",
    # xAI (OpenRouter and genai-prices: `x-ai`).
    ("genai-prices", "x-ai"): "xai",
    # Cohere: LiteLLM keeps its chat models under `cohere_chat`.
    ("litellm", "cohere_chat"): "cohere",
    # OpenAI: LiteLLM's legacy completion models are OpenAI's too.
    ("litellm", "text-completion-openai"): "openai",
    # Amazon Bedrock: LiteLLM splits it by API (invoke, converse, mantle); genai-prices `aws`.
    ("litellm", "bedrock"): "amazon-bedrock",
    ("litellm", "bedrock_converse"): "amazon-bedrock",
    ("litellm", "bedrock_mantle"): "amazon-bedrock",
    ("genai-prices", "aws"): "amazon-bedrock",
    # Hosts that LiteLLM and genai-prices spell differently from models.dev.
    ("litellm", "fireworks_ai"): "fireworks-ai",
    ("litellm", "fireworks_ai-embedding-models"): "fireworks-ai",
    ("genai-prices", "fireworks"): "fireworks-ai",
    ("litellm", "novita"): "novita-ai",
    ("genai-prices", "novita"): "novita-ai",
    ("litellm", "vercel_ai_gateway"): "vercel",
    ("litellm", "github_copilot"): "github-copilot",
    ("litellm", "cloudflare"): "cloudflare-workers-ai",
    ("litellm", "nvidia_nim"): "nvidia",
    ("litellm", "friendliai"): "friendli",
    ("litellm", "snowflake"): "snowflake-cortex",
    ("litellm", "gmi"): "gmicloud",
    ("litellm", "meta_llama"): "llama",
    # LiteLLM `ollama` is a local Ollama server, like our `ollama` source (models.dev's
    # `ollama-cloud` is Ollama's hosted service: another provider).
    ("litellm", "ollama"): "ollama",
}

SKIPPED: dict[tuple[str, str], str] = {
    # OpenRouter's own feed is models/openrouter/current.json; a catalog's copy of it is not a
    # provider list beside it.
    ("modelsdev", "openrouter"): "OpenRouter's own feed is the catalog",
    ("litellm", "openrouter"): "OpenRouter's own feed is the catalog",
    ("genai-prices", "openrouter"): "OpenRouter's own feed is the catalog",
}

# A provider name is a path segment of store keys and URLs: lower-case letters, digits and
# `.`, `_`, `-`, not starting with a dot (models.dev has `wafer.ai`).
PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def provider_for(source_type: str, upstream: str) -> str | None:
    """Our provider name for a catalog's provider name; None for a skipped one.

    Raises ValueError for a name that cannot be a provider name (the entry is quarantined)."""
    key = (source_type, upstream)
    if key in SKIPPED:
        return None
    mapped = PROVIDER_NAMES.get(key)
    if mapped is not None:
        return mapped
    name = upstream.strip().lower()
    if not PROVIDER_NAME.match(name):
        raise ValueError(f"provider name {upstream[:80]!r} is not usable as a provider name")
    return name


def upstream_names(provider: str) -> dict[str, list[str]]:
    """The names each catalog uses for ``provider`` per the table (catalog type → names)."""
    out: dict[str, list[str]] = {}
    for (source_type, upstream), mapped in PROVIDER_NAMES.items():
        if mapped == provider:
            out.setdefault(source_type, []).append(upstream)
    return out
