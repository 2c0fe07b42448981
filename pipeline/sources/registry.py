"""The one table of provider-native sources. No discovery: a source exists because it is here.

Grouped as models.dev does: ``direct`` vendors list their own models; ``host`` providers serve
other vendors' open models; ``local`` servers run on your machine; ``pinned`` providers have no
usable list API and are read from hand-maintained manifests; ``independent`` catalogs
(models.dev, LiteLLM, genai-prices) list many providers' models in one file. Each row gives the
defaults an operator can override in ``catalog.yaml`` (``sources:``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pipeline.sources import (
    anthropic,
    cohere,
    gemini,
    genai_prices,
    groq,
    litellm,
    mistral,
    modelsdev,
    ollama,
    openai,
    pinned,
    together,
)
from pipeline.sources.independent import CatalogAdapter
from pipeline.sources.native import Adapter

Group = Literal["direct", "host", "local", "compatible", "pinned", "independent"]

# TTL defaults (seconds), from the caching plan in ../shared/seeds/002: local servers change
# when someone pulls a model (5 min); hand-maintained manifests change on review (24 h); every
# other source uses ``model_cache.default_ttl_seconds`` (1 h by default).
LOCAL_TTL = 300
PINNED_TTL = 86400
# Independent catalogs: models.dev rebuilds api.json hourly and LiteLLM and genai-prices change
# a few times a day; their files are 2-5 MB, so every 6 hours keeps them fresh for a price
# change announced days ahead without fetching megabytes every hour.
CATALOG_TTL = 6 * 3600


def _bare(openrouter_id: str) -> str:
    return openrouter_id.split("/", 1)[-1]


def _anthropic_native(openrouter_id: str) -> str:
    # OpenRouter writes versions with dots (claude-sonnet-4.5); Anthropic with dashes.
    return _bare(openrouter_id).replace(".", "-")


@dataclass(frozen=True)
class SourceType:
    """One kind of source and its defaults."""

    adapter: Adapter | CatalogAdapter
    """How its list is read: a provider-native ``Adapter``, or a ``CatalogAdapter`` for an
    independent catalog (group ``independent``)."""
    group: Group
    base_url: str | None
    """Default base URL (None: must be configured); for an independent catalog, the URL of
    its file (``sources.<name>.url``)."""
    api_key_env: str | None
    """Default environment variable holding the key (None: no key)."""
    key_required: bool
    """A source that needs a key runs only when its variable is set."""
    vendors: tuple[str, ...] = ()
    """OpenRouter vendor prefixes of this provider's own models (catalog fallback, matching)."""
    default_ttl: int | None = None
    """Cache TTL default; None means ``model_cache.default_ttl_seconds``."""
    enabled_by_default: bool = True
    """Local servers and generic endpoints run only when configured."""
    native_id: Callable[[str], str] = _bare
    """OpenRouter id → this provider's id, for catalog-fallback records."""


def _openai_like(
    base_url: str | None, key_env: str | None, vendors: tuple[str, ...], group: Group = "direct"
) -> SourceType:
    return SourceType(
        adapter=openai.ADAPTER,
        group=group,
        base_url=base_url,
        api_key_env=key_env,
        key_required=key_env is not None,
        vendors=vendors,
    )


def _independent(adapter: CatalogAdapter, url: str) -> SourceType:
    return SourceType(
        adapter=adapter,
        group="independent",
        base_url=url,
        api_key_env=None,
        key_required=False,
        default_ttl=CATALOG_TTL,
        # Off until listed under `sources:`: each is a 2-5 MB download from a third party and
        # adds a hundred provider lists to the store; an operator opts in.
        enabled_by_default=False,
    )


def _pinned(vendors: tuple[str, ...]) -> SourceType:
    return SourceType(
        adapter=pinned.ADAPTER,
        group="pinned",
        base_url=None,
        api_key_env=None,
        key_required=False,
        vendors=vendors,
        default_ttl=PINNED_TTL,
    )


