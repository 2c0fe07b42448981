"""Provider-native sources against a real HTTP server on 127.0.0.1 serving recorded payloads."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, REPO, fixture_path, read_json
from provider_server import KEY, ProviderServer, expected_pages, items_of

from pipeline.config import CatalogConfig
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.runs.providers import ProvidersRequest, UnknownSource, sync_providers
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.timeutil import parse_iso

NOW = parse_iso("2026-08-19T06:00:00Z")
CATALOG = "openrouter-models-2026-08-19.json"

# Fixture → (source name, source type). Moonshot and LM Studio have no real captures
# (SOURCES.md); they are OpenAI-compatible, so they are run on real OpenAI-compatible bodies.
FIXTURE_SOURCES: dict[str, tuple[str, str]] = {
    "provider-anthropic-models-2025-08-30.json": ("anthropic", "anthropic"),
    "provider-anthropic-models-2026-08-17.json": ("anthropic", "anthropic"),
    "provider-baseten-models-2026-08-17.json": ("baseten", "openai-compatible"),
    "provider-cerebras-models-2025-08-30.json": ("cerebras", "cerebras"),
    "provider-cerebras-models-2026-08-17.json": ("cerebras", "cerebras"),
    "provider-cohere-models-2025-08-30.json": ("cohere", "cohere"),
    "provider-cohere-models-2026-08-17.json": ("cohere", "cohere"),
    "provider-dashscope-intl-models-2026-02-27.json": ("dashscope", "dashscope"),
    "provider-dashscope-intl-models-2026-08-17.json": ("dashscope", "dashscope"),
    "provider-dashscope-us-models-2026-08-17.json": ("dashscope-us", "dashscope"),
    "provider-deepseek-models-2025-12-14.json": ("deepseek", "deepseek"),
    "provider-deepseek-models-2026-08-17.json": ("deepseek", "deepseek"),
    "provider-gemini-models-2025-08-30.json": ("gemini", "gemini"),
    "provider-gemini-models-2026-08-17.json": ("gemini", "gemini"),
    "provider-groq-models-2025-08-30.json": ("groq", "groq"),
    "provider-groq-models-2026-08-17.json": ("groq", "groq"),
    "provider-llamacpp-v1-models-2026-08-16.json": ("lmstudio", "lmstudio"),
    "provider-mistral-models-2025-08-30.json": ("mistral", "mistral"),
    "provider-mistral-models-2026-08-17.json": ("mistral", "mistral"),
    "provider-ollama-api-tags-2025-07-20.json": ("ollama", "ollama"),
    "provider-openai-models-2025-08-30.json": ("openai", "openai"),
    "provider-openai-models-2026-08-17.json": ("openai", "openai"),
    "provider-together-models-2025-08-30.json": ("together", "together"),
    "provider-together-models-2026-08-17.json": ("together", "together"),
    "provider-xiaomi-models-2026-08-17.json": ("moonshot", "moonshot"),
}
NEEDS_KEY = {"openai-compatible", "ollama", "lmstudio"}


def test_every_provider_fixture_has_a_source():
    if not FIXTURES.exists():
        pytest.skip("../shared/fixtures/real is absent")
    on_disk = {p.name for p in FIXTURES.glob("provider-*.json")}
    assert on_disk == set(FIXTURE_SOURCES), "map new provider fixtures to a source above"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def make_config(sources: dict[str, Any], **cache: Any) -> CatalogConfig:
    return CatalogConfig(extra={"sources": sources, "model_cache": cache})


def only_source(name: str, source_type: str, base_url: str, **settings: Any) -> dict[str, Any]:
    """A config with just ``name`` enabled (every built-in source disabled)."""
    from pipeline.sources.registry import INSTANCE_ONLY, SOURCE_TYPES

    sources: dict[str, Any] = {
        n: {"enabled": False} for n in SOURCE_TYPES if n not in INSTANCE_ONLY
    }
    entry: dict[str, Any] = {"enabled": True, "base_url": base_url, **settings}
    if name != source_type:
        entry["type"] = source_type
    if source_type == "openai-compatible":
        entry.setdefault("api_key_env", "TEST_KEY")
    elif source_type not in NEEDS_KEY:
        entry["api_key_env"] = "TEST_KEY"
    sources[name] = entry
    return sources


def run(store, config, now=NOW, env=None, **kw) -> Any:
    request = ProvidersRequest(now=now, only=kw.pop("only", None), refresh=kw.pop("refresh", False))
    return sync_providers(
        store,
        config,
        request,
        env={"TEST_KEY": KEY} if env is None else env,
        sleep=lambda _s: None,
        **kw,
    )


def publish_catalog(store: LocalStore) -> None:
    result = sync_openrouter(
        store, CatalogConfig(), SyncRequest(now=NOW, from_file=fixture_path(CATALOG))
    )
    assert result.published, result.error


@pytest.mark.parametrize("fixture", sorted(FIXTURE_SOURCES))
def test_adapter_lists_every_recorded_model(fixture, server, store):
    path = fixture_path(fixture)
    name, source_type = FIXTURE_SOURCES[fixture]
    base = server.mount(name, source_type, path)
    result = run(store, make_config(only_source(name, source_type, base)), only=[name])

    outcome = result.results[name]
    assert outcome.tier == "api", outcome.reason
    assert outcome.quarantined == []
    items = items_of(path.read_bytes())
    # Mistral lists some ids twice (an alias entry repeats the id); each id is one model.
    distinct = {item.get("id") or item["name"] for item in items}
    current = read_json(store, keys.provider_current(name))
    assert current["count"] == len(distinct) == len(current["models"])
    assert {m["id"] for m in current["models"]} == {i.removeprefix("models/") for i in distinct}
    assert current["servedBy"] == "api"
    assert current["ttlSeconds"] > 0
    assert all(m["provider"] == name for m in current["models"])
    assert server.requests(name) == expected_pages(source_type, path.read_bytes())

    raw = store.get(current["rawKey"]).data
    if source_type in ("anthropic", "gemini", "cohere"):
        # Paginated: every page, in order, in one JSON array.
        pages = json.loads(raw)
        assert len(pages) == server.requests(name)
        joined = [m for page in pages for m in page["data" if "data" in page else "models"]]
        assert joined == items
    else:
        assert raw == path.read_bytes()


@pytest.mark.parametrize(
    ("source_type", "header"),
    [("openai", "Authorization"), ("anthropic", "x-api-key"), ("gemini", "x-goog-api-key")],
)
def test_wrong_key_fails_without_leaking_it(source_type, header, server, store):
    fixture = {
        "openai": "provider-openai-models-2026-08-17.json",
        "anthropic": "provider-anthropic-models-2026-08-17.json",
        "gemini": "provider-gemini-models-2026-08-17.json",
    }[source_type]
    base = server.mount(source_type, source_type, fixture_path(fixture))
    wrong = "sk-wrong-SECRET-value"
    config = make_config(only_source(source_type, source_type, base), use_catalog_fallback=False)
    result = run(store, config, env={"TEST_KEY": wrong}, only=[source_type])

    outcome = result.results[source_type]
    assert outcome.tier == "failed"
    assert "HTTP 401" in outcome.reason and "not retried" in outcome.reason
    assert "check that TEST_KEY holds a valid key" in outcome.reason
    assert f"{base}/" in outcome.reason and "?" not in outcome.reason
    assert server.requests(source_type) == 1
    sent = server.mounts[source_type].requests[0]["headers"]
    assert wrong in sent.get(header, "") + sent.get(header.lower(), "")
    for key in store.list(""):
        assert wrong.encode() not in store.get(key).data, key


def test_second_sync_inside_ttl_makes_no_request_and_expiry_makes_one(server, store):
    path = fixture_path("provider-openai-models-2026-08-17.json")
    base = server.mount("openai", "openai", path)
    config = make_config(only_source("openai", "openai", base, ttl_seconds=600))

    assert run(store, config).results["openai"].tier == "api"
    assert server.requests("openai") == 1

    inside = run(store, config, now=NOW + timedelta(seconds=599))
    assert inside.results["openai"].tier == "cache"
    assert "cache fresh until 2026-08-19T06:10:00Z" in inside.results["openai"].reason
    assert server.requests("openai") == 1

    after = run(store, config, now=NOW + timedelta(seconds=600))
    assert after.results["openai"].tier == "api"
    assert server.requests("openai") == 2

    forced = run(store, config, now=NOW + timedelta(seconds=601), refresh=True)
    assert forced.results["openai"].tier == "api"
    assert server.requests("openai") == 3


def test_ttl_comes_from_model_cache_overrides(server, store):
    base = server.mount("openai", "openai", fixture_path("provider-openai-models-2026-08-17.json"))
    config = make_config(
        only_source("openai", "openai", base), provider_ttl_overrides={"openai": 60}
    )
    run(store, config)
    assert read_json(store, keys.provider_current("openai"))["ttlSeconds"] == 60
    run(store, config, now=NOW + timedelta(seconds=61))
    assert server.requests("openai") == 2


@pytest.mark.parametrize("failure", ["500", "slow"])
def test_api_failure_serves_catalog_then_stale_cache(failure, server, store):
    path = fixture_path("provider-anthropic-models-2026-08-17.json")
    base = server.mount("anthropic", "anthropic", path)
    sources = only_source("anthropic", "anthropic", base, ttl_seconds=60, timeout_seconds=0.3)
    publish_catalog(store)
    assert run(store, make_config(sources)).results["anthropic"].tier == "api"
    first = read_json(store, keys.provider_native("anthropic"))
    first_bytes = store.get(keys.provider_native("anthropic")).data
    published = read_json(store, keys.provider_current("anthropic"))

    server.mounts["anthropic"].mode = failure
    later = NOW + timedelta(hours=2)
    result = run(store, make_config(sources), now=later)
    outcome = result.results["anthropic"]
    assert outcome.tier == "catalog"
    assert f"{base}/models" in outcome.reason
    own = read_json(store, keys.provider_native("anthropic"))
    assert own["servedBy"] == "catalog"
    ids = {m["id"] for m in own["models"]}
    # OpenRouter ids mapped to Anthropic's: vendor prefix dropped, dots as dashes.
    assert "claude-sonnet-4-5" in ids
    assert all(m["sources"][0]["source"] == "openrouter" for m in own["models"])
    # The provider's list says how it was served, and a fallback moved no model's lifecycle:
    # what the API listed before is still there, exactly as it was.
    merged = read_json(store, keys.provider_current("anthropic"))
    assert merged["servedBy"] == "catalog" and merged["schemaVersion"] == 3
    kept = {m["id"]: m for m in merged["models"]}
    for model in published["models"]:
        assert kept[model["id"]]["lifecycle"] == model["lifecycle"]
    assert ids <= set(kept)
    status = read_json(store, keys.STATUS)["jobs"]["providers"]
    assert status["outcome"] == "degraded"
    assert status["sources"]["anthropic"]["servedBy"] == "catalog"
    assert "HTTP 500" in status["sources"]["anthropic"]["reason"] or failure == "slow"

    # Without the catalog tier the last API list serves, with its age.
    # (the catalog tier replaced the cached list: put the API one back to show this tier,
    # as a schema-version-1 document — every flag present — as a cache written before 2 was)
    cached_v1 = json.loads(first_bytes)
    cached_v1["schemaVersion"] = 1
    for model in cached_v1["models"]:
        for flag, default in (("supportsVision", False), ("reasoning", "none")):
            model.setdefault(flag, default)
    store.put(keys.provider_native("anthropic"), json.dumps(cached_v1).encode())
    no_catalog = make_config(sources, use_catalog_fallback=False)
    result = run(store, no_catalog, now=later + timedelta(hours=1))
    outcome = result.results["anthropic"]
    assert outcome.tier == "stale"
    own = read_json(store, keys.provider_native("anthropic"))
    assert own["servedBy"] == "stale"
    assert own["schemaVersion"] == 2
    assert own["fetchedAt"] == "2026-08-19T06:00:00Z"
    assert [m["id"] for m in own["models"]] == [m["id"] for m in first["models"]]
    assert read_json(store, keys.provider_current("anthropic"))["servedBy"] == "stale"
    entry = read_json(store, keys.STATUS)["jobs"]["providers"]["sources"]["anthropic"]
    assert entry["servedBy"] == "stale"
    assert entry["ageSeconds"] == 3 * 3600
    assert "timed out" in entry["reason"] if failure == "slow" else "HTTP 500" in entry["reason"]
    report = read_json(store, keys.run_report(result.run_id))
    assert report["details"]["sources"]["anthropic"]["servedBy"] == "stale"


def test_no_fallback_left_fails_only_that_source(server, store):
    ok = server.mount("openai", "openai", fixture_path("provider-openai-models-2026-08-17.json"))
    bad = server.mount(
        "cerebras", "cerebras", fixture_path("provider-cerebras-models-2026-08-17.json")
    )
    server.mounts["cerebras"].mode = "500"
    sources = only_source("openai", "openai", ok)
    sources["cerebras"] = {"enabled": True, "base_url": bad, "api_key_env": "TEST_KEY"}
    result = run(store, make_config(sources))

    assert result.results["openai"].tier == "api"
    assert result.results["cerebras"].tier == "failed"
    assert "no catalog entries and no cached list" in result.results["cerebras"].reason
    assert result.outcome == "degraded"
    assert result.exit_code == 0
    assert store.get(keys.provider_current("cerebras")) is None
    # Retried once (max_attempts 2 by default) on 500, then gave up.
    assert server.requests("cerebras") == 2


def test_sources_are_fetched_concurrently(server, store):
    fixtures = {
        "openai": "provider-openai-models-2026-08-17.json",
        "mistral": "provider-mistral-models-2026-08-17.json",
        "groq": "provider-groq-models-2026-08-17.json",
        "deepseek": "provider-deepseek-models-2026-08-17.json",
        "cerebras": "provider-cerebras-models-2026-08-17.json",
    }
    sources: dict[str, Any] = only_source("openai", "openai", "http://unused")
    for name, fixture in fixtures.items():
        base = server.mount(name, name, fixture_path(fixture))
        sources[name] = {"enabled": True, "base_url": base, "api_key_env": "TEST_KEY"}
    # The server holds every request until all five are in flight: a sequential runner
    # would never get past the first one.
    server.barrier = threading.Barrier(len(fixtures))
    result = run(store, make_config(sources))
    assert {n: r.tier for n, r in result.results.items() if n in fixtures} == dict.fromkeys(
        fixtures, "api"
    )


def test_key_gated_sources_are_skipped_with_the_reason(store):
    result = run(store, CatalogConfig(), env={}, manifest_dir=str(REPO / "overrides" / "pinned"))
    assert result.results["openai"].tier == "skipped"
    assert result.results["openai"].reason == "OPENAI_API_KEY is not set"
    assert result.results["ollama"].reason.startswith("disabled")
    assert {result.results[n].tier for n in ("xai", "perplexity", "deepinfra")} == {"api"}


def test_unknown_source_is_a_usage_error(store):
    with pytest.raises(UnknownSource, match="unknown source nope"):
        run(store, CatalogConfig(), only=["nope"])


def test_enrichment_both_ways(server, store):
    publish_catalog(store)
    anthropic = server.mount(
        "anthropic", "anthropic", fixture_path("provider-anthropic-models-2026-08-17.json")
    )
    openai = server.mount(
        "openai", "openai", fixture_path("provider-openai-models-2026-08-17.json")
    )
    sources = only_source("anthropic", "anthropic", anthropic)
    sources["openai"] = {"enabled": True, "base_url": openai, "api_key_env": "TEST_KEY"}
    result = run(store, make_config(sources))

    current = read_json(store, keys.provider_current("anthropic"))
    sonnet = next(m for m in current["models"] if m["id"] == "claude-sonnet-4-5-20250929")
    refs = {(s["source"], s["nativeId"]) for s in sonnet["sources"]}
    assert ("openrouter", "anthropic/claude-sonnet-4.5") in refs
    # Anthropic's own token limit wins over OpenRouter's; prices come from OpenRouter.
    native = json.loads(fixture_path("provider-anthropic-models-2026-08-17.json").read_bytes())
    raw = next(m for m in native["data"] if m["id"] == "claude-sonnet-4-5-20250929")
    assert sonnet["maxContext"] == raw["max_input_tokens"]
    prov = current["provenance"]["claude-sonnet-4-5-20250929"]
    assert prov["maxContext"] == "native"
    assert prov["pricing"] == "openrouter:anthropic/claude-sonnet-4.5"
    assert sonnet["pricing"]["input"] == 3

    gpt = read_json(store, keys.provider_current("openai"))
    gpt4o = next(m for m in gpt["models"] if m["id"] == "gpt-4o-2024-08-06")
    assert gpt4o["maxContext"] == 128000
    assert current["provenance"]  # recorded for every model
    match = result.report.details["sources"]["anthropic"]["openrouterMatch"]
    assert match["total"] == 10 and 0 < match["matched"] <= 10
    assert match["rate"] == round(match["matched"] / 10, 3)

    # OpenRouter records list the direct providers that serve them, with native ids.
    publish_catalog(store)
    catalog = read_json(store, keys.CURRENT)
    record = next(m for m in catalog["models"] if m["id"] == "anthropic/claude-sonnet-4.5")
    assert {"source": "anthropic", "nativeId": "claude-sonnet-4-5-20250929"} in record["sources"]
    assert record["sources"][0] == {
        "source": "openrouter",
        "nativeId": "anthropic/claude-sonnet-4.5",
    }


def test_catalog_served_lists_are_not_linked_back(server, store):
    publish_catalog(store)
    base = server.mount(
        "anthropic", "anthropic", fixture_path("provider-anthropic-models-2026-08-17.json")
    )
    server.mounts["anthropic"].mode = "500"
    run(store, make_config(only_source("anthropic", "anthropic", base)))
    assert read_json(store, keys.provider_current("anthropic"))["servedBy"] == "catalog"
    publish_catalog(store)
    catalog = read_json(store, keys.CURRENT)
    assert all(s["source"] == "openrouter" for m in catalog["models"] for s in m["sources"])


def test_a_list_that_lost_most_models_is_not_published_without_force(server, store):
    path = fixture_path("provider-together-models-2026-08-17.json")
    base = server.mount("together", "together", path)
    config = make_config(only_source("together", "together", base), use_catalog_fallback=False)
    assert run(store, config).results["together"].tier == "api"
    # The same API now answers with only five models.
    server.mounts["together"].payload = json.dumps(json.loads(path.read_bytes())[:5]).encode()

    guarded = run(store, config, refresh=True).results["together"]
    assert guarded.tier == "stale"
    assert "lost 276 of 281 cached models" in guarded.reason and "--force" in guarded.reason
    assert read_json(store, keys.provider_native("together"))["count"] == 281
    assert read_json(store, keys.provider_current("together"))["count"] == 281

    forced = sync_providers(
        store,
        config,
        ProvidersRequest(now=NOW, refresh=True, force=True),
        env={"TEST_KEY": KEY},
    )
    assert forced.results["together"].tier == "api"
    assert read_json(store, keys.provider_native("together"))["count"] == 5
    # The provider's list keeps the 276 it no longer names, stale (DESIGN.md §5), until they
    # are deprecated and removed.
    merged = read_json(store, keys.provider_current("together"))
    states = [m["lifecycle"]["state"] for m in merged["models"]]
    assert states.count("active") == 5 and states.count("stale") == 276


def test_fetch_context_repr_hides_the_key():
    import httpx

    from pipeline.sources.http import RetryPolicy
    from pipeline.sources.native import FetchContext

    with httpx.Client() as client:
        ctx = FetchContext("openai", "https://x", client, RetryPolicy(), api_key=KEY)
        assert KEY not in repr(ctx)
        assert ctx.bearer() == {"Authorization": f"Bearer {KEY}"}


def test_unusable_body_names_the_source_and_url(server, store):
    base = server.mount("deepseek", "deepseek", b"<html>maintenance</html>")
    config = make_config(only_source("deepseek", "deepseek", base))
    outcome = run(store, config).results["deepseek"]
    # No cache yet and DeepSeek is a direct vendor: the catalog tier serves.
    assert outcome.tier == "catalog"
    assert outcome.reason.startswith(f"API failed: deepseek: {base}: ")
    assert "not valid JSON" in outcome.reason


@pytest.mark.parametrize(
    ("source", "cursor"),
    [
        ("anthropic", {"has_more": True, "last_id": "claude-x", "data": []}),
        ("cohere", {"next_page_token": "again", "models": []}),
        ("gemini", {"nextPageToken": "again", "models": []}),
    ],
)
def test_a_cursor_that_never_ends_stops_at_the_page_cap(source, cursor):
    import httpx

    from pipeline.records.payloads import PayloadError
    from pipeline.sources import anthropic, cohere, gemini
    from pipeline.sources.http import RetryPolicy
    from pipeline.sources.native import MAX_PAGES, FetchContext

    adapter = {"anthropic": anthropic, "cohere": cohere, "gemini": gemini}[source]
    calls: list[httpx.Request] = []

    def endless(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=cursor)

    with httpx.Client(transport=httpx.MockTransport(endless)) as client:
        ctx = FetchContext(source, "https://x", client, RetryPolicy(), api_key="k")
        with pytest.raises(PayloadError, match=f"{source}: the listing still continues after"):
            adapter.fetch(ctx)
    assert len(calls) == MAX_PAGES


def test_a_provider_run_past_its_deadline_writes_nothing(store):
    """Issue 12: the run deadline bounds provider jobs too — no source starts a fetch or writes
    once it has passed; each says so, and the store stays as it was."""
    import time

    request = ProvidersRequest(now=NOW, deadline=time.monotonic() - 1)
    result = sync_providers(
        store,
        CatalogConfig(),
        request,
        env={},
        manifest_dir=str(REPO / "overrides" / "pinned"),
        sleep=lambda _s: None,
    )
    pinned = {n: result.results[n] for n in ("xai", "perplexity", "deepinfra")}
    assert {r.tier for r in pinned.values()} == {"failed"}
    assert all("deadline passed" in (r.reason or "") for r in pinned.values())
    assert not [k for k in store.list("models/providers/") if k.endswith("current.json")]
