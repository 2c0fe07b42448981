"""Issue 28: values as the views show them — prices never in exponent notation, the price tier
with what decided it, curated order with pins marked — and one answer for every shape of a
filter: the explorer's form and URLs (repeated keys or comma lists), ``catalog list``,
``Registry.search`` and ``/api/models``, which refuses parameters it does not take."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from conftest import REPO, fixture_path, read_json
from fastapi.testclient import TestClient

from pipeline.cli import main
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.registry import Registry
from pipeline.service.app import create_app
from pipeline.web.figures import usd
from pipeline.web.shown import price_rows_of

PAYLOAD = "openrouter-models-2026-08-19.json"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """The recorded 2026-08-19 catalog, curated with the repository's core (pins included)."""
    root = tmp_path_factory.mktemp("values") / "store"
    argv = ["sync", "openrouter", "--store", str(root), "--from-file", str(fixture_path(PAYLOAD))]
    overrides = ["--overrides", str(REPO / "overrides")]
    assert main([*argv, *overrides, "--now", "2026-08-19T06:00:00Z", "-q"]) == 0
    return LocalStore(root)


@pytest.fixture(scope="module")
def client(store: LocalStore) -> Any:
    with TestClient(create_app(Registry.open(store), refresh_seconds=0)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def models(store: LocalStore) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in read_json(store, keys.CURRENT)["models"]}


# -- prices --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (3e-07, "$0.0000003"),  # google/gemini-2.5-flash perImage, as published
        (1.25e-06, "$0.00000125"),
        (0.0833333333333333, "$0.0833333"),
        (1.0399999999999998, "$1.04"),
        (2.5, "$2.5"),
        (10, "$10"),
        (1234567, "$1,234,570"),
        (0, "$0"),
        (Decimal("0.0000002"), "$0.0000002"),
        (None, "—"),
    ],
)
def test_a_price_reads_as_a_decimal(value: Any, shown: str) -> None:
    assert usd(value) == shown


