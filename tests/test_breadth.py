"""Breadth with provenance (issue 30): every provider and model the independent catalogs list,
merged with the providers' own lists, each value naming its source.

The session store (``breadth`` in conftest) is the 2026-08-17 OpenRouter catalog, every
recorded provider list of that day, xAI's pinned manifest and the recorded models.dev, LiteLLM
and genai-prices files, each served over HTTP from 127.0.0.1 and synced in one providers run.
Tests that change a catalog (a seeded value, a dropped model) run their own smaller syncs.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from conftest import fixture_path, read_json
from provider_server import KEY, ProviderServer

from pipeline.config import CatalogConfig
from pipeline.merge.precedence import AGREEMENT_FIELDS
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore, Store, StoreError
from pipeline.runs.providers import ProvidersRequest, ProvidersResult, sync_providers
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.sources.registry import INSTANCE_ONLY, SOURCE_TYPES
from pipeline.timeutil import parse_iso

NOW = parse_iso("2026-08-17T12:00:00Z")
MODELSDEV = "modelsdev-api-2026-06-13.json"
GENAI = "genai-prices-data-2026-08-19.json"
LITELLM = "litellm-model-prices-2026-07-24.json"
SONNET = "claude-sonnet-4-5-20250929"


def lists(store: Store) -> dict[str, dict[str, Any]]:
    index = read_json(store, keys.PROVIDERS_INDEX)
    return {p["provider"]: read_json(store, p["key"]) for p in index["providers"]}


def record(store: Store, provider: str, model_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    document = read_json(store, keys.provider_current(provider))
    found = next(m for m in document["models"] if m["id"] == model_id)
    return found, document["provenance"][model_id]


def modelsdev_subset(*providers: str, edit: Any = None) -> bytes:
    """The recorded api.json cut to some providers (real entries), optionally edited."""
    document = json.loads(fixture_path(MODELSDEV).read_bytes())
    document = {k: v for k, v in document.items() if k in providers}
    if edit is not None:
        edit(document)
    return json.dumps(document).encode()


def small_sync(
    store: Store,
    now: datetime,
    catalogs: dict[str, bytes],
    *,
    anthropic: bool = True,
    extra: dict[str, Any] | None = None,
) -> ProvidersResult:
    """One providers run: Anthropic's recorded list (when asked) and the given catalog files."""
    with ProviderServer() as server:
        sources: dict[str, Any] = {
            n: {"enabled": False} for n in SOURCE_TYPES if n not in INSTANCE_ONLY
        }
        only = list(catalogs)
        if anthropic:
            base = server.mount(
                "anthropic", "anthropic", fixture_path("provider-anthropic-models-2026-08-17.json")
            )
            sources["anthropic"] = {"enabled": True, "base_url": base, "api_key_env": "TEST_KEY"}
            only.append("anthropic")
        for name, body in catalogs.items():
            sources[name] = {"enabled": True, "url": server.mount(name, name, body)}
        return sync_providers(
            store,
            CatalogConfig(extra={"sources": sources, **(extra or {})}),
            ProvidersRequest(now=now, only=only, refresh=True),
            env={"TEST_KEY": KEY},
            sleep=lambda _s: None,
        )


@pytest.fixture
def with_catalog(tmp_path) -> LocalStore:
    """A store with the 2026-08-17 OpenRouter catalog (Anthropic's own offers)."""
    store = LocalStore(tmp_path / "store")
    path = fixture_path("openrouter-models-2026-08-17.json")
    assert sync_openrouter(store, CatalogConfig(), SyncRequest(now=NOW, from_file=path)).published
    return store


# -- acceptance: breadth, provenance --------------------------------------------------------------


def test_every_provider_any_source_names_has_a_list(breadth):
    store, result = breadth
    assert result.outcome == "ok", result.summary
    index = read_json(store, keys.PROVIDERS_INDEX)
    assert index["count"] >= 140
    assert index["models"] >= 5000
    published = lists(store)
    assert len(published) == index["count"]
    assert sum(d["count"] for d in published.values()) == index["models"]
    # The lists of the providers' own sources are among them, merged.
    for own in ("anthropic", "openai", "gemini", "together", "xai", "dashscope-us"):
        assert published[own]["sourceType"] != "independent"
        assert own in published[own]["contributors"]
    assert published["fireworks-ai"]["sourceType"] == "independent"
    assert published["fireworks-ai"]["name"] == "Fireworks AI"
    assert result.report.counts["providerLists"] == index["count"]
    assert result.report.counts["providerModels"] == index["models"]