SOURCE_TYPES: dict[str, SourceType] = {
    # -- direct vendors ----------------------------------------------------------------------
    "openai": _openai_like("https://api.openai.com/v1", "OPENAI_API_KEY", ("openai",)),
    "anthropic": SourceType(
        adapter=anthropic.ADAPTER,
        group="direct",
        base_url="https://api.anthropic.com/v1",
        api_key_env="ANTHROPIC_API_KEY",
        key_required=True,
        vendors=("anthropic",),
        native_id=_anthropic_native,
    ),
    "gemini": SourceType(
        adapter=gemini.ADAPTER,
        group="direct",
        base_url="https://generativelanguage.googleapis.com/v1beta",
        api_key_env="GEMINI_API_KEY",
        key_required=True,
        vendors=("google",),
    ),
    "mistral": SourceType(
        adapter=mistral.ADAPTER,
        group="direct",
        base_url="https://api.mistral.ai/v1",
        api_key_env="MISTRAL_API_KEY",
        key_required=True,
        vendors=("mistralai",),
    ),
    "cohere": SourceType(
        adapter=cohere.ADAPTER,
        group="direct",
        base_url="https://api.cohere.com/v1",
        api_key_env="COHERE_API_KEY",
        key_required=True,
        vendors=("cohere",),
    ),
    "deepseek": _openai_like("https://api.deepseek.com", "DEEPSEEK_API_KEY", ("deepseek",)),
    "dashscope": _openai_like(
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY", ("qwen",)
    ),
    "moonshot": _openai_like("https://api.moonshot.ai/v1", "MOONSHOT_API_KEY", ("moonshotai",)),
    # -- hosts of other vendors' models (no catalog fallback: OpenRouter has no "groq/" ids) --
    "groq": SourceType(
        adapter=groq.ADAPTER,
        group="host",
        base_url="https://api.groq.com/openai/v1",
        api_key_env="GROQ_API_KEY",
        key_required=True,
    ),
    "together": SourceType(
        adapter=together.ADAPTER,
        group="host",
        base_url="https://api.together.xyz/v1",
        api_key_env="TOGETHER_API_KEY",
        key_required=True,
    ),
    "cerebras": _openai_like("https://api.cerebras.ai/v1", "CEREBRAS_API_KEY", (), "host"),
    # -- local servers (no key) --------------------------------------------------------------
    "ollama": SourceType(
        adapter=ollama.ADAPTER,
        group="local",
        base_url="http://localhost:11434",
        api_key_env=None,
        key_required=False,
        default_ttl=LOCAL_TTL,
        enabled_by_default=False,
    ),
    "lmstudio": SourceType(
        adapter=openai.ADAPTER,
        group="local",
        base_url="http://localhost:1234/v1",
        api_key_env=None,
        key_required=False,
        default_ttl=LOCAL_TTL,
        enabled_by_default=False,
    ),
    # -- any OpenAI-compatible endpoint, as named instances (`type: openai-compatible`) -------
    "openai-compatible": SourceType(
        adapter=openai.ADAPTER,
        group="compatible",
        base_url=None,
        api_key_env=None,
        key_required=False,
        enabled_by_default=False,
    ),
    # -- pinned manifests (overrides/pinned/<name>.yaml) -------------------------------------
    "perplexity": _pinned(("perplexity",)),
    "xai": _pinned(("x-ai",)),
    "deepinfra": _pinned(()),
    # -- independent catalogs (one file, many providers; merged into the provider lists) -----
    "modelsdev": _independent(modelsdev.ADAPTER, modelsdev.DEFAULT_URL),
    "litellm": _independent(litellm.ADAPTER, litellm.DEFAULT_URL),
    "genai-prices": _independent(genai_prices.ADAPTER, genai_prices.DEFAULT_URL),
}

# Types that exist only as named instances, never as a default source of the same name.
INSTANCE_ONLY = frozenset({"openai-compatible"})