def test_no_published_price_shows_in_exponent_notation(models, client, capsys) -> None:
    tiny = [
        (model_id, name, value)
        for model_id, model in models.items()
        for name, value in price_rows_of(model.get("pricing") or {})
        if re.search(r"\d[eE][-+]?\d", value)
    ]
    assert tiny == []
    assert all(not re.search(r"\d[eE][-+]?\d", str(m.get("cost"))) for m in models.values())
    # The real case of the issue, on the model page and in `catalog show`.
    assert models["google/gemini-2.5-flash"]["pricing"]["perImage"] == Decimal("3E-7")
    page = client.get("/models/google/gemini-2.5-flash").text
    assert "<tr><th>perImage</th><td>$0.0000003</td></tr>" in page
    store = client.app.state.registry.store
    assert main(["show", "google/gemini-2.5-flash", "--table", "--store", store.uri]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  perImage +\$0\.0000003$", out, re.M), out
    assert "e-07" not in out and "e-06" not in out


def test_cost_lines_print_prices_readably(store, capsys) -> None:
    argv = ["cost", "google/gemini-2.5-flash-lite", "--input", "1000", "--output", "10"]
    assert main([*argv, "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"input +1,000 × \$0\.1/1M = \$0\.000100", out), out
    assert not re.search(r"\d[eE][-+]?\d", out)


# -- the price tier and its evidence ------------------------------------------------------------


def test_price_tier_shows_what_decided_it(models, client, store, capsys) -> None:
    cases = {
        "openai/gpt-4o": ("standard", "input $2.50 per 1M tokens (tiers by input price"),
        "openrouter/free": ("free", "isFree: every listed price is 0"),
        "openrouter/auto": ("variable", "pricing.variable: the router bills the model it picks"),
    }
    for model_id, (tier, evidence) in cases.items():
        assert models[model_id]["priceTier"] == tier
        page = client.get(f"/models/{model_id}").text
        row = re.search(r'<tr data-flag="priceTier">(.*?)</tr>', page).group(1)
        assert "layer-pricing" in row and ">pricing<" in row and evidence in row, row
        assert main(["show", model_id, "--table", "--store", str(store.root)]) == 0
        line = next(
            ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("  priceTier")
        )
        assert line.split(None, 3)[1:3] == [tier, "pricing"] and evidence in line, line


# -- curated order and pins ----------------------------------------------------------------------


def test_curated_order_is_pins_first_then_rank_and_pins_are_marked(client, store) -> None:
    curated = read_json(store, keys.CURATED)
    pins = {(b, e["id"]) for e in curated["core"] for b in e.get("pinned") or []}
    assert pins, "the repository's core pins some models"
    body = client.get("/api/models/curated").json()["buckets"]
    page = client.get("/curated").text
    for bucket, entries in body.items():
        flags = [e["pinned"] for e in entries]
        assert flags == [(bucket, e["id"]) in pins for e in entries]
        # Pinned entries first, then the others in rank order, best first.
        assert flags == sorted(flags, reverse=True)
        ranks = [e["rank"] for e in entries if not e["pinned"]]
        assert ranks == sorted(ranks, reverse=True), bucket
        section = page.split(f'<section id="bucket-{bucket}">', 1)[1].split("</section>", 1)[0]
        rows = re.findall(
            r"<tr( class=\"pinned\")?><td class=num>\d+</td><td><a[^>]*>([^<]+)</a>", section
        )
        assert [(bool(mark), model_id) for mark, model_id in rows] == [
            (e["pinned"], e["id"]) for e in entries
        ]
    bucket, model_id = sorted(pins)[0]
    model_page = client.get(f"/models/{model_id}").text
    assert re.search(rf'<span class="pin">pinned</span> in [^<]*{bucket}', model_page)


# -- one answer for every filter shape -----------------------------------------------------------


SHAPES = [
    "capability=vision&capability=tools&tier=budget",
    "capability=vision,tools&tier=budget",
    "capability=tools&capability=vision,tools&tier=budget&tier=budget",
    "tier=budget&capability=vision&capability=tools&sort=id&dir=asc&q=&provider=&bucket=",
]


def test_every_filter_shape_gives_the_librarys_answer(client, store, capsys) -> None:
    registry = client.app.state.registry
    expected = [m["id"] for m in registry.search(capability=["vision", "tools"], tier="budget")]
    tools_only = registry.search(capability="tools", tier="budget")
    assert 0 < len(expected) < len(tools_only)  # the symptom: the last value alone
    for shape in SHAPES:
        page = client.get(f"/?{shape}")
        assert page.status_code == 200, shape
        assert f'<b id="total">{len(expected):,}</b>' in page.text, shape
        for value in ("vision", "tools"):
            assert f'value="{value}" checked' in page.text, shape
        assert 'name="tier" value="budget" checked' in page.text
        api = client.get(f"/api/models?{shape.split('&sort')[0]}&limit=1000")
        assert api.status_code == 200, api.text
        assert [m["id"] for m in api.json()["data"]] == expected, shape
    argv = ["list", "--capability", "vision,tools", "--tier", "budget", "--json"]
    assert main([*argv, "--store", str(store.root)]) == 0
    listed = __import__("json").loads(capsys.readouterr().out)
    assert [r["id"] for r in listed["data"]] == expected


def test_kind_filters_alike_everywhere(client, store, capsys) -> None:
    registry = client.app.state.registry
    expected = [m["id"] for m in registry.search(kind=["router", "speech"])]
    assert [m["id"] for m in registry.search(kind="router,speech")] == expected
    assert expected and {m["kind"] for m in registry.search(kind="speech,router")} == {
        "router",
        "speech",
    }
    api = client.get("/api/models?kind=router&kind=speech&limit=1000").json()
    assert [m["id"] for m in api["data"]] == expected
    page = client.get("/?kind=router&kind=speech").text
    assert f'<b id="total">{len(expected):,}</b>' in page
    assert main(["list", "--kind", "router,speech", "--json", "--store", str(store.root)]) == 0
    assert __import__("json").loads(capsys.readouterr().out)["total"] == len(expected)


@pytest.mark.parametrize(
    ("path", "param", "says"),
    [
        ("/api/models?kinds=chat", "kinds", "this route takes: capability, tier, bucket"),
        ("/api/models?page=2", "page", "cursor"),
        ("/api/models?bucket=coding&bucket=vision", "bucket", "given 2 different values"),
        ("/api/models?q=gpt&q=claude", "q", "give one"),
        ("/api/models?kind=robot", "kind", "String should match pattern"),
        ("/api/models/curated?bucket=coding&extra=1", "extra", "this route takes: bucket"),
        ("/api/models/core?spec=coding", "spec", "this route takes: specialty"),
        ("/api/models/deprecations?since=2026", "since", "this route takes: none"),
        ("/api/models/openai/gpt-4o?format=anthropic", "format", "this route takes: none"),
    ],
)
def test_a_parameter_a_route_does_not_take_is_refused(client, path, param, says) -> None:
    response = client.get(path)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert param in error["loc"] and says in error["msg"], error


def test_the_explorer_refuses_a_single_value_given_twice(client) -> None:
    page = client.get("/?sort=input&sort=rank")
    assert page.status_code == 400 and "sort: given 2 different values" in page.text
    assert 'data-page="error"' in page.text  # the script leaves an error page alone
    assert client.get("/?q=gpt&q=gpt").status_code == 200  # the same value twice is one


def test_the_sdk_routes_still_take_what_the_sdks_send(client) -> None:
    # OpenAI: no query; Anthropic: limit, after_id / before_id; Gemini: pageSize, pageToken, key.
    assert client.get("/v1/models").status_code == 200
    assert client.get("/v1/models?limit=2&after_id=openai/gpt-4o").status_code == 200
    gemini = client.get("/v1beta/models?pageSize=2&pageToken=&key=not-checked")
    assert gemini.status_code == 200, gemini.text