def test_every_value_names_its_source(breadth):
    """Every merged field a record states has a provenance entry naming a source, and every
    source named is one that lists the model."""
    store, _ = breadth
    checked = 0
    for provider, document in lists(store).items():
        for model in document["models"]:
            where = document["provenance"][model["id"]]
            sources = {ref["source"] for ref in model["sources"]}
            stated = {
                "maxContext": model.get("maxContext"),
                "maxOutput": model.get("maxOutput"),
                **{f: model["pricing"].get(f) for f in ("input", "output", "cacheRead")},
                **{f: model.get(f) for f in AGREEMENT_FIELDS[6:]},
            }
            for name, value in stated.items():
                origin = where.get(name)
                if value is None:
                    assert origin in (None, "unknown"), (provider, model["id"], name, origin)
                    continue
                assert origin and origin != "unknown", (provider, model["id"], name)
                label = origin.split(":", 1)[0].split(" ", 1)[0]
                if label in ("modelsdev", "litellm", "genai-prices", "openrouter"):
                    assert label in sources, (provider, model["id"], name, origin)
                else:
                    assert label in ("native", "heuristic", "override"), origin
            checked += 1
    assert checked >= 5000


def test_a_provider_names_own_data_outranks_the_catalogs(breadth):
    """Anthropic's own list says Claude Sonnet 4.5 takes 1M tokens; models.dev and LiteLLM say
    200k: Anthropic's figure is published, the catalogs' are recorded as dissent. Its price
    comes from its own offer on OpenRouter (the Models API states none), ahead of the three
    catalogs, which agree."""
    store, _ = breadth
    sonnet, where = record(store, "anthropic", SONNET)
    assert sonnet["maxContext"] == 1_000_000 and where["maxContext"] == "native"
    assert {"field": "maxContext", "value": 200000, "source": "modelsdev"} in sonnet[
        "disagreements"
    ]
    assert {"field": "maxContext", "value": 200000, "source": "litellm"} in sonnet["disagreements"]
    assert sonnet["agreement"]["maxContext"] == {"sources": 4, "agree": 2}
    assert sonnet["pricing"]["input"] == 3
    assert where["input"] == "openrouter:anthropic/claude-sonnet-4.5"
    assert sonnet["agreement"]["input"] == {"sources": 4, "agree": 4}
    # xAI's pinned manifest (its reviewed price list) against LiteLLM's figure.
    grok, grok_where = record(store, "xai", "grok-4.20-0309-reasoning")
    assert grok["pricing"]["input"] == Decimal("1.25") and grok_where["input"] == "native"
    assert {"field": "input", "value": 2, "source": "litellm"} in grok["disagreements"]


def test_a_seeded_disagreement_is_recorded_with_both_values(with_catalog):
    def seed(document: dict[str, Any]) -> None:
        document["anthropic"]["models"][SONNET]["cost"]["input"] = 99

    store = with_catalog
    small_sync(store, NOW, {"modelsdev": modelsdev_subset("anthropic", edit=seed)})
    sonnet, where = record(store, "anthropic", SONNET)
    assert sonnet["pricing"]["input"] == 3  # the published value: Anthropic's own offer
    assert where["input"] == "openrouter:anthropic/claude-sonnet-4.5"
    assert sonnet["disagreements"] == [
        {"field": "input", "value": 99, "source": "modelsdev"},
        {"field": "maxContext", "value": 200000, "source": "modelsdev"},
    ]
    assert sonnet["agreement"]["input"] == {"sources": 2, "agree": 1}
    report = read_json(store, keys.STATUS)["jobs"]["providers"]
    assert report["counts"]["disagreements"] >= 2


