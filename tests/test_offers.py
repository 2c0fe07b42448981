"""Per-provider offers from OpenRouter's endpoints API (issue 16): the parser on documented
and odd shapes, a full refresh against a local OpenRouter with 404s, a 429, nulls and a stall,
offers / price ranges / measured scores / same-provider enrichment in the published set, the
TTL cache, a failing or stalled API that never delays the publish nor loses offers, and the
reader's filters and endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from conftest import fixture_path, read_json
from endpoints_server import KEY, EndpointsServer, endpoint, per_token
from fastapi.testclient import TestClient
from storewrap import check_published

from pipeline.config import CatalogConfig, OffersConfig, OpenRouterConfig
from pipeline.offers.enrich import offer_for
from pipeline.offers.fetch import endpoints_template
from pipeline.offers.parse import parse_offers, parse_response
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.records.payloads import PayloadError
from pipeline.registry import Registry
from pipeline.runs.jobs import run_job
from pipeline.service.app import create_app
from pipeline.stages.health import HealthRanges
from pipeline.timeutil import parse_iso

CATALOG = "openrouter-models-2026-08-19.json"
CEREBRAS = "provider-cerebras-models-2026-08-17.json"
T0 = parse_iso("2026-08-19T06:00:00Z")

KNOWN = "openai/gpt-oss-120b"  # a hand-written answer with a Cerebras offer
NULLS = "openai/gpt-oss-20b"  # nulls everywhere, uptime as fractions, latency in seconds
GONE = "meta-llama/llama-3.3-70b-instruct"  # 404
LIMITED = "qwen/qwen3-32b"  # 429 with Retry-After once, then fine
STALLED = "moonshotai/kimi-k2"  # never answers within the per-request timeout


def _doc(*endpoints: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"id": "x/y", "name": "Y", "endpoints": list(endpoints)}}


# -- parser --------------------------------------------------------------------------------


def test_documented_endpoint_parses_into_an_offer_with_exact_prices():
    raw = endpoint("DeepInfra", "deepinfra/fp8", "fp8", seed=3, base_price=0.3)
    raw["pricing"]["prompt"] = "0.0000003"
    raw["pricing"]["completion"] = "0.0000012"
    raw["pricing"]["input_cache_read"] = "0.00000003"
    raw["uptime_last_1d"] = 99.8
    raw["latency_last_30m"] = {"p50": 250.5, "p75": 300, "p90": 480, "p99": 850}
    parsed = parse_offers(_doc(raw), "x/y")
    assert parsed.uptime_scale == "percent" and parsed.latency_unit == "ms"
    (offer,) = parsed.offers
    assert offer.provider == "DeepInfra" and offer.tag == "deepinfra/fp8"
    assert offer.quantization == "fp8"
    assert offer.pricing.input == Decimal("0.3") and offer.pricing.output == Decimal("1.2")
    assert offer.pricing.cache_read == Decimal("0.03")
    assert "discount" not in offer.pricing.other  # a fraction off, not a price
    assert offer.uptime_1d == 99.8 and offer.latency_p50_ms == 250.5 and offer.latency_p90_ms == 480
    assert offer.max_context == 32768 * 4 and offer.max_prompt is None
    assert offer.supported_parameters == ["max_tokens", "temperature", "tools"]
    assert offer.status == 0 and offer.implicit_caching is True


def test_uptime_as_fraction_and_latency_in_seconds_are_scaled():
    a = endpoint("A", "a", None, seed=1, base_price=1)
    b = endpoint("B", "b", None, seed=2, base_price=1)
    for raw, (m5, m30, d1) in ((a, (1.0, 0.995, 0.998)), (b, (1, 0.9, 0.97))):
        raw.update(uptime_last_5m=m5, uptime_last_30m=m30, uptime_last_1d=d1)
        raw["latency_last_30m"] = {"p50": 0.25, "p75": 0.35, "p90": 0.48, "p99": 0.85}
    parsed = parse_offers(_doc(a, b), "x/y")
    assert parsed.uptime_scale == "fraction" and parsed.latency_unit == "s"
    by = {o.provider: o for o in parsed.offers}
    assert by["A"].uptime_30m == 99.5 and by["A"].uptime_1d == 99.8
    assert by["B"].uptime_30m == 90.0 and by["A"].latency_p50_ms == 250.0
    # One percentage above 1 decides the scale for the whole response (documented: percent).
    b["uptime_last_1d"] = 97
    parsed = parse_offers(_doc(a, b), "x/y")
    assert parsed.uptime_scale == "percent"
    assert {o.provider: o.uptime_1d for o in parsed.offers} == {"A": 0.998, "B": 97.0}


def test_nulls_unknown_keys_and_bad_values_drop_only_themselves():
    full = endpoint("Good", "good", "bf16", seed=5, base_price=2)
    nulls = {
        "provider_name": "Nully",
        "tag": None,
        "quantization": None,
        "context_length": None,
        "pricing": None,
        "uptime_last_30m": None,
        "uptime_last_1d": 250,  # out of range: dropped
        "latency_last_30m": None,
        "throughput_last_30m": {"p50": "fast"},
        "supported_parameters": None,
        "status": True,
        "supports_implicit_caching": "yes",
        "brand_new_field": 1,
    }
    bad_price = endpoint("BadPrice", "bad", None, seed=6, base_price=1)
    bad_price["pricing"]["prompt"] = "cheap"
    parsed = parse_offers(_doc(full, nulls, "not an object", {"tag": "no-name"}, bad_price), "x/y")
    assert [o.provider for o in parsed.offers] == ["BadPrice", "Good", "Nully"]
    nully = parsed.offers[2]
    assert nully.tag is None and nully.pricing.input is None and nully.uptime_1d is None
    assert nully.latency_p50_ms is None and nully.throughput_p50 is None
    assert nully.status is None and nully.implicit_caching is None
    assert parsed.offers[0].pricing.input is None  # its unreadable prices, not the offer
    assert len(parsed.dropped) == 3
    assert any("endpoints[2] is str" in d for d in parsed.dropped)
    assert any("no provider_name" in d for d in parsed.dropped)
    assert any("pricing.prompt is not a number" in d for d in parsed.dropped)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"<html>login</html>", "HTML"),
        (b'{"data": {"endpoints": 3}', "not JSON"),
        (b'{"error": {"code": 500}}', "no endpoint list"),
        (b'{"data": null}', "no endpoint list"),
        (b'{"data": [{"id": "a/b", "name": "A: B"}]}', "data is list"),
        (b'{"data": {"endpoints": {"a": 1}}}', "data.endpoints is dict"),
    ],
)
def test_unusable_responses_name_the_model(body, message):
    with pytest.raises(PayloadError, match=f"x/y: .*{message}"):
        parse_response(body, "x/y")


def test_endpoints_url_is_derived_from_the_catalog_url():
    offers = OffersConfig()
    derived = endpoints_template(
        offers, "https://openrouter.ai/api/v1/models?output_modalities=all"
    )
    assert derived == "https://openrouter.ai/api/v1/models/{id}/endpoints"
    mirror = endpoints_template(offers, "http://10.0.0.5:8080/or/api/v1/models")
    assert mirror == "http://10.0.0.5:8080/or/api/v1/models/{id}/endpoints"
    own = OffersConfig(url="https://proxy.example/ep?m={id}")
    assert endpoints_template(own, "https://openrouter.ai/api/v1/models") == own.url
    with pytest.raises(ValueError, match=r"\{id\}"):
        endpoints_template(OffersConfig(url="https://proxy.example/ep"), "")


def test_reliability_scale_is_log_unavailability_with_a_healthy_floor():
    healthy = HealthRanges()  # worst unavailability defaults to 10% (90% uptime)
    assert healthy.reliability(99.95) == 1.0
    assert healthy.reliability(99.9) == pytest.approx(1.0)
    assert healthy.reliability(99.0) == pytest.approx(0.5)
    assert healthy.reliability(90.0) == pytest.approx(0.0)
    wide = HealthRanges(worst_unavailability=1.0)  # someone at 0%
    assert wide.reliability(99.0) == pytest.approx(2 / 3)


# -- a full refresh against a local OpenRouter ---------------------------------------------


def _known_body() -> bytes:
    cerebras = endpoint("Cerebras", "cerebras", None, seed=11, base_price=0.25)
    cerebras["pricing"].update(prompt=per_token(0.25), completion=per_token(0.69))
    cerebras.update(context_length=131072, max_completion_tokens=40000, uptime_last_1d=99.99)
    cerebras["latency_last_30m"]["p50"] = 120
    cerebras["throughput_last_30m"]["p50"] = 2500
    deepinfra = endpoint("DeepInfra", "deepinfra/fp4", "fp4", seed=12, base_price=0.05)
    deepinfra["pricing"].update(prompt=per_token(0.05), completion=per_token(0.45))
    deepinfra["uptime_last_1d"] = 97.5
    return json.dumps(_doc(deepinfra, cerebras)).encode()


def _nulls_body() -> bytes:
    raw = endpoint("Novita", "novita", None, seed=13, base_price=0.04)
    raw.update(uptime_last_5m=1, uptime_last_30m=0.98, uptime_last_1d=0.995)
    raw.update(latency_last_30m=None, throughput_last_30m=None, quantization=None, tag=None)
    return json.dumps(_doc(raw, {"provider_name": "Bare"})).encode()


def _sources(server: EndpointsServer) -> dict[str, Any]:
    from pipeline.sources.registry import INSTANCE_ONLY, SOURCE_TYPES

    sources: dict[str, Any] = {
        n: {"enabled": False} for n in SOURCE_TYPES if n not in INSTANCE_ONLY
    }
    sources["cerebras"] = {
        "enabled": True,
        "base_url": f"{server.url}/cerebras/v1",
        "api_key_env": "TEST_KEY",
    }
    return sources


def _config(server: EndpointsServer, **offers: Any) -> CatalogConfig:
    settings = {"timeout_seconds": 1.0, "max_attempts": 2, **offers}
    return CatalogConfig(
        openrouter=OpenRouterConfig(url=server.catalog_url, max_attempts=1),
        offers=OffersConfig(**settings),
        extra={"sources": _sources(server)},
    )


def _server() -> EndpointsServer:
    server = EndpointsServer(
        fixture_path(CATALOG).read_bytes(), cerebras=fixture_path(CEREBRAS).read_bytes()
    )
    server.bodies = {KNOWN: _known_body(), NULLS: _nulls_body()}
    server.modes = {GONE: "404", LIMITED: "429-once", STALLED: "slow"}
    server.stall_seconds = 5.0
    return server


def _refresh(store, config, now=T0, sleeps=None):
    return run_job(
        "full_refresh",
        store,
        config,
        now=now,
        sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
    )


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """Two full refreshes of fresh stores from the same local OpenRouter (determinism), the
    first followed by one an hour later (TTL cache)."""
    with pytest.MonkeyPatch.context() as mp, _server() as server:
        mp.setenv("OPENROUTER_API_KEY", "sk-or-test-secret")
        mp.setenv("TEST_KEY", KEY)
        config = _config(server)
        store = LocalStore(tmp_path_factory.mktemp("offers"))
        sleeps: list[float] = []
        first = _refresh(store, config, sleeps=sleeps)
        counts = dict(server.counts)
        auth = list(server.auth)
        twin = LocalStore(tmp_path_factory.mktemp("twin"))
        server.counts.clear()
        twin_result = _refresh(twin, config)
        twin_set = {k: twin.get(k).data for k in (keys.CURRENT, keys.CURATED)}  # type: ignore[union-attr]
        first_set = {k: store.get(k).data for k in (keys.CURRENT, keys.CURATED)}  # type: ignore[union-attr]
        server.counts.clear()
        later = _refresh(store, config, now=T0 + timedelta(hours=1))
        yield {
            "store": store,
            "first": first,
            "twin": twin_result,
            "sets": (first_set, twin_set),
            "counts": counts,
            "later_counts": dict(server.counts),
            "later": later,
            "sleeps": sleeps,
            "auth": auth,
        }


def _models(store) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in read_json(store, keys.CURRENT)["models"]}


def test_full_refresh_publishes_offers_and_price_ranges(refreshed):
    first = refreshed["first"]
    assert first.published and first.outcome == "ok", first.error
    current = read_json(refreshed["store"], keys.CURRENT)
    models = {m["id"]: m for m in current["models"]}
    known = models[KNOWN]
    assert [o["provider"] for o in known["offers"]] == ["Cerebras", "DeepInfra"]
    cerebras = known["offers"][0]
    assert cerebras["pricing"]["input"] == Decimal("0.25")
    assert cerebras["pricing"]["output"] == Decimal("0.69")
    assert cerebras["maxContext"] == 131072 and cerebras["maxOutput"] == 40000
    assert float(cerebras["uptime1d"]) == 99.99 and cerebras["latencyP50Ms"] == 120
    assert cerebras["throughputP50"] == 2500
    assert known["offerPriceRange"] == {
        "inputMin": Decimal("0.05"),
        "inputMax": Decimal("0.25"),
        "outputMin": Decimal("0.45"),
        "outputMax": Decimal("0.69"),
        "pricedOffers": 2,
    }
    assert known["offersAsOf"] == "2026-08-19T06:00:00Z"
    # The model-level price keeps its meaning: OpenRouter's listed price.
    assert known["pricing"]["input"] == Decimal("0.03")
    nulls = models[NULLS]["offers"]
    assert [o["provider"] for o in nulls] == ["Bare", "Novita"]
    assert nulls[1]["uptime1d"] == 99.5 and "latencyP50Ms" not in nulls[1]
    assert "tag" not in nulls[1] and nulls[0]["pricing"] == {"other": {}}
    assert "offers" not in models[GONE] and "offerPriceRange" not in models[GONE]
    assert models[LIMITED]["offers"], "a 429 with Retry-After is retried"
    assert 1.0 in refreshed["sleeps"]
    assert "offers" not in models[STALLED], "a stalled model has nothing to keep"
    # Only active chat models are asked; image/embedding models carry no offers.
    asked = {k for k in refreshed["counts"] if k not in ("catalog", "cerebras")}
    chat = {
        m["id"] for m in current["models"] if m["kind"] == "chat" and not m["id"].startswith("~")
    }
    assert asked == chat
    assert all("offers" not in m for m in current["models"] if m["kind"] != "chat")
    # The key is sent (latency and throughput need one) and never published.
    assert set(refreshed["auth"]) == {"Bearer sk-or-test-secret"}
    blob = refreshed["store"].get(keys.CURRENT).data
    assert b"sk-or-test-secret" not in blob
    details = first.details["offers"]
    assert details["notFound"] == 1 and details["failedNone"] == 1
    assert details["undocumentedScale"] == {"uptimeFraction": 1}
    assert any(STALLED in w and "timed out" in w for w in first.warnings + _warnings(refreshed))


def _warnings(refreshed) -> list[str]:
    return read_json(refreshed["store"], keys.run_report(refreshed["first"].run_id))["warnings"]


def test_published_set_is_schema_valid_and_deterministic(refreshed):
    check_published(refreshed["store"])
    first_set, twin_set = refreshed["sets"]
    assert first_set == twin_set
    raw = json.loads(refreshed["store"].get(keys.offers_raw(T0)).data)
    assert raw["fetchedAt"] == "2026-08-19T06:00:00Z"
    assert json.loads(_known_body()) == raw["responses"][KNOWN]
    assert GONE not in raw["responses"] and STALLED not in raw["responses"]


def test_measured_scores_in_curated_json(refreshed):
    curated = json.loads(refreshed["sets"][0][keys.CURATED])
    scores = {m["id"]: m["scores"] for m in curated["models"]}
    from pipeline.config import CurationConfig
    from pipeline.records.catalog import CurrentCatalog
    from pipeline.stages.rank import rank_catalog

    catalog = CurrentCatalog.model_validate_json(refreshed["sets"][0][keys.CURRENT])
    ranked = rank_catalog(catalog.models, now=T0, config=CurationConfig())
    known = ranked[KNOWN].scores
    assert known.reliability.source == "endpoints"
    assert "uptime 1d 99.99%" in (known.reliability.detail or "")
    assert known.latency.source == "endpoints"
    assert "120 ms" in (known.latency.detail or "") and "2500 tok/s" in (known.latency.detail or "")
    assert known.latency.value == 1.0  # the fastest first token and the highest speed
    # Without measurements, today's sources remain.
    assert ranked[GONE].scores.reliability.source in ("lifecycle", "heuristic", "default")
    assert ranked[GONE].scores.latency.source in ("heuristic", "default")
    # What curated.json publishes is the same computation.
    assert any(s["reliability"]["source"] == "endpoints" for s in scores.values())
    for model_id, published in scores.items():
        assert published["reliability"] == ranked[model_id].scores.reliability.model_dump(
            mode="json", exclude_none=True
        )


def test_host_list_takes_its_own_offer_with_provenance(refreshed):
    listing = read_json(refreshed["store"], keys.provider_current("cerebras"))
    models = {m["id"]: m for m in listing["models"]}
    gpt = models["gpt-oss-120b"]
    assert gpt["pricing"]["input"] == Decimal("0.25") and gpt["pricing"]["output"] == Decimal(
        "0.69"
    )
    assert gpt["maxContext"] == 131072 and gpt["maxOutput"] == 40000
    origin = listing["provenance"]["gpt-oss-120b"]
    assert origin["pricing"] == origin["maxContext"] == "openrouter-endpoint:cerebras"
    # Never another host's: DeepInfra's cheaper offer of the same model was not taken.
    assert gpt["pricing"]["input"] != Decimal("0.05")


def test_offer_matching_is_by_this_provider_only():
    from pipeline.records.model import Offer, PriceFields

    offers = [
        Offer(provider="DeepInfra", tag="deepinfra/fp8", pricing=PriceFields()),
        Offer(provider="Google AI Studio", tag="google-ai-studio", pricing=PriceFields()),
    ]
    assert offer_for("deepinfra", "deepinfra", offers) is offers[0]
    assert offer_for("gemini", "gemini", offers) is offers[1]
    assert offer_for("groq", "groq", offers) is None
    # A generic OpenAI-compatible instance is matched by its own name only.
    assert offer_for("local-vllm", "openai-compatible", offers) is None


def test_ttl_cache_skips_fresh_models(refreshed):
    later = refreshed["later"]
    assert later.published, later.error
    assert set(refreshed["later_counts"]) <= {"catalog", "cerebras", GONE, STALLED}
    models = _models(refreshed["store"])
    assert models[KNOWN]["offersAsOf"] == "2026-08-19T06:00:00Z"
    assert later.details["offers"]["cached"] >= 100


# -- failure and slowness never block the publish or lose offers ----------------------------


def _seeded(tmp_path, server, config) -> LocalStore:
    store = LocalStore(tmp_path / "store")
    assert _refresh(store, config).published
    assert _models(store)[KNOWN]["offers"]
    return store


def test_failing_endpoints_api_keeps_previous_offers(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_KEY", KEY)
    with _server() as server:
        config = _config(server)
        store = _seeded(tmp_path, server, config)
        before = _models(store)
        server.all_mode = "500"
        server.counts.clear()
        result = _refresh(store, config, now=T0 + timedelta(hours=7))
        assert result.published, result.error
        asked = server.endpoint_requests()
    after = _models(store)
    assert after[KNOWN]["offers"] == before[KNOWN]["offers"]
    assert after[KNOWN]["offersAsOf"] == "2026-08-19T06:00:00Z"
    assert any(
        "stopped asking the endpoints API" in w
        for w in result.warnings + _run_warnings(store, result)
    )
    # The breaker stopped it: a few models were tried (twice each), not all of them.
    assert asked <= 2 * (config.offers.breaker_failures + config.offers.concurrency)
    check_published(store)


def test_stalled_endpoints_api_is_cut_at_the_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_KEY", KEY)
    with _server() as server:
        config = _config(server)
        store = _seeded(tmp_path, server, config)
        before = _models(store)
        server.all_mode = "slow"
        server.stall_seconds = 30.0
        stalled = _config(server, budget_seconds=1.0, timeout_seconds=20.0)
        began = time.perf_counter()
        result = _refresh(store, stalled, now=T0 + timedelta(hours=7))
        elapsed = time.perf_counter() - began
    assert result.published, result.error
    # Bounded by the budget, not by the 30 s stall or the 20 s request timeout.
    report = read_json(store, keys.run_report(result.run_id))
    assert report["timingsMs"]["offers"] < 5000, report["timingsMs"]
    assert elapsed < 15
    after = _models(store)
    assert after[KNOWN]["offers"] == before[KNOWN]["offers"]
    assert any("budget of 1s spent" in w for w in report["warnings"])


def _run_warnings(store, result) -> list[str]:
    return read_json(store, keys.run_report(result.run_id))["warnings"]


def test_replay_from_file_carries_offers_and_changes_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_KEY", KEY)
    with _server() as server:
        store = _seeded(tmp_path, server, _config(server))
    before = _models(store)
    result = run_job(
        "full_refresh",
        store,
        CatalogConfig(),
        now=T0 + timedelta(hours=2),
        from_file=fixture_path(CATALOG),
    )
    assert result.published, result.error
    after = _models(store)
    assert after[KNOWN]["offers"] == before[KNOWN]["offers"]
    assert sum(result.details["offers"].get(k, 0) for k in ("carried", "cached")) > 0


# -- the reader --------------------------------------------------------------------------


def test_reader_filters_and_offers_endpoint(refreshed):
    registry = Registry(refreshed["store"])
    registry.refresh()
    served = {m["id"] for m in registry.search(served_by="cerebras")}
    assert KNOWN in served and GONE not in served
    assert KNOWN in {m["id"] for m in registry.search(served_by="Cerebras", max_offer_price=0.25)}
    assert KNOWN not in {
        m["id"] for m in registry.search(served_by="cerebras", max_offer_price=0.2)
    }
    cheap = registry.search(max_offer_price=0.06)
    assert KNOWN in {m["id"] for m in cheap}
    assert all(any(o["pricing"].get("input", 99) <= 0.06 for o in m["offers"]) for m in cheap)
    fp4 = registry.search(quantization="FP4")
    assert KNOWN in {m["id"] for m in fp4}
    assert all(any(o.get("quantization") == "fp4" for o in m["offers"]) for m in fp4)
    # All offer filters must hold on one offer: Cerebras does not serve it in fp4.
    assert KNOWN not in {m["id"] for m in registry.search(served_by="cerebras", quantization="fp4")}
    from pipeline.registry import QueryError

    with pytest.raises(QueryError, match="max_offer_price"):
        registry.search(max_offer_price=-1)

    with TestClient(create_app(registry, refresh_seconds=0)) as client:
        # The same filters over HTTP (/api/models).
        page = client.get("/api/models", params={"served_by": "cerebras", "max_offer_price": 0.25})
        assert KNOWN in {m["id"] for m in page.json()["data"]}
        fp4_page = client.get("/api/models", params={"quantization": "FP4", "limit": 1000}).json()
        assert {m["id"] for m in fp4_page["data"]} == {m["id"] for m in fp4}
        assert client.get("/api/models", params={"max_offer_price": -1}).status_code == 422
        answer = client.get(f"/api/models/{KNOWN}/offers")
        assert answer.status_code == 200
        body = answer.json()
        assert body["id"] == KNOWN and [o["tag"] for o in body["offers"]] == [
            "cerebras",
            "deepinfra/fp4",
        ]
        assert (
            body["priceRange"]["inputMin"] == 0.05 and body["offersAsOf"] == "2026-08-19T06:00:00Z"
        )
        assert body["listedPricing"]["input"] == 0.03
        alias = _models(refreshed["store"])[KNOWN]["alias"]
        assert client.get(f"/api/models/{alias}/offers").json()["id"] == KNOWN
        none = client.get(f"/api/models/{GONE}/offers").json()
        assert none["offers"] == [] and none["offersAsOf"] is None
        missing = client.get("/api/models/openai/gpt-oss-1200b/offers")
        assert missing.status_code == 404 and KNOWN in missing.json()["closeMatches"]


def test_a_crashing_stage_keeps_previous_offers(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_KEY", KEY)
    with _server() as server:
        config = _config(server)
        store = _seeded(tmp_path, server, config)
        before = _models(store)

        def explode(*args: Any, **kw: Any) -> None:
            raise RuntimeError("bug in the fetcher")

        monkeypatch.setattr("pipeline.offers.stage.fetch_all", explode)
        result = _refresh(store, config, now=T0 + timedelta(hours=7))
    assert result.published, result.error
    assert _models(store)[KNOWN]["offers"] == before[KNOWN]["offers"]
    assert any("offers not updated: RuntimeError" in w for w in _run_warnings(store, result))


def test_fetch_outcomes_per_model():
    import httpx

    from pipeline.offers.fetch import fetch_all

    seen: list[str] = []
    body = json.dumps(_doc(endpoint("A", "a", None, seed=1, base_price=1))).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        model = request.url.path.removeprefix("/api/v1/models/").removesuffix("/endpoints")
        seen.append(model)
        if model == "a/missing":
            return httpx.Response(404)
        if model == "a/huge":
            return httpx.Response(200, content=b" " * 4096)
        if model == "a/denied":
            return httpx.Response(401)
        if model == "a/flaky" and seen.count(model) == 1:
            return httpx.Response(503)
        return httpx.Response(200, content=body)

    config = OffersConfig(max_response_bytes=1024, max_attempts=2)
    report = fetch_all(
        ["a/ok", "a/missing", "a/huge", "a/denied", "a/flaky"],
        template="https://or.test/api/v1/models/{id}/endpoints",
        config=config,
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
        parse=parse_response,
    )
    outcome = {i: (r.outcome, r.attempts) for i, r in report.results.items()}
    assert outcome == {
        "a/ok": ("ok", 1),
        "a/missing": ("missing", 1),
        "a/huge": ("failed", 1),
        "a/denied": ("failed", 1),
        "a/flaky": ("ok", 2),
    }
    assert "larger than 1024 bytes" in (report.results["a/huge"].error or "")
    assert "HTTP 401; not retried" in (report.results["a/denied"].error or "")
    assert report.results["a/ok"].parsed.offers[0].provider == "A"


def test_breaker_stops_asking_a_dead_api():
    import httpx

    from pipeline.offers.fetch import fetch_all

    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(500)

    config = OffersConfig(concurrency=1, breaker_failures=3, max_attempts=2)
    report = fetch_all(
        [f"v/m{i:02d}" for i in range(50)],
        template="https://or.test/api/v1/models/{id}/endpoints",
        config=config,
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
    )
    assert report.breaker is not None and "3 models in a row failed" in report.breaker
    assert len(asked) == 3 * 2
    assert report.count("failed") == 3 and report.count("abandoned") == 47
