"""Issue 27, case 9 and the headers: the Atom feed's links come from configuration (or are
relative), never from ``Host``; the feed is memoized once, whatever the Host, and the memo
counts what it keeps by its bytes; every answer of the reader and the explorer carries
``X-Content-Type-Options: nosniff`` and ``Referrer-Policy``; explorer pages carry the CSP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import fixture_path
from fastapi.testclient import TestClient
from hostile import reader_flood

from pipeline.config import CatalogConfig, ConfigError, load_config
from pipeline.publishing.store import LocalStore
from pipeline.registry import core
from pipeline.registry.core import Registry
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.service.app import create_app
from pipeline.timeutil import parse_iso
from pipeline.web.pages import CSP

ATOM = "{http://www.w3.org/2005/Atom}"
PAYLOADS = ("openrouter-models-2026-08-17.json", "openrouter-models-2026-08-19.json")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """Two real snapshots synced in order: a catalog with a history of changes."""
    store = LocalStore(tmp_path_factory.mktemp("surfaces") / "store")
    for name, now in zip(PAYLOADS, ("2026-08-17T01:00:00Z", "2026-08-19T01:00:00Z"), strict=True):
        request = SyncRequest(now=parse_iso(now), from_file=fixture_path(name))
        assert sync_openrouter(store, CatalogConfig(), request).published
    return store


def _client(store: LocalStore, **options: Any) -> TestClient:
    return TestClient(create_app(Registry(store), refresh_seconds=0, **options))


@pytest.fixture
def client(store: LocalStore) -> Iterator[TestClient]:
    with _client(store) as test_client:
        yield test_client


def _links(body: bytes) -> list[str]:
    root = ET.fromstring(body)
    return [link.get("href") or "" for link in root.iter(f"{ATOM}link")]


def test_feed_links_never_follow_the_host_header(client: TestClient) -> None:
    plain = client.get("/feeds/changes.atom")
    hostile = client.get("/feeds/changes.atom", headers={"Host": "evil.example"})
    assert plain.status_code == hostile.status_code == 200
    assert hostile.content == plain.content  # same bytes, same ETag: one feed for everyone
    assert hostile.headers["etag"] == plain.headers["etag"]
    assert b"evil.example" not in hostile.content
    links = _links(hostile.content)
    assert links[0] == "/feeds/changes.atom"
    assert len(links) > 1 and all(link.startswith("/models/") for link in links[1:])


def test_feed_links_come_from_the_configured_public_url(store: LocalStore) -> None:
    with _client(store, public_url="https://models.example.com") as client:
        feed = client.get("/feeds/changes.atom", headers={"Host": "evil.example"})
    links = _links(feed.content)
    assert links[0] == "https://models.example.com/feeds/changes.atom"
    assert all(link.startswith("https://models.example.com/models/") for link in links[1:])


def test_the_feed_is_memoized_once_whatever_the_host(client: TestClient) -> None:
    for number in range(50):
        assert client.get("/feeds/changes.atom", headers={"Host": f"h{number}.example"}).is_success
    snapshot = client.app.state.registry.snapshot  # type: ignore[attr-defined]
    feeds = [key for key in snapshot._memo if key[:2] == ("explorer", "atom")]
    assert feeds == [("explorer", "atom")]


def test_the_memo_counts_a_page_kept_with_its_etag_by_its_bytes(client: TestClient) -> None:
    page = b"x" * (1 << 20)
    assert core.approx_size((page, '"etag"')) > len(page)  # was 80: a tuple's two pointers
    snapshot = client.app.state.registry.snapshot  # type: ignore[attr-defined]
    before = snapshot._memo_bytes
    feed = client.get("/feeds/changes.atom").content
    assert snapshot._memo_bytes - before >= len(feed)


def test_the_memo_stays_within_its_byte_budget_under_distinct_pages() -> None:
    snapshot = core.Snapshot.__new__(core.Snapshot)
    snapshot._memo = __import__("collections").OrderedDict()
    snapshot._memo_bytes = 0
    snapshot._memo_lock = __import__("threading").Lock()
    page = b"x" * (1 << 20)
    for number in range(200):  # each a (bytes, etag) pair, as the explorer keeps its pages
        snapshot.memo(("page", number), lambda: (page, '"e"'))
    assert snapshot._memo_bytes <= core.MEMO_BYTES
    assert len(snapshot._memo) < core.MEMO_BYTES // len(page)
    assert snapshot._memo_bytes == sum(size for _, size in snapshot._memo.values())


READER_LIMIT_MB = 300
"""The reader's documented bound (docs/hardening.md), as tests/test_hardening.py uses it."""