def test_an_unprintable_id_or_name_in_a_catalog_is_quarantined(with_catalog):
    """Issue 27's printable identities hold for the independent catalogs too: a models.dev
    entry whose id carries a bidi override, or whose name is 5,000 characters, is quarantined
    and reported (escaped), never published."""
    spoof = "claude\u202e-tsoh"

    def seed(document: dict[str, Any]) -> None:
        models = document["anthropic"]["models"]
        models[spoof] = {**models[SONNET], "id": spoof}
        models[SONNET] = {**models[SONNET], "name": "x" * 5000}

    store = with_catalog
    result = small_sync(store, NOW, {"modelsdev": modelsdev_subset("anthropic", edit=seed)})
    published = json.dumps(read_json(store, keys.provider_current("anthropic")), default=str)
    assert "\u202e" not in published.lower() and "x" * 300 not in published
    quarantined = result.results["modelsdev"].quarantined
    ids = {q.id for q in quarantined}
    assert "anthropic/claude\\u202e-tsoh" in ids and f"anthropic/{SONNET}" in ids, quarantined
    assert any("bidi control (U+202E)" in q.reason for q in quarantined), quarantined


def test_precedence_is_configurable_per_field(with_catalog):
    def seed(document: dict[str, Any]) -> None:
        document["anthropic"]["models"][SONNET]["cost"]["input"] = 99

    store = with_catalog
    order = {"merge": {"precedence": {"input": ["modelsdev", "native", "openrouter"]}}}
    small_sync(store, NOW, {"modelsdev": modelsdev_subset("anthropic", edit=seed)}, extra=order)
    sonnet, where = record(store, "anthropic", SONNET)
    assert sonnet["pricing"]["input"] == 99 and where["input"].startswith("modelsdev:anthropic/")
    assert {"field": "input", "value": 3, "source": "openrouter"} in sonnet["disagreements"]
    assert sonnet["priceTier"] == "premium"  # what follows from the price follows it
    # Other fields keep the default order: Anthropic's own context window still wins.
    assert where["maxContext"] == "native"


def test_precedence_config_errors_name_the_key(with_catalog):
    from pipeline.config import ConfigError
    from pipeline.merge.precedence import load_precedence

    for section, message in [
        ({"precedence": {"inptu": ["native"]}}, "merge.precedence.inptu: not a merged field"),
        ({"precedence": {"input": ["modelsdv"]}}, "unknown source(s) modelsdv"),
        ({"order": {}}, "merge: unknown key(s) order"),
    ]:
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            load_precedence(CatalogConfig(extra={"merge": section}))


# -- mapping provider names -----------------------------------------------------------------------


def test_provider_names_of_the_catalogs_are_mapped_in_one_table(breadth):
    store, _ = breadth
    published = lists(store)
    assert published["gemini"]["contributors"]["modelsdev"]["upstream"] == ["google"]
    assert published["gemini"]["contributors"]["litellm"]["upstream"] == ["gemini"]
    assert published["gemini"]["contributors"]["genai-prices"]["upstream"] == ["google"]
    assert published["dashscope"]["contributors"]["modelsdev"]["upstream"] == ["alibaba"]
    assert published["together"]["contributors"]["modelsdev"]["upstream"] == ["togetherai"]
    assert published["mistral"]["contributors"]["genai-prices"]["upstream"] == ["mistral"]
    assert published["xai"]["contributors"]["genai-prices"]["upstream"] == ["x-ai"]
    # Vertex AI is another endpoint and bill for the same models: a provider of its own.
    assert "vertex_ai-language-models" in published["vertex"]["contributors"]["litellm"]["upstream"]
    assert "google-vertex" in published["vertex"]["contributors"]["modelsdev"]["upstream"]
    # Unmapped names are their own providers, never folded into a look-alike.
    assert "azure_ai" in published and "azure" in published
    assert "alibaba-cn" in published and "wafer.ai" in published
    # OpenRouter's own feed is the catalog: no provider list repeats it.
    assert "openrouter" not in published


def test_the_mapping_table_is_explicit():
    from pipeline.sources.provider_names import PROVIDER_NAMES, provider_for, upstream_names

    assert provider_for("modelsdev", "google") == "gemini"
    assert provider_for("litellm", "vertex_ai-language-models") == "vertex"
    assert provider_for("genai-prices", "x-ai") == "xai"
    assert provider_for("modelsdev", "openrouter") is None
    assert provider_for("litellm", "Some_Host") == "some_host"  # its own, lower-cased
    with pytest.raises(ValueError, match="not usable as a provider name"):
        provider_for("modelsdev", "../etc")
    assert upstream_names("dashscope") == {"modelsdev": ["alibaba"], "litellm": ["dashscope"]}
    # Every mapped name is a provider our sources or models.dev know by that name.
    modelsdev = json.loads(fixture_path(MODELSDEV).read_bytes())
    for (_catalog, _upstream), ours in PROVIDER_NAMES.items():
        assert ours in SOURCE_TYPES or ours in modelsdev or ours == "vertex", ours


