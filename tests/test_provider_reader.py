"""The provider lists in the reader, over HTTP, in the explorer and in `catalog cost` (issue 30),
on the session store of tests/test_breadth.py (``breadth`` in conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.cli import main
from pipeline.registry import ProviderNotFound, QueryError, Registry
from pipeline.service.app import create_app


@pytest.fixture(scope="module")
def registry(breadth) -> Registry:
    store, _ = breadth
    return Registry.open(store)


@pytest.fixture(scope="module")
def client(registry) -> TestClient:
    return TestClient(create_app(registry))


# -- the library ---------------------------------------------------------------------------------


def test_registry_lists_every_provider(registry):
    providers = registry.providers()
    assert len(providers) >= 140
    assert [p["provider"] for p in providers] == sorted(p["provider"] for p in providers)
    anthropic = next(p for p in providers if p["provider"] == "anthropic")
    assert anthropic["sources"] == [
        "anthropic",
        "openrouter",
        "modelsdev",
        "litellm",
        "genai-prices",
    ]
    assert anthropic["count"] == sum(anthropic["states"].values())
    assert {p["provider"] for p in registry.providers(q="fireworks")} >= {"fireworks-ai"}
    only_genai = registry.providers(source="genai-prices")
    assert only_genai and all("genai-prices" in p["sources"] for p in only_genai)


def test_provider_models_filters(registry):
    tools = registry.provider_models("anthropic", capability="tools", state="active")
    assert tools and all(m["supportsTools"] is True for m in tools)
    assert all(m["lifecycle"]["state"] == "active" for m in tools)
    deprecated = registry.provider_models("anthropic", state="deprecated")
    assert "claude-opus-4-1-20250805" in {m["id"] for m in deprecated}
    # A flag the list does not state (unknown) never meets a capability filter.
    every = registry.provider_models("fireworks-ai")
    unknown = [m for m in every if "supportsTools" not in m]
    assert unknown
    listed = {m["id"] for m in registry.provider_models("fireworks-ai", capability="tools")}
    assert not listed & {m["id"] for m in unknown}
    only_litellm = registry.provider_models("fireworks-ai", source="litellm")
    assert all(any(r["source"] == "litellm" for r in m["sources"]) for m in only_litellm)
    with pytest.raises(QueryError, match="capability"):
        registry.provider_models("anthropic", capability="telepathy")
    with pytest.raises(ProviderNotFound) as raised:
        registry.provider_models("anthropc")
    assert raised.value.matches == ["anthropic"]


def test_who_serves_a_model(registry):
    serving = registry.model_providers("anthropic/claude-sonnet-4.5")
    by_provider = {(s["provider"], s["record"]["id"]) for s in serving}
    assert ("anthropic", "claude-sonnet-4-5-20250929") in by_provider
    assert ("vertex", "claude-sonnet-4-5") in by_provider
    own = next(
        s
        for s in serving
        if s["provider"] == "anthropic" and s["record"]["id"] == "claude-sonnet-4-5-20250929"
    )
    assert own["provenance"]["maxContext"] == "native"
    # `provider=` on the catalog search also finds what a provider's list serves.
    found = {m["id"] for m in registry.search(provider="vertex")}
    assert "anthropic/claude-sonnet-4.5" in found


# -- over HTTP -----------------------------------------------------------------------------------


def test_api_providers(client):
    body = client.get("/api/providers").json()
    assert body["total"] == len(body["data"]) >= 140
    assert client.get("/api/providers?q=vertex").json()["data"][0]["provider"] == "vertex"
    models = client.get("/api/providers/anthropic/models?capability=tools&tier=premium").json()
    assert models["provider"] == "anthropic" and models["total"] == len(models["data"]) > 0
    assert all(m["priceTier"] == "premium" for m in models["data"])
    first = models["data"][0]["id"]
    assert models["provenance"][first]["pricing"]
    missing = client.get("/api/providers/anthropc/models")
    assert missing.status_code == 404 and missing.json()["closeMatches"] == ["anthropic"]
    assert client.get("/api/providers/anthropic/models?capability=x").status_code == 422
    serving = client.get("/api/models/anthropic/claude-sonnet-4.5/providers").json()
    assert {d["provider"] for d in serving["data"]} >= {"anthropic", "vertex"}
    assert client.get("/api/models/nope-model/providers").status_code == 404
    # The catalog search's provider filter, over HTTP too.
    search = client.get("/api/models?provider=vertex&limit=1000").json()
    assert "anthropic/claude-sonnet-4.5" in {m["id"] for m in search["data"]}


def test_changes_of_a_provider_list(client, registry):
    page, total = registry.changes(provider="anthropic", limit=5)
    assert total == len(registry.provider_models("anthropic")) and len(page) == 5
    assert all(e["id"].startswith("anthropic/") and e["event"] == "added" for e in page)
    body = client.get("/api/changes?provider=anthropic&limit=2").json()
    assert body["total"] == total and body["nextCursor"] == "2"
    assert [e["id"] for e in body["data"]] == [e["id"] for e in page[:2]]
    html = client.get("/changes?provider=anthropic").text
    assert "Changes of anthropic&#x27;s list" in html and "anthropic/claude-sonnet-5" in html


# -- the explorer --------------------------------------------------------------------------------


def test_explorer_providers_pages(client):
    page = client.get("/providers")
    assert page.status_code == 200
    assert 'href="/providers/fireworks-ai"' in page.text and "Fireworks AI" in page.text
    anthropic = client.get("/providers/anthropic").text
    # Each figure names its source; n/m is the agreement of the sources stating it.
    assert '<span class="layer">openrouter</span>' in anthropic
    assert '<span class="agree">4/4</span>' in anthropic
    assert "$3/$15 from 2026-09-01" in anthropic  # claude-sonnet-5, announced by genai-prices
    assert client.get("/providers/nope").status_code == 404


def test_model_page_lists_every_provider_with_its_figures_sources(client):
    page = client.get("/models/anthropic/claude-sonnet-5").text
    section = page[page.index("<h2>Providers</h2>") :]
    assert '<a href="/providers/anthropic">anthropic</a>' in section
    assert "from 2026-09-01" in section and "genai-prices" in section
    sonnet = client.get("/models/anthropic/claude-sonnet-4.5").text
    assert 'title="native · others: litellm: 200000, modelsdev: 200000"' in sonnet


def test_static_export_writes_the_provider_pages(registry, tmp_path: Path):
    from pipeline.web.site import export_site

    export_site(registry, tmp_path / "site")
    assert (tmp_path / "site" / "providers.html").exists()
    anthropic = (tmp_path / "site" / "providers" / "anthropic.html").read_text()
    assert 'href="../assets/explorer.css"' in anthropic
    index = (tmp_path / "site" / "providers.html").read_text()
    assert 'href="./providers/anthropic.html"' in index


# -- catalog cost --on with announced prices ------------------------------------------------------


def test_cost_on_a_later_date_applies_the_announced_price(breadth, capsys):
    store, _ = breadth
    args = ["--input", "1000000", "--output", "0", "--store", str(store.root)]
    assert main(["cost", "anthropic/claude-sonnet-5", *args]) == 0
    assert capsys.readouterr().out.startswith("anthropic/claude-sonnet-5: $2.000000")
    assert main(["cost", "anthropic/claude-sonnet-5", "--on", "2026-09-02", *args]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("anthropic/claude-sonnet-5: $3.000000")
    assert "announced by genai-prices, from 2026-09-01 (anthropic's list)" in captured.err
    # In a provider's list, by its id there.
    assert (
        main(["cost", "claude-sonnet-5", "--provider", "anthropic", "--on", "2026-09-02", *args])
        == 0
    )
    assert capsys.readouterr().out.startswith("claude-sonnet-5: $3.000000")
    assert main(["cost", "claude-sonnet-5", "--provider", "anthropic", *args]) == 0
    assert capsys.readouterr().out.startswith("claude-sonnet-5: $2.000000")
    assert main(["cost", "claude-sonnet-5", "--provider", "anthropc", *args]) == 2
    assert "close matches: anthropic" in capsys.readouterr().err
