"""Issue 19: the explorer's pages and machine twins (in process), the CLI views, and the
static export — over the session replay of the real OpenRouter snapshots."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import Replay, read_json
from fastapi.testclient import TestClient

from pipeline.cli import main
from pipeline.registry import Registry
from pipeline.service.app import create_app
from pipeline.web import rows as table_rows

EXACTO = "z-ai/glm-4.6:exacto"


@pytest.fixture(scope="module")
def client(replay: Replay) -> Any:
    app = create_app(Registry(replay.store), refresh_seconds=0)
    with TestClient(app) as test_client:
        yield test_client


def _ids_in(html: str) -> list[str]:
    return re.findall(r'<tr data-id="([^"]+)"', html)


def test_table_page_renders_the_first_page_server_side(client, replay: Replay) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    ids = _ids_in(response.text)
    current = sorted(m["id"] for m in replay.steps[-1].current["models"])
    assert ids == current[: table_rows.PAGE_SIZE]
    assert f'<b id="total">{len(current):,}</b>' in response.text
    # No request leaves the origin: every src/href is relative or rooted here.
    for url in re.findall(r'(?:src|href)="([^"]+)"', response.text):
        assert not url.startswith(("http:", "https:", "//")), url
    again = client.get("/", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_filters_and_sort_in_the_url(client, replay: Replay) -> None:
    response = client.get(
        "/", params={"capability": "vision,tools", "tier": "budget", "sort": "input", "dir": "desc"}
    )
    assert response.status_code == 200
    ids = _ids_in(response.text)
    models = {m["id"]: m for m in replay.steps[-1].current["models"]}
    expected = [
        m
        for m in models.values()
        if m["supportsVision"] and m["supportsTools"] and m["priceTier"] == "budget"
    ]
    assert f'<b id="total">{len(expected):,}</b>' in response.text
    assert set(ids) <= {m["id"] for m in expected}
    assert len(ids) == min(len(expected), table_rows.PAGE_SIZE)
    prices = [models[i]["pricing"]["input"] for i in ids]
    assert prices == sorted(prices, reverse=True)
    assert prices[0] == max(m["pricing"]["input"] for m in expected)
    bad = client.get("/", params={"tier": "cheap"})
    assert bad.status_code == 400 and "tier: unknown value(s) cheap" in bad.text


def test_model_page_shows_flags_evidence_lifecycle_and_price_chart(client, replay: Replay) -> None:
    model = next(m for m in replay.steps[-1].current["models"] if m["id"] == "openai/gpt-4o")
    page = client.get("/models/openai/gpt-4o")
    assert page.status_code == 200
    for flag in ("supportsVision", "supportsTools", "reasoning"):
        row = re.search(rf'<tr data-flag="{flag}">(.*?)</tr>', page.text).group(1)
        assert model["detectionSource"][flag] in row
        assert model["evidence"][flag].replace("'", "&#x27;") in row
    assert 'id="price-chart"' in page.text
    points = re.findall(
        r'data-series="(input|output)" data-at="([^"]+)" data-usd="([^"]+)"', page.text
    )
    assert ("input", model["lifecycle"]["firstSeen"], "2.5") in points or any(
        p[0] == "input" and p[2] == "2.5" for p in points
    )
    by_alias = client.get(f"/models/{model['alias']}")
    assert by_alias.status_code == 200 and "openai/gpt-4o" in by_alias.text


def test_removed_model_page_comes_from_history(client) -> None:
    page = client.get(f"/models/{EXACTO}")
    assert page.status_code == 200
    assert "no longer in the catalog" in page.text
    assert "state: deprecated → removed" in page.text
    missing = client.get("/models/openai/gpt-4-nope")
    assert missing.status_code == 404 and "openai/gpt-4" in missing.text


def test_compare_marks_differences(client) -> None:
    page = client.get("/compare", params={"ids": "openai/gpt-4o,anthropic/claude-sonnet-4,nope/x"})
    assert page.status_code == 200
    assert re.search(r'<tr data-field="in" class=diff>', page.text)
    assert re.search(r'<tr data-field="kind">', page.text)  # both chat: not marked
    assert "Not in the catalog: nope/x" in page.text


def test_curated_page_shows_score_sources(client, replay: Replay) -> None:
    curated = read_json(replay.store, "models/openrouter/curated.json")
    page = client.get("/curated")
    assert page.status_code == 200
    for bucket, entries in curated["buckets"].items():
        assert f'id="bucket-{bucket}"' in page.text
        for entry in entries:
            assert entry["id"] in page.text
    source = curated["models"][0]["scores"]["quality"]["source"]
    assert f'<span class="layer">{source}</span>' in page.text


def test_changes_page_and_atom_feed_link_to_models(client) -> None:
    page = client.get("/changes", params={"since": "2026-04-02"})
    assert page.status_code == 200 and 'rel="next"' in page.text  # paged, newest first
    times = re.findall(r'<tr class="event event-\w+"><td>([^<]+)</td>', page.text)
    assert times == sorted(times, reverse=True) and times[-1] >= "2026-04-02"
    one = client.get("/changes", params={"model": "reka/reka-edge"})
    assert 'class="model-link" href="/models/reka/reka-edge"' in one.text
    assert "redirectTo: — → rekaai/reka-edge" in one.text
    feed = client.get("/feeds/changes.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    entries = root.findall("{http://www.w3.org/2005/Atom}entry")
    assert 0 < len(entries) <= 100
    updated = [e.find("{http://www.w3.org/2005/Atom}updated").text for e in entries]
    assert updated == sorted(updated, reverse=True)
    # Without a configured public URL the links are relative (never the request's Host).
    link = entries[0].find("{http://www.w3.org/2005/Atom}link").get("href")
    assert link.startswith("/models/")


def test_api_changes_paginates_with_a_cursor(client) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"since": "2026-04-01", "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/changes", params=params).json()
        seen.extend(page["data"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == page["total"] > 200
    assert [e["at"] for e in seen] == sorted(e["at"] for e in seen)
    assert client.get("/api/changes", params={"since": "soon"}).status_code == 422
    assert client.get("/api/changes", params={"cursor": "-3"}).status_code == 422


def test_api_history_answers_a_price_at_a_date(client) -> None:
    body = client.get("/api/models/gpt-4o/history", params={"at": "2026-06-01"}).json()
    assert body["id"] == "openai/gpt-4o"
    assert body["priceAt"]["prices"]["input"] == 2.5 and body["events"]
    gone = client.get(f"/api/models/{EXACTO}/history").json()
    assert gone["events"][-1]["event"] == "removed"
    missing = client.get("/api/models/nope/nothing/history")
    assert missing.status_code == 404 and "closeMatches" in missing.json()


def test_rows_json_matches_the_catalog(client, replay: Replay) -> None:
    rows = client.get("/explorer/rows.json").json()
    assert [r["id"] for r in rows] == sorted(m["id"] for m in replay.steps[-1].current["models"])
    assert (
        client.get("/explorer/static/explorer.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    assert client.get("/explorer/static/../../etc/passwd").status_code == 404


def test_table_json_pages_a_view_as_the_server_rendered_table_does(client, replay) -> None:
    """The live table's script asks the server for each page (issue 29): the rows of
    /explorer/table.json are those of the server-rendered page of the same view, and the pages
    together are the view's rows, filtered and sorted as the library answers."""
    params = {"capability": "tools", "sort": "input", "dir": "desc"}
    first = client.get("/explorer/table.json", params=params).json()
    models = {m["id"]: m for m in replay.steps[-1].current["models"]}
    expected = sorted(
        (m for m in models.values() if m["supportsTools"]),
        key=lambda m: (m["pricing"].get("input") is None, -(m["pricing"].get("input") or 0)),
    )
    assert first["total"] == len(expected) > table_rows.PAGE_SIZE
    assert first["page"] == 1 and first["pages"] == -(-len(expected) // table_rows.PAGE_SIZE)
    html = client.get("/", params=params).text
    assert [r["id"] for r in first["rows"]] == _ids_in(html)
    every = []
    for page in range(1, first["pages"] + 1):
        answer = client.get("/explorer/table.json", params={**params, "page": page}).json()
        assert answer["page"] == page
        every.extend(answer["rows"])
    assert sorted(r["id"] for r in every) == sorted(m["id"] for m in expected)
    prices = [r["in"] for r in every if r["in"] is not None]
    assert prices == sorted(prices, reverse=True)
    beyond = client.get("/explorer/table.json", params={**params, "page": 999}).json()
    assert beyond["page"] == first["pages"]
    bad = client.get("/explorer/table.json", params={"tier": "cheap"})
    assert bad.status_code == 400 and "tier: unknown value(s) cheap" in bad.json()["detail"]
    assert 'data-table="/explorer/table.json"' in html


@pytest.mark.parametrize("sort", list(table_rows.SORTS))
def test_a_page_sorts_the_selected_models_as_their_rows_sort(client, sort: str) -> None:
    """Pages sort the models a view selects by the record's values without building every
    row first: the same order as sorting the rows themselves (missing values last)."""
    snapshot = client.app.state.registry.snapshot
    every = table_rows.all_rows(snapshot)
    for params in ({}, {"capability": "tools"}, {"q": "GPT", "state": "active"}):
        for direction in ("asc", "desc"):
            view = table_rows.View.parse({**params, "sort": sort, "dir": direction})
            wanted = {m["id"] for m in snapshot.search(**_filters(view))}
            key = table_rows.SORTS[sort]
            picked = [r for r in every if r["id"] in wanted]
            present = [r for r in picked if r[key] is not None]
            present.sort(
                key=lambda r: (r[key].lower() if isinstance(r[key], str) else r[key], r["id"]),
                reverse=direction == "desc",
            )
            expected = present + [r for r in picked if r[key] is None]
            assert table_rows.select(snapshot, view) == expected, (params, direction)
            for page in (1, 2):
                paged = table_rows.View.parse(
                    {**params, "sort": sort, "dir": direction, "page": str(page)}
                )
                shown, total, number, pages = table_rows.page_rows(snapshot, paged)
                assert (shown, pages) == table_rows.page_of(expected, paged)
                assert total == len(expected) and number == min(page, pages)


def _filters(view: table_rows.View) -> dict[str, Any]:
    return {
        "capability": view.capability,
        "tier": view.tier,
        "state": view.state,
        "kind": view.kind,
        "provider": view.provider or None,
        "q": view.q or None,
        "bucket": view.bucket or None,
    }


def test_hostile_names_are_escaped(tmp_path) -> None:
    row = table_rows.row(
        {
            "id": "evil/<script>alert(1)</script>",
            "name": '"><img src=x onerror=alert(1)>',
            "pricing": {},
            "lifecycle": {"state": "active"},
        },
        None,
        [],
    )
    from pipeline.web import pages

    html = pages.table_rows([row], pages.Links())
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


# -- CLI views -----------------------------------------------------------------------------


def test_catalog_list_filters_sorts_and_prints_json(replay: Replay, capsys) -> None:
    store = str(replay.store.root)
    assert (
        main(
            [
                "list",
                "--capability",
                "reasoning",
                "--sort",
                "context",
                "--desc",
                "--limit",
                "5",
                "--json",
                "--store",
                store,
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    contexts = [r["ctx"] for r in document["data"]]
    assert len(contexts) == 5 and contexts == sorted(contexts, reverse=True)
    assert all("reasoning" in r["caps"] for r in document["data"])
    assert main(["list", "--tier", "free", "--table", "--store", store]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["id", "kind", "in"] and all(
        ":free" in line or "free" in line for line in out[2:]
    )
    assert main(["list", "--tier", "cheap", "--store", store]) == 2
    assert "tier: unknown value(s) cheap" in capsys.readouterr().err


def test_catalog_show_and_explain(replay: Replay, capsys) -> None:
    store = str(replay.store.root)
    assert main(["show", "gpt-4o", "--table", "--store", store]) == 0
    out = capsys.readouterr().out
    assert out.startswith("openai/gpt-4o — ") and "supportsTools" in out and "recent history" in out
    assert main(["explain", "openai/gpt-4o", "--store", store]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("openai/gpt-4o (")
    assert re.search(r"supportsTools\s+true\s+api", out)
    assert main(["show", "gpt4o", "--store", store]) == 4
    assert "close matches" in capsys.readouterr().err


# -- static export -------------------------------------------------------------------------


def test_export_site_writes_every_page_with_relative_links(
    replay: Replay, tmp_path: Path, capsys
) -> None:
    site = tmp_path / "site"
    assert main(["export-site", str(site), "--store", str(replay.store.root)]) == 0
    capsys.readouterr()
    models = [m["id"] for m in replay.steps[-1].current["models"]]
    for model_id in models:
        assert (site / "models" / f"{model_id}.html").is_file(), model_id
    assert (site / "models" / f"{EXACTO}.html").is_file()  # removed, from history
    rows = json.loads((site / "data" / "rows.json").read_text())
    assert len(rows) == len(models)
    # Every relative link of a nested page resolves to a file of the site.
    page = site / "models" / "openai" / "gpt-4o.html"
    for url in re.findall(r'(?:src|href)="([^"?#]+)', page.read_text()):
        assert not url.startswith(("http", "/")), url
        assert (page.parent / unquote(url)).resolve().exists(), url
    assert oct((site / "index.html").stat().st_mode & 0o777) in ("0o644", "0o664")


def test_curated_page_shows_the_hand_maintained_core_first(tmp_path) -> None:
    from conftest import fixture_date, fixture_path

    from pipeline.config import CatalogConfig
    from pipeline.overrides.files import REPO_OVERRIDES, load_overrides
    from pipeline.publishing.store import LocalStore
    from pipeline.runs.sync import SyncRequest, sync_openrouter

    name = "openrouter-models-all-2026-08-19.json"
    store = LocalStore(tmp_path / "store")
    request = SyncRequest(
        now=fixture_date(name),
        from_file=fixture_path(name),
        overrides=load_overrides(REPO_OVERRIDES),
    )
    assert sync_openrouter(store, CatalogConfig(), request).published
    core = read_json(store, "models/openrouter/curated.json")["core"]
    assert core
    with TestClient(create_app(Registry(store), refresh_seconds=0)) as test_client:
        page = test_client.get("/curated").text
    assert page.index('id="core"') < page.index('id="bucket-')
    listed = re.findall(r'<tr data-core="([^"]+)">', page)
    assert listed == [entry["id"] for entry in core]
    assert f"<code>{core[0]['alias']}</code>" in page


def test_model_page_shows_the_offers_table() -> None:
    from pipeline.web import pages

    offers = [
        {
            "provider": "DeepInfra",
            "tag": "deepinfra/fp8",
            "quantization": "fp8",
            "pricing": {"input": 0.1, "output": 0.4},
            "maxContext": 131072,
            "uptime1d": 99.5,
            "uptime30m": 100,
            "latencyP50Ms": 420,
            "throughputP50": 88,
        },
        {"provider": "Groq", "tag": "groq", "pricing": {}},
    ]
    model = {
        "id": "acme/m1",
        "name": "M1",
        "pricing": {},
        "lifecycle": {"state": "active"},
        "offers": offers,
        "offersAsOf": "2026-08-19T00:00:00Z",
    }
    html = _render_model(model)
    table = html[html.index('<table class="offers">') :]
    assert (
        "<td>DeepInfra</td>" in table and "<td>99.50%</td>" in table and "<td>420 ms</td>" in table
    )
    body = table[table.index("<tbody>") : table.index("</tbody>")]
    assert body.count("<tr>") == 2 and "as of 2026-08-19T00:00:00Z" in html
    assert "lists no provider endpoint" in pages.model_page(
        {**model, "offers": []},
        timeline=[],
        redirects_in=[],
        redirect_out=None,
        old_aliases=[],
        curated=None,
        links=pages.Links(),
        end="2026-08-19T00:00:00Z",
        subtitle="",
    )


def test_model_page_shows_verification_or_unverified() -> None:

    model = {"id": "acme/m1", "name": "M1", "pricing": {}, "lifecycle": {"state": "active"}}
    verification = {
        "status": "failing",
        "calls": 120,
        "windowDays": 7,
        "verifiedCapabilities": ["chat"],
        "failingCapabilities": ["tools"],
        "downgraded": {"supportsTools": {}},
        "latencyP50Ms": 830,
        "lastChecked": "2026-08-20T01:30:00Z",
    }

    def render(record: dict[str, Any]) -> str:
        return _render_model(record, end="2026-08-20T00:00:00Z")

    shown = render({**model, "verification": verification})
    section = shown[shown.index('id="verification"') :]
    assert "<td>failing</td>" in section and "<td>tools</td>" in section
    assert "<td>supportsTools</td>" in section and "830 ms" in section
    assert "Unverified: no call" in render(model)


def _render_model(record: dict[str, Any], end: str = "2026-08-19T00:00:00Z") -> str:
    """A model page for one record, without history, redirects or curation."""
    from pipeline.web import pages

    return pages.model_page(
        record,
        timeline=[],
        redirects_in=[],
        redirect_out=None,
        old_aliases=[],
        curated=None,
        links=pages.Links(),
        end=end,
        subtitle="",
    )


def test_an_announced_retirement_is_shown_wherever_lifecycle_is(client, replay: Replay, capsys):
    """Issue 26: OpenRouter's `expiration_date` (z-ai/glm-4.5, 2026-12-31 in the 2026-08-19
    feed) is on the model page and in `catalog show`, not only in the JSON."""
    model = replay.steps[-1].models["z-ai/glm-4.5"]
    assert model["lifecycle"]["expiresAt"] == "2026-12-31T00:00:00Z"
    page = client.get("/models/z-ai/glm-4.5").text
    assert re.search(r"<th>expiresAt</th><td>2026-12-31T00:00:00Z</td>", page)
    capsys.readouterr()
    assert main(["show", "z-ai/glm-4.5", "--store", str(replay.store.root), "--table"]) == 0
    assert "  retires 2026-12-31T00:00:00Z" in capsys.readouterr().out