def test_reader_memory_stays_bounded_under_a_new_host_per_request(store: LocalStore) -> None:
    """2,100 Host values once made 2,100 feeds (+600 MB); `make bench` runs the same flood."""
    done, figures = reader_flood(store.root, 2100, 27, timeout=280, check=True, mode="feed-hosts")
    assert float(figures["peak_rss_mb"]) < READER_LIMIT_MB, done.stdout
    assert figures["statuses"] == "200:2100", done.stdout


ROUTES = [
    ("GET", "/", {}),
    ("GET", "/models/openai/gpt-4o", {}),
    ("GET", "/feeds/changes.atom", {}),
    ("GET", "/explorer/rows.json", {"Accept-Encoding": "gzip"}),
    ("GET", "/explorer/static/explorer.js", {}),
    ("GET", "/v1/models", {}),
    ("GET", "/v1/models", {"Origin": "https://a.example", "Accept-Encoding": "gzip"}),
    ("HEAD", "/api/models", {}),
    ("GET", "/api/models/openai/gpt-4o/", {}),
    ("GET", "/api/changes", {"If-None-Match": "*"}),
    ("GET", "/api/changes?since=2026-13-45", {}),
    ("GET", "/no/such/route", {}),
    ("GET", "/healthz", {}),
    ("GET", "/metrics", {}),
    ("GET", "/api/admin/status", {}),
    ("POST", "/api/admin/refresh", {}),
    (
        "OPTIONS",
        "/v1/models",
        {"Origin": "https://a.example", "Access-Control-Request-Method": "GET"},
    ),
]


@pytest.mark.parametrize(("method", "path", "headers"), ROUTES)
def test_every_answer_carries_the_security_headers(client, method, path, headers) -> None:
    response = client.request(method, path, headers=headers)
    assert response.headers["x-content-type-options"] == "nosniff", (path, response.status_code)
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]  # once


@pytest.mark.parametrize(
    "path", ["/", "/models/openai/gpt-4o", "/curated", "/changes", "/models/no/such"]
)
def test_explorer_pages_carry_the_content_security_policy(client, path) -> None:
    response = client.get(path)
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert "http-equiv" not in response.text  # the header says it; no <meta> on served pages


def test_public_url_is_validated_in_the_config_and_on_the_command_line(tmp_path) -> None:
    from pipeline.cli.common import UsageError
    from pipeline.cli.serve import _public_url

    good = tmp_path / "good.yaml"
    good.write_text("reader:\n  public_url: https://models.example.com/catalog/\n")
    assert load_config(str(good)).extra["reader"]["public_url"].startswith("https://")
    assert _public_url(None, "https://models.example.com/catalog/") == (
        "https://models.example.com/catalog"
    )
    assert _public_url(None, None) == ""
    bad = tmp_path / "bad.yaml"
    bad.write_text("reader:\n  public_url: 'javascript:alert(1)'\n")
    with pytest.raises(ConfigError, match=r"reader\.public_url"):
        load_config(str(bad))
    for value in ("evil.example", "https://a.example/?q=1", "https://a b.example"):
        with pytest.raises(UsageError, match="public_url"):
            _public_url(value, None)


def test_the_documented_cors_origins_key_is_accepted(tmp_path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("reader:\n  cors_origins: [https://dash.example]\n")
    assert load_config(str(path)).extra["reader"]["cors_origins"] == ["https://dash.example"]