# -- agreement, unconfirmed values, announced prices -----------------------------------------------


def test_a_value_one_catalog_alone_states_is_marked(breadth):
    store, _ = breadth
    fireworks = lists(store)["fireworks-ai"]
    alone = [m for m in fireworks["models"] if m["sources"][0]["source"] == "litellm"]
    alone = [m for m in alone if len(m["sources"]) == 1]
    assert alone
    for model in alone:
        stated = [f for f in ("input", "output") if f in model["pricing"]]
        assert set(stated) <= set(model.get("unconfirmed") or ())
        assert "agreement" not in model or not set(stated) & set(model["agreement"])


def test_run_report_carries_the_crosscheck(breadth):
    store, result = breadth
    report = read_json(store, keys.run_report(result.run_id))
    crosscheck = report["details"]["crosscheck"]
    assert set(crosscheck["fields"]) == set(AGREEMENT_FIELDS)
    input_ = crosscheck["fields"]["input"]
    assert input_["compared"] > 500 and 0 < input_["disagree"] < input_["compared"]
    assert sum(crosscheck["disagreementsBySource"].values()) == crosscheck["disagreements"]
    # The counts agree with what the records carry.
    dissents = sum(
        len(m.get("disagreements") or ()) for d in lists(store).values() for m in d["models"]
    )
    assert dissents == crosscheck["disagreements"] == report["counts"]["disagreements"]


def test_announced_prices_come_with_their_date(breadth):
    store, _ = breadth
    sonnet5, _ = record(store, "anthropic", "claude-sonnet-5")
    assert sonnet5["pricing"]["input"] == 2
    assert sonnet5["announcedPrices"] == [
        {
            "from": "2026-09-01",
            "pricing": {
                "input": 3,
                "output": 15,
                "cacheRead": Decimal("0.3"),
                "cacheWrite": Decimal("3.75"),
                "other": {},
            },
            "source": "genai-prices",
        }
    ]
    # A genai-prices rule prices the dated id it selects (`starts_with: claude-opus-4-1`).
    opus, _ = record(store, "anthropic", "claude-opus-4-1-20250805")
    assert {"source": "genai-prices", "nativeId": "anthropic/claude-opus-4-1"} in opus["sources"]


# -- lifecycle, aliases, history ------------------------------------------------------------------


def test_catalog_deprecations_feed_the_lifecycle(breadth):
    store, _ = breadth
    # LiteLLM: deprecation_date 2026-08-05, before the run's day → deprecated, with the date.
    opus, _ = record(store, "anthropic", "claude-opus-4-1-20250805")
    assert opus["lifecycle"]["state"] == "deprecated"
    assert opus["lifecycle"]["expiresAt"] == "2026-08-05T00:00:00Z"
    # models.dev: status deprecated.
    haiku, _ = record(store, "anthropic", "claude-3-5-haiku-20241022")
    assert haiku["lifecycle"]["state"] == "deprecated"


def test_a_model_every_source_drops_goes_stale_deprecated_removed(with_catalog):
    store = with_catalog
    gone = "claude-3-5-haiku-latest"  # models.dev lists it; Anthropic's own list does not

    def drop(document: dict[str, Any]) -> None:
        del document["anthropic"]["models"][gone]

    full = modelsdev_subset("anthropic")
    small_sync(store, NOW, {"modelsdev": full})
    first, _ = record(store, "anthropic", gone)
    assert first["lifecycle"]["state"] == "active"
    alias = first["alias"]

    dropped = {"modelsdev": modelsdev_subset("anthropic", edit=drop)}
    steps = [(timedelta(days=1), "stale"), (timedelta(days=15), "deprecated")]
    for delta, state in steps:
        small_sync(store, NOW + delta, dropped)
        kept, _ = record(store, "anthropic", gone)
        assert kept["lifecycle"]["state"] == state
        assert kept["lifecycle"]["missingSince"] == "2026-08-18T12:00:00Z"
        assert kept["alias"] == alias
    small_sync(store, NOW + timedelta(days=31), dropped)
    current = read_json(store, keys.provider_current("anthropic"))
    assert gone not in {m["id"] for m in current["models"]}

    from pipeline.history.query import History

    index = read_json(store, keys.PROVIDERS_HISTORY)
    history = History.load(index, lambda k: store.get(k).data, "")
    timeline = history.timeline(f"anthropic/{gone}")
    assert [e["event"] for e in timeline] == ["added", "changed", "changed", "removed"]
    assert timeline[1]["changes"]["state"] == ["active", "stale"]


