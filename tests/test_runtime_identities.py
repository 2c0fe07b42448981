"""The runtime API under hostile insiders (issue 27): the token is checked before a byte of
the body is read, every write route has a body cap, bad numbers are 4xx before any state
changes, a gateway manages only its own clients within its limits, and churn of suspensions
cannot move the ranking."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from conftest import fixture_path, read_json
from fastapi.testclient import TestClient

from pipeline import cli
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore, Store
from pipeline.registry import Availability, Registry
from pipeline.registry.availability import roster
from pipeline.service.app import create_app
from pipeline.service.runtime_routes import (
    CHANGE_BODY_BYTES,
    REGISTER_BODY_BYTES,
    RUNTIME_TOKEN_ENV,
    RUNTIME_TOKENS_ENV,
)
from pipeline.telemetry.compaction import iter_recent
from pipeline.timeutil import iso, utcnow

PAYLOAD = "openrouter-models-2026-08-19.json"
EU, US = "eu-runtime-token-0123456789", "us-runtime-token-0123456789"
TELEMETRY = "telemetry-token-0123456789ab"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def synced(sync_file, store) -> Store:
    assert sync_file(fixture_path(PAYLOAD), now=utcnow() - timedelta(minutes=5)).published
    return store


@pytest.fixture
def gateways(synced, monkeypatch) -> Iterator[TestClient]:
    """The service with two gateway identities on the runtime API and telemetry on."""
    monkeypatch.delenv(RUNTIME_TOKEN_ENV, raising=False)
    monkeypatch.setenv(RUNTIME_TOKENS_ENV, f"gw-eu={EU},gw-us={US}")
    monkeypatch.setenv("CATALOG_TELEMETRY_TOKEN", TELEMETRY)
    with TestClient(create_app(Registry(synced), refresh_seconds=0)) as client:
        yield client


# -- auth before body, body caps ---------------------------------------------------------------


def _asgi(app: Any, method: str, path: str, headers: dict[str, str], chunks: int) -> tuple:
    """Call the app at the ASGI level with a body of ``chunks`` MiB, counting how many chunks
    it reads: (status, chunks read)."""
    block = b"x" * (1 << 20)
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        if reads > chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": block, "more_body": reads < chunks}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, reads


def test_the_token_is_checked_before_a_byte_of_the_body_is_read(synced, monkeypatch):
    hundred_mb = {"Content-Length": str(100 << 20), "Content-Type": "application/json"}
    path = "/api/runtime/clients/k"
    monkeypatch.delenv(RUNTIME_TOKEN_ENV, raising=False)
    monkeypatch.delenv(RUNTIME_TOKENS_ENV, raising=False)
    closed = create_app(Registry(synced), refresh_seconds=0)
    assert _asgi(closed, "PUT", path, hundred_mb, 100) == (403, 0)  # disabled: still unread

    monkeypatch.setenv(RUNTIME_TOKENS_ENV, f"gw-eu={EU}")
    app = create_app(Registry(synced), refresh_seconds=0)
    assert _asgi(app, "PUT", path, hundred_mb, 100) == (401, 0)
    assert _asgi(app, "PUT", path, {**hundred_mb, **auth("wrong-token-0123456789")}, 100) == (
        401,
        0,
    )
    # Authenticated: a declared length over the cap is refused unread; an undeclared one at
    # the first chunk past the cap.
    assert _asgi(app, "PUT", path, {**hundred_mb, **auth(EU)}, 100) == (413, 0)
    status, reads = _asgi(app, "PUT", path, {"Content-Type": "application/json", **auth(EU)}, 100)
    assert status == 413 and reads <= REGISTER_BODY_BYTES // (1 << 20) + 1
    status, reads = _asgi(app, "POST", f"{path}/suspend", auth(EU), 100)
    assert status == 413 and reads == 1  # 4 KB cap: the first chunk is over it


def test_every_write_route_has_a_body_cap(gateways):
    put = gateways.put(
        "/api/runtime/clients/k",
        json={"provider": "openai", "models": ["gpt-4o"]},
        headers=auth(EU),
    )
    assert put.status_code == 200
    big = "x" * CHANGE_BODY_BYTES
    for route in ("quota", "suspend", "resume"):
        answer = gateways.post(
            f"/api/runtime/clients/k/{route}", json={"reason": big}, headers=auth(EU)
        )
        assert answer.status_code == 413, (route, answer.text)
    refs = [f"m-{i:06d}-{'y' * 100}" for i in range(10_000)]
    answer = gateways.put(
        "/api/runtime/clients/k", json={"provider": "openai", "models": refs}, headers=auth(EU)
    )
    assert answer.status_code == 413 and str(REGISTER_BODY_BYTES) in answer.text


def test_deep_json_and_bad_numbers_are_4xx_before_any_state_changes(gateways):
    gateways.put(
        "/api/runtime/clients/k",
        json={"provider": "openai", "models": ["gpt-4o"]},
        headers=auth(EU),
    )
    deep = b'{"model": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    answer = gateways.post("/api/runtime/clients/k/quota", content=deep, headers=auth(EU))
    assert answer.status_code in (413, 422), answer.text
    deep = b'{"model": ' + b"[" * 1_000 + b"]" * 1_000 + b"}"
    answer = gateways.post("/api/runtime/clients/k/suspend", content=deep, headers=auth(EU))
    assert answer.status_code == 422, answer.text
    for body in (b'{"retryAt": -1e308}', b'{"retryAfter": NaN}', b'{"retryAt": Infinity}'):
        answer = gateways.post("/api/runtime/clients/k/quota", content=body, headers=auth(EU))
        assert answer.status_code == 422, (body, answer.text)
    assert (
        gateways.post(
            "/api/runtime/clients/k/quota", json={"retryAt": 1e300}, headers=auth(EU)
        ).status_code
        == 422
    )
    state = gateways.get("/api/runtime/models/gpt-4o", headers=auth(EU)).json()
    assert state["state"] == "available"  # nothing changed


# -- a gateway manages only its own clients, within its limits ---------------------------------


def test_a_gateway_manages_only_its_own_clients(gateways):
    body = {"provider": "openai", "models": ["gpt-4o"]}
    assert gateways.put("/api/runtime/clients/team", json=body, headers=auth(EU)).status_code == 200
    assert gateways.put("/api/runtime/clients/team", json=body, headers=auth(US)).status_code == 200
    assert (
        gateways.put("/api/runtime/clients/eu-only", json=body, headers=auth(EU)).status_code == 200
    )
    # Same name, two clients: each gateway sees and changes its own.
    assert gateways.get("/api/runtime/clients", headers=auth(US)).json() == {"clients": ["team"]}
    assert gateways.get("/api/runtime/clients", headers=auth(EU)).json() == {
        "clients": ["eu-only", "team"]
    }
    assert gateways.delete("/api/runtime/clients/eu-only", headers=auth(US)).status_code == 404
    assert (
        gateways.post(
            "/api/runtime/clients/eu-only/suspend", json={"reason": "x"}, headers=auth(US)
        ).status_code
        == 404
    )
    suspended = gateways.post(
        "/api/runtime/clients/team/suspend", json={"reason": "auth revoked"}, headers=auth(US)
    )
    assert suspended.status_code == 204
    state = gateways.get("/api/runtime/models/gpt-4o", headers=auth(EU)).json()
    assert state["state"] == "available" and state["clients"] == 3  # the deployment's counts
    assert state["availableClients"] == ["eu-only", "team"]  # this gateway's own
    assert (
        gateways.get("/api/runtime/models/gpt-4o", headers=auth(US)).json()["availableClients"]
        == []
    )
    summary = gateways.get("/api/runtime/summary", headers=auth(EU)).json()
    assert summary["gateways"] == {
        "gw-eu": {"clients": 2, "refs": 2, "unknown": 0},
        "gw-us": {"clients": 1, "refs": 1, "unknown": 0},
    }


def test_clients_and_unknown_refs_are_capped_per_gateway(gateways, monkeypatch):
    monkeypatch.setattr(roster, "MAX_CLIENTS_PER_OWNER", 3)
    body = {"provider": "openai", "models": ["gpt-4o"]}
    for i in range(3):
        assert gateways.put(f"/api/runtime/clients/k{i}", json=body, headers=auth(EU)).is_success
    over = gateways.put("/api/runtime/clients/k3", json=body, headers=auth(EU))
    assert over.status_code == 422 and "MAX_CLIENTS_PER_OWNER" in over.text
    assert gateways.put("/api/runtime/clients/k0", json=body, headers=auth(EU)).is_success
    assert gateways.put("/api/runtime/clients/k3", json=body, headers=auth(US)).is_success

    monkeypatch.setattr(roster, "MAX_UNKNOWN_PER_CLIENT", 10)
    monkeypatch.setattr(roster, "MAX_UNKNOWN_PER_OWNER", 15)
    junk = {"provider": "ollama", "models": [f"local-{i}:latest" for i in range(11)]}
    refused = gateways.put("/api/runtime/clients/box", json=junk, headers=auth(US))
    assert refused.status_code == 422 and "MAX_UNKNOWN_PER_CLIENT" in refused.text
    assert "box" not in gateways.get("/api/runtime/clients", headers=auth(US)).json()["clients"]
    junk["models"] = junk["models"][:10]
    assert gateways.put("/api/runtime/clients/box", json=junk, headers=auth(US)).is_success
    # Re-registering the same client replaces its refs; a second one adds to the gateway's.
    assert gateways.put("/api/runtime/clients/box", json=junk, headers=auth(US)).is_success
    more = {"provider": "ollama", "models": [f"other-{i}:latest" for i in range(6)]}
    refused = gateways.put("/api/runtime/clients/box2", json=more, headers=auth(US))
    assert refused.status_code == 422 and "MAX_UNKNOWN_PER_OWNER" in refused.text
    more["models"] = more["models"][:5]
    assert gateways.put("/api/runtime/clients/box2", json=more, headers=auth(US)).is_success
    summary = gateways.get("/api/runtime/summary", headers=auth(US)).json()
    assert summary["gateways"]["gw-us"] == {"clients": 3, "refs": 16, "unknown": 15}


# -- churn cannot move the ranking -------------------------------------------------------------


def test_sixty_suspend_resume_pairs_leave_the_rank_as_it_was(synced, gateways, tmp_path):
    day = iso(utcnow() + timedelta(minutes=30))
    twin = LocalStore(tmp_path / "twin")
    shutil.copytree(synced.root, twin.root)  # type: ignore[attr-defined]
    assert cli.main(["sync", "curated", "--store", str(twin.root), "--now", day, "-q"]) == 0
    before = read_json(twin, keys.CURATED)
    top = max(before["ranks"], key=lambda model: float(before["ranks"][model]))

    registered = gateways.put(
        "/api/runtime/clients/flappy", json={"provider": "x", "models": [top]}, headers=auth(EU)
    )
    assert registered.status_code == 200 and registered.json()["counted"] == {top: top}
    for _ in range(60):
        for action, body in (("suspend", {"reason": "provider 5xx"}), ("resume", {})):
            answer = gateways.post(
                f"/api/runtime/clients/flappy/{action}", json=body, headers=auth(EU)
            )
            assert answer.status_code == 204
    gateways.app.state.telemetry.flush()  # type: ignore[attr-defined]
    outcomes = [
        (key[0], cell.outcomes)
        for _, cells, _ in iter_recent(synced, since=0)
        for key, cell in cells.items()
        if key[1] == top
    ]
    assert outcomes == [("gw-eu", [0, 0, 1, 0, 0, 0])]  # one incident, under the gateway

    store_root = str(synced.root)  # type: ignore[attr-defined]
    assert cli.main(["sync", "curated", "--store", store_root, "--now", day, "-q"]) == 0
    after = read_json(synced, keys.CURATED)
    assert after["ranks"] == before["ranks"] and after["buckets"] == before["buckets"]


def test_availability_events_go_through_the_gateways_rate_limit(synced, monkeypatch, tmp_path):
    config = tmp_path / "catalog.yaml"
    config.write_text("telemetry:\n  rate_per_second: 0.001\n  burst: 2\n  flush_seconds: 3600\n")
    monkeypatch.setenv(RUNTIME_TOKENS_ENV, f"gw-eu={EU}")
    monkeypatch.setenv("CATALOG_TELEMETRY_TOKEN", TELEMETRY)
    app = create_app(Registry(synced), refresh_seconds=0, config_path=str(config))
    with TestClient(app) as client:
        models = ["gpt-4o", "gpt-4o-mini", "openai/o3", "openai/gpt-4.1"]
        body = {"provider": "openai", "models": models}
        assert client.put("/api/runtime/clients/k", json=body, headers=auth(EU)).is_success
        assert (
            client.post("/api/runtime/clients/k/suspend", json={}, headers=auth(EU)).status_code
            == 204
        )
        stats = client.get("/api/telemetry/stats", headers=auth(TELEMETRY)).json()
    assert stats["byConsumer"] == {"gw-eu": 2}  # its burst; the other two were refused
    assert stats["rejected"] == {"rate_limited": 2}
    assert Availability.attach(app.state.registry).clients() == ["gw-eu/k"]
