"""The independent catalogs as sources (issue 30): models.dev, LiteLLM and genai-prices read from
their recorded copies, each upstream quirk shown on the real payload, and the runner's cache,
fallback and guards over HTTP from 127.0.0.1."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import fixture_path, read_json
from provider_server import ProviderServer

from pipeline.cli import main
from pipeline.config import CatalogConfig, ConfigError
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.runs.providers import ProvidersRequest, sync_providers
from pipeline.sources import genai_prices, litellm, modelsdev
from pipeline.sources.config import load_providers_config
from pipeline.sources.independent import UpstreamItem
from pipeline.timeutil import parse_iso

NOW = parse_iso("2026-08-19T06:00:00Z")
FILES = {
    "modelsdev": "modelsdev-api-2026-06-13.json",
    "litellm": "litellm-model-prices-2026-07-24.json",
    "genai-prices": "genai-prices-data-2026-08-19.json",
}


def entries(adapter: Any, name: str, now=NOW) -> dict[str, Any]:
    """Every item of a recorded catalog translated, by its key (provider mapping not applied)."""
    body = fixture_path(FILES[name]).read_bytes()
    return {i.key: adapter.translate(i, i.upstream, now) for i in adapter.parse(body)}


# -- models.dev ---------------------------------------------------------------------------------


def test_modelsdev_reads_every_provider_and_model():
    body = fixture_path(FILES["modelsdev"]).read_bytes()
    items = modelsdev.parse(body)
    document = json.loads(body)
    assert len(items) == sum(len(p["models"]) for p in document.values()) == 5258
    assert len({i.upstream for i in items}) == 145
    assert modelsdev.provider_names(body)["fireworks-ai"] == "Fireworks AI"


def test_modelsdev_translates_cost_limits_flags_dates_and_status():
    found = entries(modelsdev.ADAPTER, "modelsdev")
    haiku = found["anthropic/claude-3-5-haiku-20241022"]
    assert haiku.pricing.input == Decimal("0.8") and haiku.pricing.cache_write == 1
    assert (haiku.max_context, haiku.max_output) == (200000, 8192)
    assert haiku.modalities.input == ["file", "image", "text"]  # models.dev `pdf` is a file
    assert haiku.supports_vision and haiku.supports_tools and haiku.reasoning is False
    assert haiku.weights == "closed" and haiku.status == "deprecated"
    assert (haiku.release_date, haiku.knowledge_cutoff) == ("2024-10-22", "2024-07-31")
    # Long-context prices: `tiers` (and not `context_over_200k` a second time).
    pro = found["google/gemini-2.5-pro"]
    assert [(t.min_prompt_tokens, t.input) for t in pro.pricing.tiers] == [(200000, Decimal("2.5"))]
    assert pro.reasoning_controls is True  # reasoning_options present
    # A model without `cost` has no pricing at all, not zeros.
    unpriced = [e for e in found.values() if e.pricing is None]
    assert unpriced and all(e.pricing is None for e in unpriced)


# -- LiteLLM ------------------------------------------------------------------------------------


def test_litellm_scales_per_token_prices_exactly_and_reads_tiers():
    found = entries(litellm.ADAPTER, "litellm")
    gpt4o = found["gpt-4o"]
    assert gpt4o.id == "gpt-4o" and gpt4o.upstream == "openai"
    assert (gpt4o.pricing.input, gpt4o.pricing.output) == (Decimal("2.5"), Decimal(10))
    assert gpt4o.pricing.cache_read == Decimal("1.25")
    gemini = found["gemini/gemini-2.5-pro"]
    assert gemini.id == "gemini-2.5-pro"  # the provider prefix is not part of the id
    assert [(t.min_prompt_tokens, t.input, t.output) for t in gemini.pricing.tiers] == [
        (200000, Decimal("2.5"), Decimal(15))
    ]
    opus = found["claude-opus-4-1-20250805"]
    assert opus.deprecation_date == "2026-08-05T00:00:00Z" and opus.kind == "chat"
    assert opus.pricing.cache_write_1h == 30
    # `vertex_ai/…` under `vertex_ai-anthropic_models`: the part before `-` is the prefix.
    assert found["vertex_ai/claude-3-5-haiku"].id == "claude-3-5-haiku"


def test_litellm_leaves_out_what_is_not_a_model():
    body = fixture_path(FILES["litellm"]).read_bytes()
    keys_ = {i.key for i in litellm.parse(body)}
    document = json.loads(body)
    assert "sample_spec" not in keys_ and "last_updated" not in keys_
    searches = [k for k, v in document.items() if isinstance(v, dict) and v.get("mode") == "search"]
    assert searches and not set(searches) & keys_
    assert "fireworks-ai-56b-to-176b" in document and "fireworks-ai-56b-to-176b" not in keys_


def test_litellm_unit_prices_keep_their_unit():
    found = entries(litellm.ADAPTER, "litellm")
    per_image = [e for e in found.values() if e.pricing and e.pricing.unit == "image"]
    per_second = [e for e in found.values() if e.pricing and e.pricing.unit == "second"]
    assert per_image and per_second
    for entry in per_image + per_second:
        assert entry.pricing.input is None and entry.pricing.per_unit is not None


# -- genai-prices -------------------------------------------------------------------------------


def test_genai_prices_in_effect_and_announced_by_date():
    found = entries(genai_prices.ADAPTER, "genai-prices")
    sonnet5 = found["anthropic/claude-sonnet-5"]
    assert sonnet5.pricing.input == 2
    [later] = sonnet5.announced_prices
    assert later.from_date == "2026-09-01" and later.pricing.input == 3
    # After that day the later price is the one in effect, and nothing is announced.
    after = entries(genai_prices.ADAPTER, "genai-prices", parse_iso("2026-09-02T00:00:00Z"))
    assert after["anthropic/claude-sonnet-5"].pricing.input == 3
    assert after["anthropic/claude-sonnet-5"].announced_prices == []
    # A dated change already past: Opus 4.6 lost its long-context tier on 2026-03-13.
    opus = found["anthropic/claude-opus-4-6"]
    assert opus.pricing.input == 5 and opus.pricing.tiers == []
    before = entries(genai_prices.ADAPTER, "genai-prices", parse_iso("2026-03-01T00:00:00Z"))
    assert [t.min_prompt_tokens for t in before["anthropic/claude-opus-4-6"].pricing.tiers] == [
        200000
    ]


def test_genai_prices_time_of_day_windows_are_tier_rules():
    chat = entries(genai_prices.ADAPTER, "genai-prices")["deepseek/deepseek-chat"]
    assert chat.pricing.input == Decimal("0.135")
    [window] = chat.pricing.tiers
    assert (window.utc_start, window.utc_end, window.input) == (30, 1630, Decimal("0.27"))


@pytest.mark.parametrize(
    ("rule", "model_id", "selected"),
    [
        ({"equals": "gpt-4o"}, "GPT-4o", True),
        ({"starts_with": "claude-opus-4-1"}, "claude-opus-4-1-20250805", True),
        ({"or": [{"contains": "x"}, {"ends_with": "-mini"}]}, "o4-mini", True),
        ({"and": [{"contains": "gpt"}, {"contains": "audio"}]}, "gpt-4o", False),
        ({"regex": "^o[0-9]+(-mini)?$"}, "o3-mini", True),
        ({"regex": "(a"}, "a", False),  # RE2 refuses it: selects nothing
        ({"unknown": "x"}, "x", False),
    ],
)
def test_genai_prices_match_rules(rule, model_id, selected):
    assert genai_prices.matches(rule, model_id) is selected


def test_every_recorded_rule_compiles_and_selects_its_own_id():
    body = fixture_path(FILES["genai-prices"]).read_bytes()
    items = genai_prices.parse(body)
    assert len(items) == 1442
    misses = [i.key for i in items if not genai_prices.matches(i.entry["match"], i.entry["id"])]
    # A few ids are spelled otherwise than what their rule selects (`gpt-4o-audio` → audio
    # previews); nearly all select themselves.
    assert len(misses) < len(items) // 20, misses[:10]


# -- configuration --------------------------------------------------------------------------------


def test_catalog_sources_are_configured_by_url_and_off_until_listed():
    sources = load_providers_config(CatalogConfig()).sources
    for name, url in [
        ("modelsdev", "https://models.dev/api.json"),
        ("litellm", litellm.DEFAULT_URL),
        ("genai-prices", genai_prices.DEFAULT_URL),
    ]:
        assert sources[name].base_url == url and not sources[name].enabled
        assert sources[name].kind.group == "independent"
    listed = load_providers_config(
        CatalogConfig(extra={"sources": {"modelsdev": {"url": "https://mirror/api.json"}}})
    ).sources["modelsdev"]
    assert listed.enabled and listed.base_url == "https://mirror/api.json"
    with pytest.raises(
        ConfigError, match=r"sources.modelsdev.base_url: .* set sources.modelsdev.url"
    ):
        load_providers_config(CatalogConfig(extra={"sources": {"modelsdev": {"base_url": "x"}}}))
    with pytest.raises(ConfigError, match=r"sources.openai.url: only an independent catalog"):
        load_providers_config(CatalogConfig(extra={"sources": {"openai": {"url": "x"}}}))


def test_sync_providers_list_shows_the_catalogs(tmp_path: Path, capsys):
    config = tmp_path / "catalog.yaml"
    config.write_text("sources:\n  modelsdev: {url: 'http://127.0.0.1:9/api.json'}\n")
    store = str(tmp_path / "s")
    assert main(["sync", "providers", "--list", "--store", store, "--config", str(config)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["modelsdev"].split()[1:] == ["modelsdev", "yes", "21600s", "due"]
    assert "off: list it under sources:" in rows["litellm"] and "21600s" in rows["genai-prices"]


# -- the runner ----------------------------------------------------------------------------------


def _config(url: str, name: str = "genai-prices") -> CatalogConfig:
    return CatalogConfig(extra={"sources": {name: {"url": url, "ttl_seconds": 600}}})


def _run(store, config, now=NOW, **kw) -> Any:
    request = ProvidersRequest(now=now, only=["genai-prices"], **kw)
    return sync_providers(store, config, request, sleep=lambda _s: None)


def test_cache_then_file_then_stale_copy(tmp_path: Path):
    store = LocalStore(tmp_path / "s")
    with ProviderServer() as server:
        url = server.mount("genai-prices", "genai-prices", fixture_path(FILES["genai-prices"]))
        config = _config(url)
        first = _run(store, config)
        assert first.results["genai-prices"].tier == "api"
        snapshot = read_json(store, keys.catalog_current("genai-prices"))
        assert snapshot["count"] == first.results["genai-prices"].count == 752
        assert (
            store.get(snapshot["rawKey"]).data == fixture_path(FILES["genai-prices"]).read_bytes()
        )
        assert "690 openrouter" in first.results["genai-prices"].reason  # left out, said so

        inside = _run(store, config, now=NOW + timedelta(seconds=599))
        assert inside.results["genai-prices"].tier == "cache"
        assert server.requests("genai-prices") == 1

        server.mounts["genai-prices"].payload = b"<html>maintenance</html>"
        stale = _run(store, config, now=NOW + timedelta(hours=1))
        outcome = stale.results["genai-prices"]
        assert outcome.tier == "stale" and "not valid JSON" in outcome.reason
        assert outcome.data_as_of == "2026-08-19T06:00:00Z"
        kept = read_json(store, keys.catalog_current("genai-prices"))
        assert kept["servedBy"] == "stale" and kept["entries"] == snapshot["entries"]
    status = read_json(store, keys.STATUS)["jobs"]["providers"]
    assert status["sources"]["genai-prices"]["servedBy"] == "stale"


def test_a_file_that_lost_most_entries_is_not_used_without_force(tmp_path: Path):
    store = LocalStore(tmp_path / "s")
    document = json.loads(fixture_path(FILES["genai-prices"]).read_bytes())
    with ProviderServer() as server:
        url = server.mount("genai-prices", "genai-prices", json.dumps(document).encode())
        config = _config(url)
        assert _run(store, config).results["genai-prices"].tier == "api"
        server.mounts["genai-prices"].payload = json.dumps(document[:3]).encode()
        guarded = _run(store, config, refresh=True).results["genai-prices"]
        assert guarded.tier == "stale" and "--force" in guarded.reason
        forced = _run(store, config, refresh=True, force=True).results["genai-prices"]
        assert forced.tier == "api"
        assert forced.count == sum(len(p["models"]) for p in document[:3])


def test_a_bad_entry_is_quarantined_and_the_rest_served(tmp_path: Path):
    store = LocalStore(tmp_path / "s")
    document = json.loads(fixture_path(FILES["genai-prices"]).read_bytes())
    document[0]["models"][0]["id"] = "has a space"
    document[0]["models"][1] = "not an object"
    with ProviderServer() as server:
        url = server.mount("genai-prices", "genai-prices", json.dumps(document).encode())
        result = _run(store, _config(url))
    outcome = result.results["genai-prices"]
    assert outcome.tier == "api" and outcome.count == 750
    reasons = [q.reason for q in outcome.quarantined]
    assert len(reasons) == 2 and any("whitespace" in r for r in reasons)
    assert result.report.quarantined[0].id.startswith("genai-prices:anthropic/")


def test_no_file_and_no_copy_fails_that_source_only(tmp_path: Path):
    store = LocalStore(tmp_path / "s")
    result = _run(store, _config("http://127.0.0.1:9/data.json"))
    outcome = result.results["genai-prices"]
    assert outcome.tier == "failed"
    assert "http://127.0.0.1:9/data.json" in outcome.reason
    assert "check sources.genai-prices.url" in outcome.reason
    assert store.get(keys.catalog_current("genai-prices")) is None


def test_translate_names_the_entry_it_refuses():
    item = UpstreamItem("openai", "openai/gpt x", {"id": "gpt x"})
    with pytest.raises(ValueError, match="openai/gpt x"):
        genai_prices.translate(item, "openai", NOW)


def test_the_rule_book_answers_as_the_rules_in_file_order():
    """The merge asks which genai-prices rule first selects an id through a lookup of the
    exact-id rules; it must answer what evaluating every rule in order answers."""
    body = fixture_path(FILES["genai-prices"]).read_bytes()
    by_provider: dict[str, list[Any]] = {}
    for item in genai_prices.parse(body):
        by_provider.setdefault(item.upstream, []).append(item.entry["match"])
    modelsdev_ids = [
        i.key.split("/", 1)[1]
        for i in modelsdev.parse(fixture_path(FILES["modelsdev"]).read_bytes())
    ]
    for rules in by_provider.values():
        book = genai_prices.RuleBook(rules)
        own = [r.get("equals") for r in rules if isinstance(r.get("equals"), str)]
        for model_id in [*own, *modelsdev_ids[::7]]:
            expected = next(
                (i for i, rule in enumerate(rules) if genai_prices.matches(rule, model_id)), None
            )
            assert book.first(model_id) == expected, model_id
