"""The reader's HTTP service in process (Starlette's TestClient) over real synced stores."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import schemathesis
from conftest import commit, fixture_path, read_json
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pipeline.config import CatalogConfig
from pipeline.publishing import jsonio, keys
from pipeline.publishing.store import Store
from pipeline.registry import Registry, formats
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.service.admin import JobOutcome
from pipeline.service.app import create_app
from pipeline.timeutil import iso, utcnow

PAYLOAD = "openrouter-models-2026-08-19.json"
LATER = "openrouter-models-all-2026-08-19.json"
TOKEN = "s3cr3t-admin-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class GatedSync:
    """A job runner that runs a real sync from a recorded payload once the test opens the gate
    (the network is the only thing replaced)."""

    def __init__(self, payload: str = LATER) -> None:
        self.payload = payload
        self.gate = threading.Event()
        self.calls: list[str] = []

    def __call__(self, scope: str, store: Store, config_path: str | None, now: datetime) -> Any:
        self.calls.append(scope)
        assert self.gate.wait(30), "test never opened the gate"
        request = SyncRequest(now=now, from_file=fixture_path(self.payload), job=scope)
        result = sync_openrouter(store, CatalogConfig(), request)
        return JobOutcome(result.run_id, result.outcome, result.published, result.error)


@pytest.fixture
def synced(sync_file, store):
    result = sync_file(fixture_path(PAYLOAD), now=utcnow())
    assert result.published, result.error
    return store


@pytest.fixture
def client_for(synced) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(store: Store | None = None, **kw: Any) -> TestClient:
        kw.setdefault("admin_token", TOKEN)
        kw.setdefault("refresh_seconds", 0)
        registry = Registry(store or synced)
        client = TestClient(create_app(registry, **kw))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(client_for) -> TestClient:
    return client_for()


def wait_finished(client: TestClient, run_id: str) -> dict[str, Any]:
    for _ in range(600):
        body = client.get(f"/api/admin/models/runs/{run_id}", headers=AUTH).json()
        if body["state"] == "finished":
            return body
        threading.Event().wait(0.05)
    raise AssertionError(f"run {run_id} did not finish")


# -- native lists ----------------------------------------------------------------------------


def test_native_list_formats(client, synced):
    current = read_json(synced, keys.CURRENT)
    listed = ("active", "stale")
    ids = [m["id"] for m in current["models"] if m["lifecycle"]["state"] in listed]
    assert 0 < len(ids) < current["count"]  # the real payload has a deprecated model

    openai = client.get("/v1/models").json()
    assert openai["object"] == "list"
    assert [m["id"] for m in openai["data"]] == ids
    first = openai["data"][0]
    assert first["object"] == "model" and isinstance(first["created"], int) and first["owned_by"]
    assert client.get("/v1/models?format=openai").content == client.get("/v1/models").content

    # Issue 15: Anthropic pages newest first (limit 20 by default), Gemini 50 per page.
    anthropic = client.get("/v1/models", params={"format": "anthropic", "limit": 1000}).json()
    assert anthropic["has_more"] is False
    assert sorted(m["id"] for m in anthropic["data"]) == sorted(ids)
    created = [m["created_at"] for m in anthropic["data"]]
    assert created == sorted(created, reverse=True)
    assert anthropic["first_id"] == anthropic["data"][0]["id"]
    entry = anthropic["data"][0]
    assert entry["type"] == "model" and entry["display_name"] and entry["created_at"].endswith("Z")
    by_header = client.get("/v1/models", headers={"anthropic-version": "2023-06-01"}).json()
    assert [m["id"] for m in by_header["data"]] == [m["id"] for m in anthropic["data"][:20]]
    assert by_header["has_more"] is True

    gemini = client.get("/v1/models", params={"format": "gemini", "pageSize": 1000}).json()
    assert [m["name"] for m in gemini["models"]] == [f"models/{i}" for i in ids]
    assert "nextPageToken" not in gemini
    beta = client.get("/v1beta/models").json()
    assert beta["models"] == gemini["models"][:50] and beta["nextPageToken"]
    assert client.get("/v1/models", headers={"x-goog-api-key": "k"}).json() == beta
    assert client.get("/v1/models?key=k").json() == beta  # Gemini's REST examples
    gpt4o = next(m for m in gemini["models"] if m["name"] == "models/openai/gpt-4o")
    assert gpt4o["inputTokenLimit"] == 128000
    assert "generateContent" in gpt4o["supportedGenerationMethods"]


def test_deprecated_models_only_with_include(synced, client_for):
    current = read_json(synced, keys.CURRENT)
    model = next(m for m in current["models"] if m["lifecycle"]["state"] == "active")
    model["lifecycle"]["state"] = "deprecated"
    commit(synced, {"current": current})
    client = client_for()
    default = [m["id"] for m in client.get("/v1/models").json()["data"]]
    wider = [m["id"] for m in client.get("/v1/models?include=deprecated").json()["data"]]
    assert model["id"] not in default
    assert model["id"] in wider
    assert len(wider) == current["count"]
    deprecated = [m for m in current["models"] if m["lifecycle"]["state"] == "deprecated"]
    assert len(default) == current["count"] - len(deprecated)


# -- ETags and caching -----------------------------------------------------------------------

GETS = [
    "/healthz",
    "/readyz",
    "/v1/models",
    "/v1/models?format=anthropic",
    "/v1/models?format=gemini",
    "/v1/models/openai/gpt-4o",
    "/api/models?capability=vision&limit=5",
    "/api/models/curated",
    "/api/models/deprecations",
    "/api/admin/models/status",
    "/metrics",
    "/openapi.json",
]


@pytest.mark.parametrize("path", GETS)
def test_every_get_has_an_etag_and_answers_304(client, path):
    first = client.get(path, headers=AUTH)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert etag.startswith('"') and first.headers["cache-control"]
    if path in ("/readyz", "/metrics", "/api/admin/models/status"):
        return  # live documents: their ETag changes with every answer (age, counters)
    again = client.get(path, headers={**AUTH, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = client.get(path, headers={**AUTH, "If-None-Match": '"something-else"'})
    assert other.status_code == 200


def test_bodies_are_serialized_once_per_catalog_version(client_for, synced, monkeypatch, sync_file):
    calls: list[int] = []
    original = formats.LISTS["openai"]

    def counting(models: Any) -> dict[str, Any]:
        calls.append(1)
        return original(models)

    monkeypatch.setitem(formats.LISTS, "openai", counting)
    client = client_for()
    first = client.get("/v1/models")
    for _ in range(5):
        assert client.get("/v1/models").content == first.content
    assert len(calls) == 1
    later = sync_file(fixture_path(LATER), now=utcnow() + timedelta(minutes=5))
    assert later.published, later.error
    assert client.app.state.registry.refresh().changed
    second = client.get("/v1/models")
    assert len(calls) == 2
    assert second.headers["etag"] != first.headers["etag"]


# -- one model -------------------------------------------------------------------------------


def test_model_by_id_alias_and_redirect(client_for, synced):
    current = read_json(synced, keys.CURRENT)
    gpt4o = next(m for m in current["models"] if m["id"] == "openai/gpt-4o")
    tomb = {**gpt4o, "id": "openai/gpt-4o-2024-05-13-old", "alias": "gpt-4o-old"}
    deprecations = {
        "schemaVersion": 1,
        "generatedAt": current["generatedAt"],
        "runId": current["runId"],
        "redirects": [
            {
                "from": tomb["id"],
                "to": "openai/gpt-4o",
                "reason": "rename",
                "since": "2026-08-01T00:00:00Z",
            }
        ],
        "tombstones": [
            {
                "id": tomb["id"],
                "alias": tomb["alias"],
                "removedAt": "2026-08-02T00:00:00Z",
                "record": tomb,
            }
        ],
        "aliasHistory": [],
    }
    commit(synced, {"deprecations": deprecations})
    client = client_for()

    # Issue 15: the catalog's record moved from /v1/models/{ref} to /api/models/{ref}.
    by_id = client.get("/api/models/openai/gpt-4o").json()
    assert by_id["id"] == "openai/gpt-4o" and by_id["pricing"]["input"] == 2.5
    assert by_id["resolution"]["hops"] == [
        {"step": "id", "ref": "openai/gpt-4o", "to": "openai/gpt-4o", "detail": ""}
    ]
    assert client.get("/api/models/gpt-4o").json()["resolution"]["hops"][0]["step"] == "alias"
    moved = client.get(f"/api/models/{tomb['id']}").json()
    assert moved["id"] == "openai/gpt-4o"
    assert [h["step"] for h in moved["resolution"]["hops"]] == ["redirect", "id"]
    assert "retired on 2026-08-02" in moved["resolution"]["notice"]["text"]

    missing = client.get("/api/models/openai/gpt-4q")
    assert missing.status_code == 404
    assert "openai/gpt-4o" in missing.json()["closeMatches"]

    # /v1/models/{ref} answers in the list's shape, through the same resolution.
    native = client.get(f"/v1/models/{tomb['id']}").json()
    assert native == formats.openai_model(
        next(m for m in current["models"] if m["id"] == "openai/gpt-4o")
    )
    gone = client.get("/v1/models/openai/gpt-4q")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "model_not_found"
    assert "openai/gpt-4o" in gone.json()["error"]["message"]
    assert client.get("/api/models/deprecations").json()["redirects"][0]["from"] == tomb["id"]


# -- search ----------------------------------------------------------------------------------


def test_search_pages_with_a_cursor(client, synced):
    total = read_json(synced, keys.CURRENT)["count"]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 50}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/models", params=params).json()
        assert page["total"] == total
        seen += [m["id"] for m in page["data"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert pages == -(-total // 50)
    assert seen == sorted(set(seen)) and len(seen) == total

    vision = client.get("/api/models", params={"capability": "vision,tools", "state": "active"})
    assert vision.json()["data"] and all(
        m["supportsVision"] and m["supportsTools"] for m in vision.json()["data"]
    )
    found = client.get("/api/models", params={"q": "sonnet", "provider": "anthropic"}).json()
    assert found["data"] and all(m["family"] == "anthropic" for m in found["data"])


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/models?limit=0", "limit"),
        ("/api/models?limit=abc", "limit"),
        ("/api/models?capability=telepathy", "capability"),
        ("/api/models?tier=cheap", "tier"),
        ("/api/models?state=removed", "state"),
        ("/api/models?bucket=poetry", "bucket"),
        ("/api/models?cursor=%25%25%25", "cursor"),
        ("/api/models/curated?bucket=poetry", "bucket"),
    ],
)
def test_bad_query_parameters_get_422_naming_the_parameter(client, path, param):
    response = client.get(path)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert any(param in err["loc"] for err in detail), detail
    assert all(err["msg"] for err in detail)


def test_curated_endpoint(client_for, synced):
    client = client_for()
    published = read_json(synced, keys.CURATED)  # the sync's own curated.json
    body = client.get("/api/models/curated").json()
    assert body["available"] is True and body["runId"] == published["runId"]
    assert {b: [e["id"] for e in v] for b, v in body["buckets"].items()} == {
        b: [e["id"] for e in v] for b, v in published["buckets"].items()
    }
    # A new curation run keeps two coding models: the reader serves it after a refresh.
    coding = published["buckets"]["coding"][:2]
    kept = {e["id"] for e in coding}
    curated = {
        **published,
        "runId": "curation-run",
        "buckets": {**published["buckets"], "coding": coding},
        "models": [
            {**m, "buckets": [b for b in m["buckets"] if b != "coding" or m["id"] in kept]}
            for m in published["models"]
        ],
    }
    commit(synced, {"curated": curated})
    assert client.app.state.registry.refresh().changed
    body = client.get("/api/models/curated?bucket=coding").json()
    assert body["available"] is True and body["runId"] == "curation-run"
    assert [e["id"] for e in body["buckets"]["coding"]] == [e["id"] for e in coding]
    assert body["buckets"]["coding"][0]["model"]["id"] == coding[0]["id"]
    in_bucket = client.get("/api/models?bucket=coding").json()["data"]
    assert sorted(m["id"] for m in in_bucket) == sorted(kept)


# -- readiness -------------------------------------------------------------------------------


def test_readiness_needs_a_young_enough_catalog(client_for, store, synced):
    assert client_for().get("/readyz").json()["ready"] is True
    old = client_for(max_age_seconds=0.0).get("/readyz")
    assert old.status_code == 503 and "older than" in old.json()["reason"]


def test_empty_store_is_not_ready_and_says_why(client_for, tmp_path):
    from pipeline.publishing.store import LocalStore

    client = client_for(LocalStore(tmp_path / "empty"))
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "nothing published yet" in ready.json()["reason"]
    listing = client.get("/v1/models")  # issue 15: in OpenAI's error envelope
    assert listing.status_code == 503 and "catalog not loaded" in listing.json()["error"]["message"]
    search = client.get("/api/models")
    assert search.status_code == 503 and "catalog not loaded" in search.json()["detail"]
    assert client.get("/healthz").status_code == 200


# -- admin -----------------------------------------------------------------------------------

ADMIN = [
    ("GET", "/api/admin/models/status"),
    ("POST", "/api/admin/models/refresh"),
    ("GET", "/api/admin/models/runs/anything"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN)
def test_admin_is_disabled_without_a_configured_token(client_for, method, path):
    client = client_for(admin_token=None)
    response = client.request(method, path, headers=AUTH)
    assert response.status_code == 403
    assert "admin API disabled" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), ADMIN)
def test_admin_needs_the_bearer_token(client, method, path):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = client.request(method, path, headers=headers, json={"scope": "bad scope!"})
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


def test_admin_status_reports_status_json_and_reader_state(client, synced):
    body = client.get("/api/admin/models/status", headers=AUTH).json()
    assert body["status"]["jobs"]["openrouter"]["outcome"] == "ok"
    assert body["reader"]["runId"] == read_json(synced, keys.CURRENT)["runId"]
    assert body["reader"]["error"] is None
    assert body["lease"] is None


def test_refresh_runs_the_job_once_at_a_time_and_swaps(client_for, synced, caplog):
    caplog.set_level(logging.DEBUG)
    runner = GatedSync()
    client = client_for(runner=runner)
    before = client.get("/v1/models").json()
    started = client.post("/api/admin/models/refresh", json={"scope": "openrouter"}, headers=AUTH)
    assert started.status_code == 202, started.text
    run_id = started.json()["runId"]
    busy = client.post("/api/admin/models/refresh", json={"scope": "all"}, headers=AUTH)
    assert busy.status_code == 409 and run_id in busy.json()["detail"]
    running = client.get(f"/api/admin/models/runs/{run_id}", headers=AUTH).json()
    assert running["state"] == "running"
    assert client.get("/v1/models").json() == before  # still serving while the job runs
    runner.gate.set()
    done = wait_finished(client, run_id)
    assert done["outcome"] == "ok" and done["published"] is True
    assert done["report"]["runId"] == done["jobRunId"]
    assert runner.calls == ["openrouter"]
    after = client.get("/v1/models").json()
    assert after != before
    status = client.get("/api/admin/models/status", headers=AUTH).json()
    assert status["reader"]["runId"] == done["jobRunId"]
    # Pipeline run reports are visible by their own run id too.
    assert (
        client.get(f"/api/admin/models/runs/{done['jobRunId']}", headers=AUTH).json()["outcome"]
        == "ok"
    )
    assert TOKEN not in caplog.text


def test_refresh_answers_409_while_the_run_lease_is_held(client_for, synced):
    runner = GatedSync()
    runner.gate.set()
    client = client_for(runner=runner)
    now = utcnow()
    lease = {
        "runId": "20260819T000000Z-cron",
        "job": "full_refresh",
        "host": "cron-1",
        "pid": 4242,
        "startedAt": iso(now),
        "expiresAt": iso(now + timedelta(minutes=10)),
    }
    synced.put(keys.LOCK, jsonio.dumps(lease))
    held = client.post("/api/admin/models/refresh", json={"scope": "all"}, headers=AUTH)
    assert held.status_code == 409
    assert "20260819T000000Z-cron" in held.json()["detail"] and "cron-1" in held.json()["detail"]
    assert runner.calls == []
    status = client.get("/api/admin/models/status", headers=AUTH).json()
    assert status["lease"]["host"] == "cron-1"
    # An expired lease is a crashed holder's leftover: the refresh may go on.
    synced.put(keys.LOCK, jsonio.dumps({**lease, "expiresAt": iso(now - timedelta(minutes=1))}))
    started = client.post("/api/admin/models/refresh", json={}, headers=AUTH)
    assert started.status_code == 202
    assert wait_finished(client, started.json()["runId"])["scope"] == "all"


def test_refresh_rejects_bad_scopes_and_unknown_runs(client):
    bad = client.post("/api/admin/models/refresh", json={"scope": "../etc"}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "scope"
    extra = client.post("/api/admin/models/refresh", json={"scpoe": "all"}, headers=AUTH)
    assert extra.status_code == 422
    missing = client.get("/api/admin/models/runs/refresh-nope", headers=AUTH)
    assert missing.status_code == 404


def test_spec_enumerates_the_library_filter_values(client):
    from pipeline.registry import BUCKETS

    spec = client.get("/openapi.json").json()
    search = {p["name"]: p for p in spec["paths"]["/api/models"]["get"]["parameters"]}
    assert search["bucket"]["schema"]["anyOf"][0]["enum"] == list(BUCKETS)
    listing = {p["name"]: p for p in spec["paths"]["/v1/models"]["get"]["parameters"]}
    assert listing["format"]["schema"]["enum"] == ["openai", "anthropic", "gemini"]


def test_metrics_in_prometheus_text(client):
    client.get("/v1/models")
    client.get("/v1/models/openai/gpt-4o")
    client.get("/v1/models/nope")
    text = client.get("/metrics").text
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")
    assert 'catalog_http_requests_total{method="GET",route="/v1/models",status="200"} 1' in text
    assert 'route="/v1/models/{ref:path}",status="404"} 1' in text
    assert 'catalog_http_request_duration_seconds_bucket{route="/v1/models",le="+Inf"} 1' in text
    assert 'catalog_models{state="active"} 413' in text
    assert 'catalog_models{state="deprecated"} 1' in text
    assert "catalog_age_seconds " in text and "catalog_loaded 1" in text


# -- the published OpenAPI spec, checked with schemathesis -----------------------------------


def test_openapi_spec_holds_under_schemathesis(synced):
    """Every operation of /openapi.json, with generated parameters and bodies (authorized, so
    admin operations run too): no 5xx, every status code documented, every body as declared."""
    runner = GatedSync(PAYLOAD)
    runner.gate.set()
    app = create_app(Registry(synced), admin_token=TOKEN, refresh_seconds=0, runner=runner)
    checks = [
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
        content_type_conformance,
    ]
    with TestClient(app):  # runs the lifespan: the catalog is loaded before the cases run
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 11
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=12,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                case.call_and_validate(headers=AUTH, checks=checks)

            check()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--refresh-seconds", "-1"], "refresh_seconds: must not be negative"),
        (["--max-age-seconds", "-5"], "max_age_seconds: must not be negative"),
    ],
)
def test_serve_rejects_bad_settings_before_binding(args, message, capsys, tmp_path):
    from pipeline.cli import main

    assert main(["serve", "--store", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err


# -- issue 15: native envelopes and paging, gzip, HEAD, CORS, trailing slashes -----------------

ANTHROPIC = {"anthropic-version": "2023-06-01"}


@pytest.mark.parametrize(
    ("path", "headers", "status", "shape", "param"),
    [
        ("/v1/models?format=xml", {}, 400, "openai", "format"),
        ("/v1/models?include=removed", {}, 400, "openai", "include"),
        ("/v1/models?limit=0", ANTHROPIC, 400, "anthropic", "limit"),
        ("/v1/models?limit=1001", ANTHROPIC, 400, "anthropic", "limit"),
        ("/v1/models?after_id=no/such-model", ANTHROPIC, 400, "anthropic", "after_id"),
        ("/v1beta/models?pageToken=%25%25", {}, 400, "gemini", "pageToken"),
        ("/v1beta/models?pageSize=-1", {}, 400, "gemini", "pageSize"),
        ("/v1beta/models?pageSize=ten", {}, 400, "gemini", "pageSize"),
        ("/v1/models/openai/gpt-4q", {}, 404, "openai", "model"),
        ("/v1/models/openai/gpt-4q", ANTHROPIC, 404, "anthropic", "model"),
        ("/v1beta/models/gpt-4q", {}, 404, "gemini", "model"),
        ("/v1/models/gpt-4q", {"x-goog-api-key": "k"}, 404, "gemini", "model"),
    ],
)
def test_native_routes_answer_errors_in_each_apis_envelope(  # noqa: PLR0917 - parametrized
    client, path, headers, status, shape, param
):
    response = client.get(path, headers=headers)
    assert response.status_code == status, response.text
    body = response.json()
    if shape == "openai":
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert body["error"]["param"] == param and body["error"]["type"]
        message = body["error"]["message"]
    elif shape == "anthropic":
        assert body["type"] == "error"
        kind = "not_found_error" if status == 404 else "invalid_request_error"
        assert body["error"]["type"] == kind
        message = body["error"]["message"]
    else:
        assert body["error"]["code"] == status
        assert body["error"]["status"] == ("NOT_FOUND" if status == 404 else "INVALID_ARGUMENT")
        message = body["error"]["message"]
    if status == 404:
        assert "gpt-4o" in message  # close matches in the message
    else:
        assert param in message


def test_anthropic_pages_forward_and_back(client, synced):
    every = client.get("/v1/models", params={"limit": 1000}, headers=ANTHROPIC).json()["data"]
    walked: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 37, **({"after_id": after} if after else {})}
        page = client.get("/v1/models", params=params, headers=ANTHROPIC).json()
        walked += [m["id"] for m in page["data"]]
        assert page["last_id"] == page["data"][-1]["id"]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert walked == [m["id"] for m in every]
    back = client.get(
        "/v1/models", params={"limit": 3, "before_id": every[3]["id"]}, headers=ANTHROPIC
    ).json()
    assert [m["id"] for m in back["data"]] == [m["id"] for m in every[:3]]
    assert back["has_more"] is False


def test_gemini_page_size_default_and_ceiling(client, synced):
    current = read_json(synced, keys.CURRENT)
    listed = [m for m in current["models"] if m["lifecycle"]["state"] != "deprecated"]
    assert len(client.get("/v1beta/models?pageSize=0").json()["models"]) == 50
    everything = client.get("/v1beta/models?pageSize=5000").json()  # read as 1000
    assert len(everything["models"]) == len(listed) and "nextPageToken" not in everything
    names: list[str] = []
    token = None
    while True:
        page = client.get("/v1beta/models", params={"pageSize": 100, "pageToken": token}).json()
        names += [m["name"] for m in page["models"]]
        token = page.get("nextPageToken")
        if token is None:
            break
    assert names == [m["name"] for m in everything["models"]]


def test_gzip_is_built_once_per_catalog_version(client_for, synced, monkeypatch, sync_file):
    from pipeline.service import bodies

    calls: list[int] = []
    original = bodies.gzip_bytes

    def counting(data: bytes) -> bytes:
        calls.append(len(data))
        return original(data)

    monkeypatch.setattr(bodies, "gzip_bytes", counting)
    client = client_for()
    identity = client.get("/v1/models", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in identity.headers
    assert identity.headers["vary"] == "Accept-Encoding"
    packed = [client.get("/v1/models", headers={"Accept-Encoding": "br, gzip"}) for _ in range(4)]
    assert len(calls) == 1
    assert all(r.headers["content-encoding"] == "gzip" for r in packed)
    assert all(r.content == identity.content for r in packed)  # the client decodes it
    assert int(packed[0].headers["content-length"]) * 4 < len(identity.content)
    assert packed[0].headers["etag"] == identity.headers["etag"][:-1] + '-gz"'
    for tag in (packed[0].headers["etag"], identity.headers["etag"]):
        again = client.get("/v1/models", headers={"If-None-Match": tag, "Accept-Encoding": "gzip"})
        assert again.status_code == 304
    refused = client.get("/v1/models", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # under 1 kB: not worth it
    metrics = client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert metrics.headers["content-encoding"] == "gzip" and "catalog_loaded 1" in metrics.text
    assert len(calls) == 2  # a live body is compressed per answer; a catalog body once

    # Answers of routes that do not go through the cached bodies (other routers' JSON) are
    # compressed on the way out by the middleware.
    from fastapi.responses import JSONResponse

    document = {"rows": [{"n": i, "text": "repeated text"} for i in range(200)]}
    client.app.add_api_route("/api/plain", lambda: JSONResponse(document), methods=["GET"])
    plain = client.get("/api/plain", headers={"Accept-Encoding": "gzip"})
    assert plain.headers["content-encoding"] == "gzip" and plain.json() == document
    assert "Accept-Encoding" in plain.headers["vary"]
    assert client.head("/api/plain").content == b""

    later = sync_file(fixture_path(LATER), now=utcnow() + timedelta(minutes=5))
    assert later.published, later.error
    assert client.app.state.registry.refresh().changed
    client.get("/v1/models", headers={"Accept-Encoding": "gzip"})
    assert len(calls) == 3  # a new catalog version: compressed once more


def test_pages_compressed_by_the_middleware_are_kept_by_etag(client, monkeypatch):
    # The explorer's cached pages carry a strong ETag (a hash of their bytes): the middleware
    # compresses each once, not once per browser asking.
    from pipeline.service import http

    calls: list[int] = []
    original = http.gzip_bytes

    def counting(data: bytes) -> bytes:
        calls.append(len(data))
        return original(data)

    monkeypatch.setattr(http, "gzip_bytes", counting)
    identity = client.get("/", headers={"Accept-Encoding": "identity"})
    assert len(identity.content) >= http.KEPT_MIN_BYTES and "etag" in identity.headers
    packed = [client.get("/", headers={"Accept-Encoding": "gzip"}) for _ in range(3)]
    assert len(calls) == 1
    assert all(r.headers["content-encoding"] == "gzip" for r in packed)
    assert all(r.content == identity.content for r in packed)
    assert packed[0].headers["etag"] == identity.headers["etag"][:-1] + '-gz"'
    assert "Accept-Encoding" in packed[0].headers["vary"]
    assert (
        packed[0].headers["content-security-policy"] == identity.headers["content-security-policy"]
    )
    tag = packed[0].headers["etag"]
    again = client.get("/", headers={"If-None-Match": tag, "Accept-Encoding": "gzip"})
    assert again.status_code == 304


def test_gzip_cache_is_bounded():
    from pipeline.service.http import KEPT_MIN_BYTES, GzipCache, gzip_bytes

    cache = GzipCache(max_bytes=3 * 1024, max_entries=2)
    bodies = [bytes([i]) * KEPT_MIN_BYTES + b"%d" % i for i in range(4)]
    for i, body in enumerate(bodies):
        assert cache.compressed(b'"tag%d"' % i, body) == gzip_bytes(body)
    assert len(cache._kept) == 2 and cache.bytes <= 3 * 1024
    assert cache.bytes == sum(len(v) for v in cache._kept.values())
    assert cache.compressed(b'W/"weak"', bodies[0]) == gzip_bytes(bodies[0])  # not kept
    assert cache.compressed(None, bodies[0]) == gzip_bytes(bodies[0])
    assert (b'W/"weak"', len(bodies[0])) not in cache._kept and len(cache._kept) == 2


@pytest.mark.parametrize("path", GETS)
def test_head_answers_every_get_route(client, path):
    got = client.get(path, headers=AUTH)
    head = client.head(path, headers=AUTH)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    if path not in ("/readyz", "/metrics", "/api/admin/models/status"):
        assert head.headers["etag"] == got.headers["etag"]


@pytest.mark.parametrize(
    "path", ["/v1/models/", "/v1beta/models/", "/api/models/", "/api/models/curated/"]
)
def test_list_routes_take_a_trailing_slash(client, path):
    assert client.get(path).json() == client.get(path.rstrip("/")).json()


def test_cors_for_read_only_routes_and_never_admin(client_for):
    origin = {"Origin": "https://dash.example"}
    anyone = client_for()
    assert anyone.get("/v1/models", headers=origin).headers["access-control-allow-origin"] == "*"
    assert (
        "etag"
        in anyone.get("/healthz", headers=origin).headers["access-control-expose-headers"].lower()
    )
    status = anyone.get("/api/admin/models/status", headers={**origin, **AUTH})
    assert status.status_code == 200 and "access-control-allow-origin" not in status.headers
    admin_preflight = anyone.options(
        "/api/admin/models/refresh",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in admin_preflight.headers

    narrow = client_for(cors_origins=["https://dash.example"])
    allowed = narrow.get("/api/models?limit=1", headers=origin)
    assert allowed.headers["access-control-allow-origin"] == "https://dash.example"
    assert "Origin" in allowed.headers["vary"]
    other = narrow.get("/api/models?limit=1", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    preflight = narrow.options(
        "/v1/models",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "anthropic-version, x-goog-api-key",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://dash.example"
    assert "x-goog-api-key" in preflight.headers["access-control-allow-headers"]
    assert (
        "access-control-allow-origin"
        not in client_for(cors_origins=[]).get("/v1/models", headers=origin).headers
    )


def test_record_route_is_matched_after_every_more_specific_api_models_route(client):
    from pipeline.service.catalog_routes import RECORD_ROUTE

    paths = [getattr(r, "path", "") for r in client.app.router.routes]
    assert paths[-1] == RECORD_ROUTE or paths.index(RECORD_ROUTE) > max(
        i for i, p in enumerate(paths) if p.startswith("/api/models/") and p != RECORD_ROUTE
    )
    assert client.get("/api/models/curated").json()["available"] is True
    assert "redirects" in client.get("/api/models/deprecations").json()
    assert client.get("/api/models/openai/gpt-4o").json()["id"] == "openai/gpt-4o"


def test_native_routes_are_tried_first_and_answer_as_before(client):
    # Issue 29: each route tried before a match costs the request; the native lists are the
    # hot path, and no other route matches a path under their prefixes.
    from pipeline.service.native_routes import NATIVE_PREFIXES

    paths = [str(getattr(r, "path", "")) for r in client.app.router.routes]
    native = [i for i, p in enumerate(paths) if p.startswith(NATIVE_PREFIXES)]
    assert native == list(range(len(native))) and len(native) == 4
    # ...and called without FastAPI's per-request parameter solving (they read the Request).
    routes = client.app.router.routes
    assert {type(routes[i]).__name__ for i in native} == {"_RequestRoute"}
    assert client.get("/").status_code == 200  # the explorer's routes still answer
    assert client.get("/v1/models").json()["object"] == "list"
    assert client.post("/v1/models").status_code == 405


def test_cors_origins_from_the_cli_or_the_config():
    from pipeline.cli.common import UsageError
    from pipeline.cli.serve import _cors_origins

    assert _cors_origins(None, "*") == ["*"]
    assert _cors_origins("https://a.example, https://b.example", "*") == [
        "https://a.example",
        "https://b.example",
    ]
    assert _cors_origins(None, ["https://a.example"]) == ["https://a.example"]
    assert _cors_origins("", ["https://a.example"]) == []
    with pytest.raises(UsageError, match="cors_origins"):
        _cors_origins(None, {"a": 1})
