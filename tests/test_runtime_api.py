"""Runtime availability over HTTP (issue 18): ``/api/runtime/…`` and
``/v1/models?available=true``, in process (TestClient) and from a real ``catalog serve``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import fixture_path
from fastapi.testclient import TestClient

from pipeline.publishing.store import Store
from pipeline.registry import Availability, Registry
from pipeline.service.app import create_app
from pipeline.service.runtime_routes import RUNTIME_TOKEN_ENV
from pipeline.timeutil import utcnow

PAYLOAD = "openrouter-models-2026-08-19.json"
TOKEN = "runtime-token-for-tests-never-logged"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def synced(sync_file, store) -> Store:
    result = sync_file(fixture_path(PAYLOAD), now=utcnow())
    assert result.published, result.error
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_for(synced, clock, monkeypatch) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(token: str | None = TOKEN) -> tuple[TestClient, Registry]:
        if token is None:
            monkeypatch.delenv(RUNTIME_TOKEN_ENV, raising=False)
        else:
            monkeypatch.setenv(RUNTIME_TOKEN_ENV, token)
        registry = Registry(synced, clock=clock)
        Availability.attach(registry, clock=clock)  # the gateway's instance, shared with HTTP
        client = TestClient(create_app(registry, refresh_seconds=0))
        client.__enter__()
        clients.append(client)
        return client, registry

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def test_runtime_api_is_closed_without_a_token(app_for, caplog):
    caplog.set_level(logging.DEBUG)
    client, _ = app_for(token=None)
    answer = client.put(
        "/api/runtime/clients/k1", json={"provider": "openai", "models": ["gpt-4o"]}
    )
    assert answer.status_code == 403 and RUNTIME_TOKEN_ENV in answer.json()["detail"]
    assert client.get("/api/runtime/summary").status_code == 403

    client, _ = app_for()
    assert client.get("/api/runtime/summary").status_code == 401
    wrong = client.get("/api/runtime/summary", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/runtime/summary", headers=AUTH).status_code == 200
    assert TOKEN not in caplog.text


def test_rate_limited_model_stays_listed_over_http(app_for, clock):
    """#5181 through the service: listed, `cooling_down`, `retryAt`; back by itself."""
    client, _ = app_for()
    registered = client.put(
        "/api/runtime/clients/team-key",
        json={"provider": "openai", "models": ["gpt-4o", "openai/gpt-4o-mini"]},
        headers=AUTH,
    )
    assert registered.status_code == 200
    assert registered.json()["counted"] == {
        "gpt-4o": "openai/gpt-4o",
        "openai/gpt-4o-mini": "openai/gpt-4o-mini",
    }
    listed = client.get("/v1/models?available=true")
    assert [m["id"] for m in listed.json()["data"]] == ["openai/gpt-4o", "openai/gpt-4o-mini"]
    etag = listed.headers["etag"]
    assert (
        client.get("/v1/models?available=true", headers={"If-None-Match": etag}).status_code == 304
    )

    marked = client.post(
        "/api/runtime/clients/team-key/quota",
        json={"model": "gpt-4o", "retryAfter": 90},
        headers=AUTH,
    )
    assert marked.json()["retryAt"] == iso(clock.now + 90)
    after = client.get("/v1/models?available=true", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag  # rebuilt: it changed
    gpt4o = next(m for m in after.json()["data"] if m["id"] == "openai/gpt-4o")
    assert gpt4o["id"] == "openai/gpt-4o" and gpt4o["object"] == "model"
    assert gpt4o["availability"] == {
        "state": "cooling_down",
        "retryAt": iso(clock.now + 90),
        "reason": None,
    }
    claude = client.get("/v1/models", params={"available": "true", "format": "anthropic"}).json()
    # Anthropic lists newest first (issue 15): gpt-4o-mini (2024-07) before gpt-4o (2024-05).
    assert [m["id"] for m in claude["data"]] == ["openai/gpt-4o-mini", "openai/gpt-4o"]
    assert claude["data"][1]["availability"]["state"] == "cooling_down"
    gemini = client.get("/v1/models", params={"available": "true", "format": "gemini"}).json()
    by_name = {m["name"]: m for m in gemini["models"]}
    assert by_name["models/openai/gpt-4o"]["availability"]["retryAt"] == iso(clock.now + 90)
    # The plain list is untouched.
    assert "availability" not in client.get("/v1/models").json()["data"][0]
    # A bad value is a 400 in the shape's own error envelope (issue 15).
    bad = client.get("/v1/models?available=maybe")
    assert bad.status_code == 400 and "available" in bad.json()["error"]["message"]

    state = client.get("/api/runtime/models/gpt-4o", headers=AUTH).json()
    assert state["state"] == "cooling_down" and state["retryAt"] == iso(clock.now + 90)
    assert state["providers"] == [{"provider": "openai", "available": 0, "clients": 1}]
    assert state["availableClients"] == []

    clock.now += 91
    again = next(
        m
        for m in client.get("/v1/models?available=true").json()["data"]
        if m["id"] == "openai/gpt-4o"
    )
    assert again["availability"]["state"] == "available"


def test_runtime_operations_over_http(app_for, clock):
    client, registry = app_for()
    put = client.put(
        "/api/runtime/clients/acct-1",
        json={"provider": "anthropic", "models": ["claude-sonnet-4", "openai/gpt-4o-retired"]},
        headers=AUTH,
    )
    body = put.json()
    assert body["counted"] == {"claude-sonnet-4": "anthropic/claude-sonnet-4"}
    assert body["unknown"] == ["openai/gpt-4o-retired"]  # not in this catalog at all
    client.put(
        "/api/runtime/clients/acct-2",
        json={"provider": "openai", "models": ["gpt-4o"]},
        headers=AUTH,
    )
    first = client.get("/api/runtime/first-available", params={"format": "anthropic"}, headers=AUTH)
    assert first.json()["model"]["id"] == "anthropic/claude-sonnet-4"
    assert first.json()["availability"]["state"] == "available"

    suspended = client.post(
        "/api/runtime/clients/acct-1/suspend",
        json={"model": "claude-sonnet-4", "reason": "auth revoked"},
        headers=AUTH,
    )
    assert suspended.status_code == 204
    state = client.get("/api/runtime/models/anthropic/claude-sonnet-4", headers=AUTH).json()
    assert (state["state"], state["reason"]) == ("suspended", "auth revoked")
    listed = client.get("/v1/models?available=true").json()["data"]
    assert [m["id"] for m in listed] == ["openai/gpt-4o"]  # a real suspension hides it
    none = client.get("/api/runtime/first-available?format=anthropic", headers=AUTH).json()
    assert none == {"model": None, "availability": None}
    info = client.get("/api/runtime/clients/acct-1", headers=AUTH).json()
    assert info["models"][0]["state"] == "suspended" and info["provider"] == "anthropic"
    assert (
        client.post("/api/runtime/clients/acct-1/resume", json={}, headers=AUTH).status_code == 204
    )
    assert (
        client.get("/api/runtime/models/claude-sonnet-4", headers=AUTH).json()["state"]
        == "available"
    )

    # Errors name the thing.
    missing = client.post("/api/runtime/clients/ghost/quota", json={}, headers=AUTH)
    assert missing.status_code == 404 and "'ghost'" in missing.json()["detail"]
    other = client.post(
        "/api/runtime/clients/acct-2/quota", json={"model": "openai/o3"}, headers=AUTH
    )
    assert other.status_code == 404 and "openai/o3" in other.json()["detail"]
    bad = client.post("/api/runtime/clients/acct-2/quota", json={"retryAt": "soon"}, headers=AUTH)
    assert bad.status_code == 422 and "retryAt" in bad.json()["detail"][0]["msg"]
    at = client.post(
        "/api/runtime/clients/acct-2/quota", json={"retryAt": iso(clock.now + 30)}, headers=AUTH
    )
    assert at.json()["retryAt"] == iso(clock.now + 30)
    assert client.delete("/api/runtime/clients/acct-2/quota", headers=AUTH).status_code == 204

    metrics = client.get("/metrics").text
    assert "catalog_runtime_clients 2" in metrics
    assert 'catalog_runtime_models{state="available"} 3' in metrics  # incl. the unknown ref

    assert client.delete("/api/runtime/clients/acct-2", headers=AUTH).status_code == 204
    assert client.delete("/api/runtime/clients/acct-2", headers=AUTH).status_code == 404
    assert client.get("/api/runtime/clients", headers=AUTH).json() == {"clients": ["acct-1"]}
    # The gateway's library instance is the one the service used.
    assert Availability.attach(registry).clients() == ["acct-1"]


def test_cooldown_from_the_environment(synced, monkeypatch):
    from pipeline.service.runtime_routes import COOLDOWN_ENV

    monkeypatch.setenv(RUNTIME_TOKEN_ENV, TOKEN)
    monkeypatch.setenv(COOLDOWN_ENV, "45")
    registry = Registry(synced)
    with TestClient(create_app(registry, refresh_seconds=0)) as client:
        client.put(
            "/api/runtime/clients/k",
            json={"provider": "openai", "models": ["gpt-4o"]},
            headers=AUTH,
        )
        before = time.time()
        answer = client.post("/api/runtime/clients/k/quota", json={}, headers=AUTH).json()
    assert answer["retryAt"] in {iso(before + 45), iso(before + 46)}
    monkeypatch.setenv(COOLDOWN_ENV, "soon")
    with pytest.raises(ValueError, match=f"{COOLDOWN_ENV}: 'soon'"):
        create_app(Registry(synced), refresh_seconds=0)


def test_runtime_routes_are_in_the_spec(app_for):
    client, _ = app_for()
    spec = client.get("/openapi.json").json()
    runtime = [p for p in spec["paths"] if p.startswith("/api/runtime")]
    assert "/api/runtime/clients/{client_id}/quota" in runtime and len(runtime) >= 7
    listing = {p["name"] for p in spec["paths"]["/v1/models"]["get"]["parameters"]}
    assert "available" in listing


@pytest.mark.slow
def test_catalog_serve_runtime_end_to_end(synced, tmp_path):
    """A real `catalog serve` process with the runtime token from its environment."""
    import os

    from test_service_e2e import Served

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "AWS_"))}
    env[RUNTIME_TOKEN_ENV] = TOKEN
    server = Served(["--store", str(synced.root), "--refresh-seconds", "0"], env, tmp_path / "log")
    try:
        http = server.http
        assert http.get("/api/runtime/summary").status_code == 401
        put = http.put(
            "/api/runtime/clients/k",
            json={"provider": "openai", "models": ["gpt-4o", "gpt-4o-mini"]},
            headers=AUTH,
        )
        assert put.status_code == 200, put.text
        http.post(
            "/api/runtime/clients/k/quota",
            json={"model": "gpt-4o", "retryAfter": 600},
            headers=AUTH,
        )
        listed = http.get("/v1/models", params={"available": "true"}).json()["data"]
        assert [(m["id"], m["availability"]["state"]) for m in listed] == [
            ("openai/gpt-4o", "cooling_down"),
            ("openai/gpt-4o-mini", "available"),
        ]
        assert listed[0]["availability"]["retryAt"].endswith("Z")
        # The official OpenAI SDK, configured as its users do (base_url), parses the list and
        # keeps the extra `availability` field on each typed model.
        from openai import OpenAI

        sdk = OpenAI(base_url=f"{server.base}/v1", api_key="unused-by-the-reader")
        models = list(sdk.models.list(extra_query={"available": "true"}))
        assert [m.id for m in models] == ["openai/gpt-4o", "openai/gpt-4o-mini"]
        extra = models[0].model_extra or {}
        assert extra["availability"]["state"] == "cooling_down"
        assert extra["availability"]["retryAt"] == listed[0]["availability"]["retryAt"]
        sdk.close()
        first = http.get("/api/runtime/first-available", headers=AUTH).json()
        assert first["model"]["id"] == "openai/gpt-4o-mini"
        assert "catalog_runtime_clients 1" in http.get("/metrics").text
    finally:
        server.stop()
    assert TOKEN not in (tmp_path / "log").read_text()


def test_quota_and_suspension_events_become_telemetry(app_for, clock, monkeypatch):
    """Issue 18 item 5 with issue 17 landed: a quota mark is a `rate_limited` call outcome and a
    non-quota suspension a `provider_error`, recorded by the service's telemetry intake."""
    monkeypatch.setenv("CATALOG_TELEMETRY_TOKEN", "telemetry-token-for-tests")
    telemetry = {"Authorization": "Bearer telemetry-token-for-tests"}
    client, _ = app_for()
    client.put(
        "/api/runtime/clients/team-key",
        json={"provider": "openai", "models": ["gpt-4o", "openai/gpt-4o-mini"]},
        headers=AUTH,
    )
    before = client.get("/api/telemetry/stats", headers=telemetry).json()
    client.post(
        "/api/runtime/clients/team-key/quota",
        json={"model": "gpt-4o", "retryAfter": 30},
        headers=AUTH,
    )
    client.post(
        "/api/runtime/clients/team-key/suspend",
        json={"model": "openai/gpt-4o-mini", "reason": "billing"},
        headers=AUTH,
    )
    after = client.get("/api/telemetry/stats", headers=telemetry).json()
    assert after["accepted"] == before["accepted"] + 2, after
