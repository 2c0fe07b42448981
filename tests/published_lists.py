"""Publish the OpenRouter catalog and every provider list recorded on 2026-08-17 into a store,
through the real runners: the OpenRouter sync from the recorded payload, then each provider
source fetched over HTTP from ``ProviderServer`` (127.0.0.1) serving its recorded body.

``publish_breadth`` adds the three independent catalogs (models.dev, LiteLLM, genai-prices),
served the same way from their recorded copies, in the same providers run (issue 30).

Used by the crosscheck and breadth tests and to build the store the README's before/after table
comes from (``python tests/published_lists.py DIR``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from conftest import fixture_path
from provider_server import KEY, ProviderServer

from pipeline.config import CatalogConfig
from pipeline.publishing.store import LocalStore, Store
from pipeline.runs.providers import ProvidersRequest, ProvidersResult, sync_providers
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.sources.registry import INSTANCE_ONLY, SOURCE_TYPES
from pipeline.timeutil import parse_iso

NOW = parse_iso("2026-08-17T12:00:00Z")
CATALOG = "openrouter-models-2026-08-17.json"
# source name → (source type, recorded body). Xiaomi has no source type of its own and is left
# out; baseten is a generic OpenAI-compatible endpoint.
LISTS_2026_08_17: dict[str, tuple[str, str]] = {
    "anthropic": ("anthropic", "provider-anthropic-models-2026-08-17.json"),
    "baseten": ("openai-compatible", "provider-baseten-models-2026-08-17.json"),
    "cerebras": ("cerebras", "provider-cerebras-models-2026-08-17.json"),
    "cohere": ("cohere", "provider-cohere-models-2026-08-17.json"),
    "dashscope": ("dashscope", "provider-dashscope-intl-models-2026-08-17.json"),
    "dashscope-us": ("dashscope", "provider-dashscope-us-models-2026-08-17.json"),
    "deepseek": ("deepseek", "provider-deepseek-models-2026-08-17.json"),
    "gemini": ("gemini", "provider-gemini-models-2026-08-17.json"),
    "groq": ("groq", "provider-groq-models-2026-08-17.json"),
    "mistral": ("mistral", "provider-mistral-models-2026-08-17.json"),
    "openai": ("openai", "provider-openai-models-2026-08-17.json"),
    "together": ("together", "provider-together-models-2026-08-17.json"),
}


# Independent catalog source → its recorded copy (../shared/fixtures/real/SOURCES.md).
CATALOGS: dict[str, str] = {
    "modelsdev": "modelsdev-api-2026-06-13.json",
    "litellm": "litellm-model-prices-2026-07-24.json",
    "genai-prices": "genai-prices-data-2026-08-19.json",
}


def breadth_config(
    server: ProviderServer,
    catalogs: Mapping[str, bytes] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> CatalogConfig:
    """Every recorded 2026-08-17 provider list and the three catalogs mounted on ``server``;
    ``catalogs`` replaces a catalog's recorded bytes (a seeded value, a dropped entry)."""
    sources: dict[str, Any] = {
        n: {"enabled": False} for n in SOURCE_TYPES if n not in INSTANCE_ONLY
    }
    for name, (source_type, fixture) in LISTS_2026_08_17.items():
        base = server.mount(name, source_type, fixture_path(fixture))
        entry: dict[str, Any] = {"enabled": True, "base_url": base, "api_key_env": "TEST_KEY"}
        if name != source_type:
            entry["type"] = source_type
        sources[name] = entry
    # xAI's pinned manifest (overrides/pinned/xai.yaml): a provider's own data that is not an API.
    sources["xai"] = {"enabled": True}
    for name, fixture in CATALOGS.items():
        body = (catalogs or {}).get(name) or fixture_path(fixture).read_bytes()
        sources[name] = {"enabled": True, "url": server.mount(name, name, body)}
    return CatalogConfig(extra={"sources": sources, **(extra or {})})


def publish_breadth(
    store: Store,
    *,
    now: datetime = NOW,
    catalogs: Mapping[str, bytes] | None = None,
    extra: Mapping[str, Any] | None = None,
    openrouter: bool = True,
) -> ProvidersResult:
    """The 2026-08-17 OpenRouter catalog, then one providers run over every recorded provider
    list and the three independent catalogs."""
    if openrouter:
        synced = sync_openrouter(
            store, CatalogConfig(), SyncRequest(now=now, from_file=fixture_path(CATALOG))
        )
        assert synced.published, synced.error
    with ProviderServer() as server:
        config = breadth_config(server, catalogs, extra)
        only = [*LISTS_2026_08_17, "xai", *CATALOGS]
        result = sync_providers(
            store,
            config,
            ProvidersRequest(now=now, only=only, refresh=True),
            env={"TEST_KEY": KEY},
            sleep=lambda _s: None,
        )
    return result


def publish_all(store: Store) -> ProvidersResult:
    """The 2026-08-17 OpenRouter catalog, then every provider list above, into ``store``."""
    return publish_lists(store, CATALOG, LISTS_2026_08_17, NOW)


def publish_lists(
    store: Store, catalog: str | Path, lists: dict[str, tuple[str, str]], now: datetime
) -> ProvidersResult:
    """The OpenRouter payload ``catalog`` (a recorded payload's name, or a file), then each
    provider list of ``lists`` (source name → (source type, recorded body)) fetched from
    ``ProviderServer``, into ``store`` at ``now``."""
    payload = catalog if isinstance(catalog, Path) else fixture_path(catalog)
    synced = sync_openrouter(store, CatalogConfig(), SyncRequest(now=now, from_file=payload))
    assert synced.published, synced.error
    with ProviderServer() as server:
        sources: dict[str, Any] = {
            n: {"enabled": False} for n in SOURCE_TYPES if n not in INSTANCE_ONLY
        }
        for name, (source_type, fixture) in lists.items():
            base = server.mount(name, source_type, fixture_path(fixture))
            entry: dict[str, Any] = {"enabled": True, "base_url": base, "api_key_env": "TEST_KEY"}
            if name != source_type:
                entry["type"] = source_type
            sources[name] = entry
        config = CatalogConfig(extra={"sources": sources})
        result = sync_providers(
            store,
            config,
            ProvidersRequest(now=now, only=list(lists)),
            env={"TEST_KEY": KEY},
            sleep=lambda _s: None,
        )
    assert all(r.tier == "api" for r in result.results.values()), result.summary
    return result


if __name__ == "__main__":
    if "--breadth" in sys.argv:
        publish_breadth(LocalStore(Path(sys.argv[1])))
    else:
        publish_all(LocalStore(Path(sys.argv[1])))
    print(f"published into {sys.argv[1]}")