def test_a_catalog_served_from_its_stale_copy_moves_nothing(with_catalog):
    store = with_catalog
    small_sync(store, NOW, {"modelsdev": modelsdev_subset("anthropic")}, anthropic=False)
    before = read_json(store, keys.provider_current("anthropic"))
    with ProviderServer() as server:
        server.mount("modelsdev", "modelsdev", b"{}")
        server.mounts["modelsdev"].mode = "500"
        url = f"{server.url}/modelsdev/api.json"
        sources: dict[str, Any] = {"modelsdev": {"enabled": True, "url": url}}
        result = sync_providers(
            store,
            CatalogConfig(extra={"sources": sources}),
            ProvidersRequest(now=NOW + timedelta(days=20), only=["modelsdev"], refresh=True),
            sleep=lambda _s: None,
        )
    assert result.results["modelsdev"].tier == "stale"
    after = read_json(store, keys.provider_current("anthropic"))
    assert [m["lifecycle"] for m in after["models"]] == [m["lifecycle"] for m in before["models"]]
    assert after["servedBy"] == "stale" and "HTTP 500" in after["reason"]


def test_aliases_are_unique_per_list_and_stay(breadth, tmp_path):
    store, _ = breadth
    for provider, document in lists(store).items():
        aliases = [m["alias"] for m in document["models"]]
        assert len(aliases) == len(set(aliases)), provider
    # A second merge over the same inputs changes no alias (and no byte of any list).
    copy = LocalStore(tmp_path / "copy")
    for key in store.list("models/"):
        copy.put(key, store.get(key).data)
    with ProviderServer() as server:
        from published_lists import breadth_config

        config = breadth_config(server)
        sync_providers(
            copy,
            config,
            ProvidersRequest(now=NOW, only=["modelsdev"]),  # cache fresh: nothing fetched
            env={"TEST_KEY": KEY},
        )
    for provider in ("anthropic", "fireworks-ai", "vertex"):
        key = keys.provider_current(provider)
        before, after = read_json(store, key), read_json(copy, key)
        assert {k: v for k, v in after.items() if k not in ("generatedAt", "runId")} == {
            k: v for k, v in before.items() if k not in ("generatedAt", "runId")
        }, provider


def test_published_lists_keep_the_laws(breadth):
    """DESIGN.md §7, per record: a token price of 0 means free, a price not per token states
    its unit, nothing published is removed, `api` flags cite a source."""
    store, _ = breadth
    for provider, document in lists(store).items():
        for model in document["models"]:
            pricing = model["pricing"]
            outputs = set(model["modalities"]["output"]) - {"text", "embeddings", "embedding"}
            if pricing.get("input") == 0 and pricing.get("output") == 0 and not outputs:
                paid = any(
                    isinstance(v, (int, Decimal)) and not isinstance(v, bool) and v > 0
                    for k, v in pricing.items()
                )
                assert model.get("isFree") is not paid, (provider, model["id"])
            if "perUnit" in pricing:
                assert pricing.get("unit"), (provider, model["id"])
            assert model["lifecycle"]["state"] != "removed"
            for flag, layer in model["detectionSource"].items():
                assert model["evidence"].get(flag), (provider, model["id"], flag)
                if layer == "api":
                    assert not model["evidence"][flag].startswith(("default:", "unknown"))


