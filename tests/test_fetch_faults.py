"""Upstream faults: each gets a clear error or a successful retry, and nothing published is lost."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from conftest import fixture_path, read_json

from pipeline.config import CatalogConfig
from pipeline.publishing import keys
from pipeline.publishing.store import Store
from pipeline.runs import fallback
from pipeline.runs.sync import SyncRequest, SyncResult, sync_openrouter
from pipeline.timeutil import parse_iso

PAYLOAD = "openrouter-models-2026-08-17.json"
LATER = "openrouter-models-2026-08-19.json"
SECRET = "sk-or-test-0123456789-secret"


class Upstream:
    """An httpx transport that answers from a script of responses and records requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def ok(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


@pytest.fixture
def sync_net(store: Store, config: CatalogConfig) -> Callable[..., SyncResult]:
    sleeps: list[float] = []

    def run(upstream: Upstream, now: str = "2026-08-19T06:30:00Z", **kw) -> SyncResult:
        result = sync_openrouter(
            kw.pop("store", store),
            config,
            SyncRequest(now=parse_iso(now), force=kw.pop("force", False)),
            transport=upstream.transport,
            sleep=sleeps.append,
        )
        run.sleeps = sleeps  # type: ignore[attr-defined]
        return result

    return run


def test_live_fetch_asks_for_all_modalities_with_user_agent_and_key(sync_net, store, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", SECRET)
    body = fixture_path(PAYLOAD).read_bytes()
    upstream = Upstream(ok(body))
    result = sync_net(upstream)
    assert result.published, result.error
    request = upstream.requests[0]
    assert request.url.params["output_modalities"] == "all"
    assert request.headers["user-agent"].startswith("model-catalog-sync/")
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    # raw snapshot: the exact response bytes at the UTC hour of the run's clock
    assert store.get("models/openrouter/raw-2026081906.json").data == body


def test_500_then_success_is_retried(sync_net):
    # 520 is Cloudflare's "unknown error" in front of origins: every 5xx is retried.
    upstream = Upstream(
        httpx.Response(500), httpx.Response(520), ok(fixture_path(PAYLOAD).read_bytes())
    )
    result = sync_net(upstream)
    assert result.published
    assert len(upstream.requests) == 3
    assert sync_net.sleeps == [1.0, 2.0]  # exponential backoff


def test_429_honours_retry_after(sync_net):
    upstream = Upstream(
        httpx.Response(429, headers={"Retry-After": "7"}), ok(fixture_path(PAYLOAD).read_bytes())
    )
    assert sync_net(upstream).published
    assert sync_net.sleeps == [7.0]


def test_401_is_not_retried_and_names_the_source(sync_net, store, sync_file):
    sync_file(fixture_path(PAYLOAD))
    upstream = Upstream(httpx.Response(401))
    result = sync_net(upstream)
    assert not result.published
    assert len(upstream.requests) == 1
    assert "openrouter: GET https://openrouter.ai/api/v1/models answered HTTP 401" in result.error


BAD_BODIES = {
    "truncated": (
        lambda: fixture_path(PAYLOAD).read_bytes()[:5000],
        "not valid JSON (parse error: premature EOF",
    ),
    "html": (lambda: b"<!DOCTYPE html><html><body>Bad gateway</body></html>", "HTML, not JSON"),
    "empty": (lambda: b"", "body is empty"),
    "data-null": (lambda: b'{"data": null}', "'data' is null"),
    "error-object": (lambda: b'{"error": {"code": 503, "message": "overloaded"}}', "error object"),
}


@pytest.mark.parametrize("kind", sorted(BAD_BODIES))
def test_bad_payload_keeps_the_published_catalog(kind, sync_net, sync_file, store):
    sync_file(fixture_path(PAYLOAD), now="2026-08-18T00:00:00Z")
    before = store.get(keys.CURRENT).data
    body, message = BAD_BODIES[kind]
    result = sync_net(Upstream(ok(body())))
    assert not result.published
    assert result.exit_code == 1
    assert message in result.error
    assert "kept the published catalog of run" in result.error
    assert store.get(keys.CURRENT).data == before
    status = read_json(store, keys.STATUS)["jobs"]["openrouter"]
    assert status["outcome"] == "degraded" and message in status["error"]


def test_timeouts_exhaust_retries_and_keep_the_catalog(sync_net, sync_file, store):
    sync_file(fixture_path(PAYLOAD), now="2026-08-18T00:00:00Z")
    before = store.get(keys.CURRENT).data
    upstream = Upstream(httpx.ReadTimeout("read timed out"))
    result = sync_net(upstream)
    assert not result.published
    assert len(upstream.requests) == 4
    assert "failed after 4 attempts: timed out" in result.error
    assert store.get(keys.CURRENT).data == before


def test_bad_file_fails_without_fallback(sync_file, store, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_bytes(fixture_path(PAYLOAD).read_bytes()[:1000])
    result = sync_file(broken)
    assert not result.published
    assert str(broken) in result.error and "not valid JSON" in result.error
    assert "\n" not in result.error
    assert store.get(keys.CURRENT) is None
    missing = sync_file(tmp_path / "nope.json")
    assert "cannot read" in missing.error


def test_unreachable_on_a_fresh_store_publishes_the_embedded_catalog(sync_net, store):
    result = sync_net(Upstream(httpx.ConnectError("no route to host")))
    assert result.published and result.outcome == "degraded"
    current = read_json(store, keys.CURRENT)
    embedded = fallback.load_embedded()
    assert current["degraded"] is True
    assert "OpenRouter unavailable" in current["degradedReason"]
    assert current["dataAsOf"] == embedded.generated_at
    assert current["count"] == embedded.count
    # a fallback never moves lifecycle: every record is exactly as embedded
    shipped = {
        m.id: m.lifecycle.model_dump(by_alias=True, exclude_none=True) for m in embedded.models
    }
    assert {m["id"]: m["lifecycle"] for m in current["models"]} == shipped
    status = read_json(store, keys.STATUS)["jobs"]["openrouter"]
    assert status["outcome"] == "degraded"
    assert status["sources"]["openrouter"]["servedBy"] == "embedded"
    # readers get a shortlist too, curated from the embedded records
    curated = read_json(store, keys.CURATED)
    assert curated["runId"] == current["runId"]
    shipped_ids = {m.id for m in embedded.models}
    assert curated["models"] and {m["id"] for m in curated["models"]} <= shipped_ids


def test_bad_record_is_quarantined_and_the_rest_published(sync_file, store, tmp_path):
    import simplejson

    document = simplejson.loads(fixture_path(PAYLOAD).read_bytes())
    document["data"][3]["pricing"]["prompt"] = "twelve"
    document["data"][5]["id"] = ""
    document["data"].append(document["data"][0])  # duplicate id
    path = tmp_path / "payload.json"
    path.write_text(simplejson.dumps(document))
    result = sync_file(path)
    assert result.published
    report = read_json(store, keys.run_report(result.run_id))
    reasons = {q["index"]: q["reason"] for q in report["quarantined"]}
    assert "pricing.prompt is not a number" in reasons[3]
    assert "id" in reasons[5]
    assert reasons[len(document["data"]) - 1] == "duplicate id"
    assert report["counts"]["published"] == len(document["data"]) - 3


def test_publish_guard_refuses_a_feed_cut_by_half(sync_file, store, tmp_path):
    import simplejson

    sync_file(fixture_path(PAYLOAD), now="2026-08-18T00:00:00Z")
    before = store.get(keys.CURRENT).data
    document = simplejson.loads(fixture_path(LATER).read_bytes())
    document["data"] = document["data"][::2]
    half = tmp_path / "half.json"
    half.write_text(simplejson.dumps(document))
    result = sync_file(half)
    assert not result.published and result.outcome == "guarded"
    assert "lost 207 of 414 previously active models" in result.error
    assert store.get(keys.CURRENT).data == before
    forced = sync_file(half, force=True)
    assert forced.published
    assert any("--force" in w for w in forced.report.warnings)


def test_empty_feed_is_never_published_without_force(sync_file, store, tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text('{"data": []}')
    result = sync_file(empty)
    assert result.outcome == "guarded" and "lists no models" in result.error
    assert store.get(keys.CURRENT) is None


def test_secrets_never_reach_logs_or_artifacts(sync_net, store, monkeypatch, caplog):
    monkeypatch.setenv("OPENROUTER_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    sync_net(Upstream(httpx.Response(503), httpx.ConnectError("refused")))
    sync_net(Upstream(ok(fixture_path(PAYLOAD).read_bytes())))
    assert SECRET not in caplog.text
    for key in store.list("models/"):
        assert SECRET.encode() not in store.get(key).data, key


def test_same_payload_and_clock_give_identical_bytes(sync_file, tmp_path):
    from pipeline.publishing.store import LocalStore

    a, b = LocalStore(tmp_path / "a"), LocalStore(tmp_path / "b")
    for target in (a, b):
        sync_file(fixture_path(LATER), store=target)
        sync_file(fixture_path(LATER), now="2026-08-20T00:00:00Z", store=target)
    assert a.get(keys.CURRENT).data == b.get(keys.CURRENT).data
    names_a = [Path(k).name for k in a.list("models/openrouter/")]
    assert names_a == [Path(k).name for k in b.list("models/openrouter/")]


@pytest.mark.parametrize(
    ("key", "loses"),
    [(keys.CURRENT, "lifecycle history"), (keys.DEPRECATIONS, "redirects and tombstones")],
)
def test_a_corrupt_published_artifact_is_never_overwritten(key, loses, sync_file, store):
    sync_file(fixture_path(PAYLOAD), now="2026-08-18T00:00:00Z")
    store.put(key, b'{"schemaVersion": 1, "models": "not a list"}')
    before = {k: store.get(k).data for k in store.list("models/openrouter/")}
    result = sync_file(fixture_path(LATER))
    assert not result.published
    assert f"the published {key}" in result.error and f"lose {loses}" in result.error
    assert {k: store.get(k).data for k in store.list("models/openrouter/")} == before
