"""A store synced the way production fills it: the providers job over recorded Anthropic, OpenAI
and Gemini lists (served by a real local HTTP server), then the OpenRouter "all" payload, so
the published records carry provider-native ids in their ``sources``."""

from __future__ import annotations

from typing import Any

from conftest import fixture_path
from provider_server import KEY, ProviderServer

from pipeline.config import CatalogConfig
from pipeline.publishing.store import Store
from pipeline.runs.providers import ProvidersRequest, sync_providers
from pipeline.runs.sync import SyncRequest, SyncResult, sync_openrouter
from pipeline.timeutil import parse_iso

ALL = "openrouter-models-all-2026-08-19.json"
NOW = parse_iso("2026-08-19T06:00:00Z")
NATIVE = {
    "anthropic": "provider-anthropic-models-2026-08-17.json",
    "openai": "provider-openai-models-2026-08-17.json",
    "gemini": "provider-gemini-models-2026-08-17.json",
}


def sync_with_native_ids(store: Store) -> SyncResult:
    """Run the providers job for Anthropic, OpenAI and Gemini, then the OpenRouter sync."""
    from pipeline.sources.registry import INSTANCE_ONLY, SOURCE_TYPES

    assert sync_openrouter(
        store, CatalogConfig(), SyncRequest(now=NOW, from_file=fixture_path(ALL))
    ).published
    with ProviderServer() as server:
        sources: dict[str, Any] = {
            n: {"enabled": False} for n in SOURCE_TYPES if n not in INSTANCE_ONLY
        }
        for name, fixture in NATIVE.items():
            base = server.mount(name, name, fixture_path(fixture))
            sources[name] = {"enabled": True, "base_url": base, "api_key_env": "TEST_KEY"}
        config = CatalogConfig(extra={"sources": sources, "model_cache": {}})
        sync_providers(
            store,
            config,
            ProvidersRequest(now=NOW, only=None, refresh=False),
            env={"TEST_KEY": KEY},
            sleep=lambda _s: None,
        )
    # The OpenRouter sync links each record to the provider lists now in the store.
    result = sync_openrouter(
        store, CatalogConfig(), SyncRequest(now=NOW, from_file=fixture_path(ALL))
    )
    assert result.published, result.error
    return result