def test_catalog_check_holds_every_law_on_the_merged_lists(breadth, capsys):
    """Issue 26's laws over issue 30's lists: `catalog check` reads every merged list and holds
    each law there too — evidence citing the independent catalog's entry and field present in
    its stored file, provenance `unknown` for every absent value, 0 meaning free."""
    from pipeline.cli import main

    store, _ = breadth
    capsys.readouterr()
    code = main(["check", "--store", str(store.root), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["violations"][:5]
    assert len(report["lists"]) > 200 and report["holds"]  # the catalog and every merged list


def test_a_catalog_citation_is_checked_against_the_catalogs_file(breadth, tmp_path):
    """An `api` flag citing a field the cited catalog entry does not have breaks the law."""
    from pipeline.laws.check import check
    from pipeline.laws.published import read_set

    store, _ = breadth
    published = read_set(store)
    (listing,) = [x for x in published.lists if x.source == "anthropic"]
    model = next(
        m for m in listing.models if m.evidence.get("supportsTools", "").startswith("modelsdev:")
    )
    origin = model.evidence["supportsTools"].split(" ", 1)[0]
    model.evidence["supportsTools"] = f"{origin} no_such_field = true"
    found = [v for v in check(published, ["api-cites-raw"]) if v.model == model.id]
    assert found and "has no field no_such_field" in found[0].detail, found


def test_a_zero_token_price_beside_a_unit_price_is_no_free_model(breadth):
    """LiteLLM lists DALL-E 3 on Azure at output_cost_per_token 0 and input_cost_per_pixel
    7.629e-08, and rerankers at 0 per token and a price per query: no token price then, the
    unit stated, never free or $0 per token."""
    store, _ = breadth
    dalle, _ = record(store, "azure", "hd/1024-x-1024/dall-e-3")
    assert "input" not in dalle["pricing"] and "output" not in dalle["pricing"], dalle["pricing"]
    assert dalle["pricing"]["unit"] == "pixel" and dalle.get("isFree") is not True
    rerank, _ = record(store, "amazon-bedrock", "amazon.rerank-v1:0")
    assert rerank["pricing"]["unit"] == "query" and rerank["isFree"] is False, rerank["pricing"]


def test_upstream_text_is_published_as_it_came(breadth):
    """Only configured secrets are scrubbed from the merged lists: `deepseek-r1-basic
    supports_response_schema` is not an HTTP Basic credential."""
    store, _ = breadth
    found, _ = record(store, "fireworks-ai", "accounts/fireworks/models/deepseek-r1-basic")
    assert "[REDACTED]" not in json.dumps(found, default=str)
    assert found["evidence"]["structuredOutput"].endswith("-basic supports_response_schema = true")


def test_the_catalog_links_only_the_providers_own_lists(breadth, tmp_path):
    """OpenRouter records list the direct providers serving them (their own lists), not every
    provider an independent catalog names — and the sync does not read those lists at all."""
    store, _ = breadth
    copy = LocalStore(tmp_path / "copy")
    for key in store.list("models/"):
        copy.put(key, store.get(key).data)
    path = fixture_path("openrouter-models-2026-08-17.json")
    later = NOW + timedelta(hours=1)
    assert sync_openrouter(copy, CatalogConfig(), SyncRequest(now=later, from_file=path)).published
    sonnet = next(
        m
        for m in read_json(copy, keys.CURRENT)["models"]
        if m["id"] == "anthropic/claude-sonnet-4.5"
    )
    linked = {s["source"] for s in sonnet["sources"]}
    assert "anthropic" in linked
    assert not linked & {"vertex", "302ai", "modelsdev", "litellm", "genai-prices"}


class FailingStore(LocalStore):
    """A store that cannot write one key (a full disk, a refused S3 PUT)."""

    def __init__(self, root: Any, failing: str) -> None:
        super().__init__(root)
        self.failing = failing

    def put(self, key: str, data: bytes, **kwargs: Any) -> str:
        if key == self.failing:
            raise StoreError(f"cannot write {key} to {self.uri}: No space left on device")
        return super().put(key, data, **kwargs)


def test_a_list_that_cannot_be_written_stops_the_merge_there(tmp_path):
    """The lists are written in the background while the next are merged, in order: the first
    that cannot be written is the run's error, no list after it is written, and neither is the
    history or the index (as when each list was written in turn)."""
    store = FailingStore(tmp_path / "store", keys.provider_current("cohere"))
    catalog = modelsdev_subset("anthropic", "baseten", "cohere", "deepseek", "mistral")
    result = small_sync(store, NOW, {"modelsdev": catalog}, anthropic=False)
    assert any("not merged" in w and "No space left" in w for w in result.report.warnings)
    written = {k.split("/")[2] for k in store.list(keys.PROVIDERS) if k.endswith("/current.json")}
    assert written == {"anthropic", "baseten"}
    assert store.get(keys.PROVIDERS_INDEX) is None
    assert store.get(keys.PROVIDERS_HISTORY) is None
