"""Issue 19: the explorer in a real browser — Debian's Chromium, headless, driven by
Playwright — against a real `catalog serve` process and against the static export served by
a plain HTTP server, both over the replay of the real snapshots (so history is non-trivial).

Screenshots of every page land in ``$CATALOG_TEST_ARTIFACTS/explorer`` (default
``test-artifacts/explorer``). Without a Chromium the tests skip, unless
``CATALOG_REQUIRE_BROWSER=1`` (set by `make test`), where a missing browser is a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from conftest import REPO, Replay

from pipeline.cli import main

pytestmark = pytest.mark.slow

ARTIFACTS = Path(os.environ.get("CATALOG_TEST_ARTIFACTS", REPO / "test-artifacts")) / "explorer"


def _chromium() -> str | None:
    found = (
        os.environ.get("CATALOG_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    return found if found and Path(found).exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None or not _has_playwright():
        if os.environ.get("CATALOG_REQUIRE_BROWSER") == "1":
            pytest.fail("CATALOG_REQUIRE_BROWSER=1 but Chromium or playwright is missing")
        pytest.skip("no Chromium (apt-get install chromium) or playwright")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield instance
        instance.close()


def _has_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def served(replay: Replay, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    catalog = Path(sys.executable).with_name("catalog")
    command = [str(catalog)] if catalog.exists() else [sys.executable, "-m", "pipeline.cli"]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "AWS_"))}
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                *command,
                "serve",
                "--store",
                str(replay.store.root),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--refresh-seconds",
                "0",
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"catalog serve exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("catalog serve did not start")
            time.sleep(0.1)
        try:
            yield base
        finally:
            process.terminate()
            process.wait(15)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}"))
    yield tab
    context.close()
    assert not errors, errors


def _ready(tab: Any) -> None:
    # A selector, not wait_for_function: the pages' CSP forbids the eval that would need.
    tab.wait_for_selector('body[data-ready="1"]', state="attached", timeout=30_000)


def _shot(tab: Any, name: str) -> None:
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def _row_ids(tab: Any) -> list[str]:
    return tab.locator("#rows tr").evaluate_all("rows => rows.map(r => r.dataset.id)")


def test_filter_and_sort_the_table(page: Any, served: str) -> None:
    page.goto(served + "/")
    _ready(page)
    _shot(page, "catalog")
    page.fill('input[name="q"]', "gpt-4o")
    page.wait_for_url("**/?q=gpt-4o")
    ids = _row_ids(page)
    rows = httpx.get(served + "/explorer/rows.json").json()
    expected = sorted(
        r["id"] for r in rows if any("gpt-4o" in str(r[f]).lower() for f in ("id", "alias", "name"))
    )
    assert ids == expected
    page.click('a.sort[data-sort="input"]')
    page.wait_for_url("**sort=input**")
    by_id = {r["id"]: r for r in rows}
    prices = [by_id[i]["in"] for i in _row_ids(page) if by_id[i]["in"] is not None]
    assert prices == sorted(prices) and prices
    page.check('input[name="capability"][value="vision"]')
    page.wait_for_url("**capability=vision**")
    assert all("vision" in by_id[i]["caps"] for i in _row_ids(page))
    _shot(page, "catalog-filtered")
    # The URL holds the view: reloading it shows the same rows (server-rendered, then script).
    shown = _row_ids(page)
    page.reload()
    _ready(page)
    assert _row_ids(page) == shown


def test_open_a_model_and_read_its_price_history(page: Any, served: str) -> None:
    # A listed model whose input price changed during the replay (found from the API).
    listed = {r["id"] for r in httpx.get(served + "/explorer/rows.json").json()}
    changes = httpx.get(served + "/api/changes", params={"limit": 1000}).json()["data"]
    changed = next(
        e["id"]
        for e in changes
        if e["event"] == "changed" and "pricing.input" in e["changes"] and e["id"] in listed
    )
    page.goto(served + "/?q=" + changed)
    _ready(page)
    page.click(f'#rows tr[data-id="{changed}"] a')
    page.wait_for_selector("#price-chart")
    model_id = page.locator("h1 .model-id").inner_text()
    _shot(page, "model")
    points = page.locator("#price-chart circle.point").evaluate_all(
        "cs => cs.map(c => [c.dataset.series, c.dataset.at, Number(c.dataset.usd)])"
    )
    history = httpx.get(f"{served}/api/models/{model_id}/history").json()["events"]
    expected = [
        [series, e["at"], e["changes"][f"pricing.{series}"][1]]
        for series in ("input", "output")
        for e in history
        if f"pricing.{series}" in e["changes"] and e["changes"][f"pricing.{series}"][1] is not None
    ]
    assert model_id == changed
    assert sorted(points) == sorted(expected) and len(points) >= 3


def test_compare_two_models(page: Any, served: str) -> None:
    page.goto(served + "/?q=claude-sonnet-4")
    _ready(page)
    boxes = page.locator("#rows input.pick")
    boxes.nth(0).check()
    boxes.nth(1).check()
    picked = [boxes.nth(i).get_attribute("value") for i in range(2)]
    page.click("#compare-picked")
    page.wait_for_selector("#compare-table")
    _shot(page, "compare")
    headers = page.locator("#compare-table thead th a").all_inner_texts()
    assert headers == picked
    differing = page.locator("#compare-table tr.diff").evaluate_all(
        "rs => rs.map(r => r.dataset.field)"
    )
    assert "name" in differing


def test_follow_a_change_to_its_model(page: Any, served: str) -> None:
    page.goto(served + "/changes")
    _ready(page)
    _shot(page, "changes")
    link = page.locator("a.model-link").first
    target = link.inner_text()
    link.click()
    page.wait_for_selector("h1")
    assert target in page.locator("h1").inner_text()
    _shot(page, "changed-model")
    page.goto(served + "/curated")
    _ready(page)
    _shot(page, "curated")


def test_static_export_works_in_the_browser(page: Any, replay: Replay, tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert main(["export-site", str(site), "--store", str(replay.store.root)]) == 0
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/sub"  # a site hosted under a path
    try:
        page.goto(base.removesuffix("/sub") + "/index.html?tier=free")
        _ready(page)
        rows = [
            r
            for r in __import__("json").loads((site / "data/rows.json").read_text())
            if r["tier"] == "free"
        ]
        assert _row_ids(page) == sorted(r["id"] for r in rows)[:100]
        boxes = page.locator("#rows input.pick")
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.click("#compare-picked")
        page.wait_for_selector("#compare-table")
        assert len(page.locator("#compare-table thead th a").all_inner_texts()) == 2
        page.click("#compare-table thead th a >> nth=0")
        page.wait_for_selector("#price-chart, p.empty")
        _shot(page, "static-model")
    finally:
        server.shutdown()
        server.server_close()


# -- issue 28: without JavaScript, on a phone, over old data -----------------------------------


def test_filter_form_without_javascript_gives_the_librarys_answer(
    browser: Any, served: str, replay: Replay
) -> None:
    """The form as a browser without JavaScript submits it: every ticked box of a group is a
    repeated key, and the answer is the library's and the API's for the same filters."""
    from pipeline.registry import Registry

    expected = Registry.open(replay.store).search(capability=["vision", "tools"], tier="budget")
    tools_only = Registry.open(replay.store).search(capability="tools", tier="budget")
    assert 0 < len(expected) < len(tools_only)
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1400, "height": 900}
    )
    try:
        tab = context.new_page()
        tab.goto(served + "/")
        assert tab.locator("body[data-ready]").count() == 0  # no script ran
        tab.check('input[name="capability"][value="vision"]')
        tab.check('input[name="capability"][value="tools"]')
        tab.check('input[name="tier"][value="budget"]')
        tab.click('form.filters button[type="submit"]')
        tab.wait_for_url("**capability=vision&capability=tools**")
        _shot(tab, "catalog-no-javascript")
        assert tab.locator("#total").inner_text() == f"{len(expected):,}"
        ticked = tab.locator("form.filters input:checked").evaluate_all(
            "boxes => boxes.map(b => b.name + '=' + b.value)"
        )
        assert ticked == ["capability=vision", "capability=tools", "tier=budget"]
        ids = _row_ids(tab)
        assert ids == sorted(m["id"] for m in expected)[: len(ids)] and ids
        # Submitted again as it stands, the form keeps every value.
        tab.click('form.filters button[type="submit"]')
        tab.wait_for_load_state()
        assert tab.locator("#total").inner_text() == f"{len(expected):,}"
        query = tab.url.split("?", 1)[1]
    finally:
        context.close()
    # The filters the form sent, as /api/models takes them (the explorer's own keys and the
    # form's empty fields left out).
    filters = [(k, v) for k, v in parse_qsl(query) if k in ("capability", "tier")]
    assert filters == [("capability", "vision"), ("capability", "tools"), ("tier", "budget")]
    api = httpx.get(f"{served}/api/models", params=[*filters, ("limit", "1000")]).json()
    assert [m["id"] for m in api["data"]] == [m["id"] for m in expected]


def test_every_url_shape_gives_one_answer_with_javascript(page: Any, served: str) -> None:
    totals = set()
    for query in (
        "capability=vision&capability=tools&tier=budget",
        "capability=vision,tools&tier=budget",
        "tier=budget&capability=tools,vision&capability=vision",
    ):
        page.goto(f"{served}/?{query}")
        _ready(page)  # the script has filtered rows.json by the URL
        totals.add(page.locator("#total").inner_text())
        checked = page.locator('input[name="capability"]:checked').evaluate_all(
            "boxes => boxes.map(b => b.value).sort()"
        )
        assert checked == ["tools", "vision"], query
    api = httpx.get(f"{served}/api/models?capability=vision,tools&tier=budget").json()
    assert totals == {f"{api['total']:,}"}


@pytest.mark.parametrize("path", ["/models/openai/gpt-4o", "/", "/curated", "/changes", "/compare"])
def test_pages_fit_a_phone_screen(browser: Any, served: str, path: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        tab = context.new_page()
        problems: list[str] = []
        tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda exc: problems.append(str(exc)))
        if path == "/compare":
            path += "?ids=openai/gpt-4o,openai/gpt-4o-mini"
        tab.goto(served + path)
        _ready(tab)
        _shot(tab, "phone" + path.split("?")[0].replace("/", "-").rstrip("-"))
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide"
        assert problems == []  # the favicon included
    finally:
        context.close()


def test_old_data_shows_a_visible_banner(page: Any, served: str, replay: Replay) -> None:
    as_of = replay.steps[-1].current["dataAsOf"]
    page.goto(served + "/models/openai/gpt-4o")
    _ready(page)
    banner = page.locator("#data-age")
    assert banner.is_visible()
    text = banner.inner_text()
    assert re.match(rf"Data as of {as_of[:10]}, \d+ days old\. Prices and models", text), text
    box = banner.bounding_box()
    assert box is not None and box["height"] >= 20 and box["width"] >= 1000  # a band, not a note
    style = banner.evaluate("b => getComputedStyle(b).backgroundColor")
    assert style not in ("rgba(0, 0, 0, 0)", "transparent")
    # The script renews it with the same words the server wrote (read at the same moment).
    served_text = httpx.get(served + "/models/openai/gpt-4o").text
    assert f">{text}</div>" in served_text


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass
