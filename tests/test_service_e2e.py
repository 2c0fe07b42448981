"""`catalog serve` as a real process on 127.0.0.1 over a store filled by real syncs.

The only stand-in is the OpenRouter endpoint for the admin refresh: a local HTTP server that
answers with a real recorded payload once the test lets it (so the test controls when the
background job finishes).
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import commit, fixture_path

from pipeline.publishing import jsonio, keys
from pipeline.timeutil import iso, utcnow

pytestmark = pytest.mark.slow

FIRST = "openrouter-models-2026-08-17.json"
SECOND = "openrouter-models-2026-08-19.json"
THIRD = "openrouter-models-all-2026-08-19.json"
TOKEN = "e2e-admin-token-never-logged"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eventually(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Upstream:
    """A local stand-in for openrouter.ai that serves a real payload when the gate opens."""

    def __init__(self, payload: Path) -> None:
        self.payload = payload.read_bytes()
        self.gate = threading.Event()
        self.requests = 0
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                upstream.requests += 1
                upstream.gate.wait(60)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(upstream.payload)))
                self.end_headers()
                self.wfile.write(upstream.payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/models"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


class Served:
    """A `catalog serve` process and a client for it."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        catalog = Path(sys.executable).with_name("catalog")
        command = [str(catalog)] if catalog.exists() else [sys.executable, "-m", "pipeline.cli"]
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )
        self.http = httpx.Client(base_url=self.base, timeout=30)
        eventually("the server to answer /healthz", self._up)

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"catalog serve exited: {self.log.read_text()[-2000:]}")
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def admin_status(self) -> dict[str, Any]:
        response = self.http.get("/api/admin/models/status", headers=AUTH)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.handle.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(store: Path, *args: str, token: str | None = TOKEN) -> Served:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "AWS_"))}
        if token:
            env["CATALOG_ADMIN_TOKEN"] = token
        log = tmp_path / f"serve-{len(started)}.log"
        served = Served(["--store", str(store), *args], env, log)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream(fixture_path(SECOND))
    yield server
    server.close()


def test_catalog_serve_end_to_end(tmp_path, store, sync_file, serve, upstream):
    first = sync_file(fixture_path(FIRST), now=utcnow())
    assert first.published, first.error
    config = tmp_path / "catalog.yaml"
    config.write_text(f"openrouter:\n  url: {upstream.url}\n  max_attempts: 1\n")
    server = serve(store.root, "--refresh-seconds", "0.2", "--config", str(config))
    http = server.http

    # -- probes and every list format ------------------------------------------------------
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz").json()
    assert ready["ready"] is True and ready["runId"] == first.run_id
    openai = http.get("/v1/models").json()
    assert openai["object"] == "list" and len(openai["data"]) > 300
    assert {m["object"] for m in openai["data"]} == {"model"}
    # Issue 15: Anthropic pages newest first, Gemini by 50, bad parameters are 400s.
    anthropic = http.get("/v1/models", params={"format": "anthropic", "limit": 1000}).json()
    assert sorted(m["id"] for m in anthropic["data"]) == [m["id"] for m in openai["data"]]
    assert anthropic["first_id"] == anthropic["data"][0]["id"]
    gemini = http.get("/v1/models", params={"format": "gemini"}).json()
    assert gemini["models"][0]["name"] == f"models/{openai['data'][0]['id']}"
    wider = http.get("/v1/models", params={"include": "deprecated"}).json()
    assert len(wider["data"]) >= len(openai["data"])
    assert http.get("/v1/models", params={"format": "xml"}).status_code == 400

    # -- one model, search, curated, deprecations, spec, metrics ---------------------------
    model = http.get("/api/models/openai/gpt-4o").json()  # issue 15: the record moved here
    assert model["id"] == "openai/gpt-4o" and model["resolution"]["hops"][0]["step"] == "id"
    assert http.get("/api/models/gpt-4o").json()["resolution"]["hops"][0]["step"] == "alias"
    missing = http.get("/api/models/openai/gpt-4oo")
    assert missing.status_code == 404 and "openai/gpt-4o" in missing.json()["closeMatches"]
    assert http.get("/v1/models/gpt-4o").json()["object"] == "model"
    page = http.get("/api/models", params={"capability": "vision", "limit": 10}).json()
    assert len(page["data"]) == 10 and page["nextCursor"]
    following = http.get(
        "/api/models", params={"capability": "vision", "limit": 10, "cursor": page["nextCursor"]}
    ).json()
    assert following["data"][0]["id"] > page["data"][-1]["id"]
    assert all(m["supportsVision"] for m in page["data"] + following["data"])
    assert http.get("/api/models", params={"limit": 5000}).status_code == 422
    curated = http.get("/api/models/curated").json()
    assert curated["available"] is True and curated["runId"] == first.run_id
    assert set(curated["buckets"]) == {
        "coding",
        "reasoning",
        "chat",
        "fastCheap",
        "vision",
        "imageGen",
    }
    vision = http.get("/api/models/curated", params={"bucket": "vision"}).json()["buckets"]
    assert list(vision) == ["vision"] and vision["vision"] == curated["buckets"]["vision"]
    assert http.get("/api/models/deprecations").json()["redirects"] == []
    spec = http.get("/openapi.json").json()
    for path in (
        "/healthz",
        "/readyz",
        "/v1/models",
        "/v1/models/{ref}",
        "/v1beta/models",
        "/v1beta/models/{name}",
        "/api/models/{ref}",
        "/api/models",
        "/api/models/curated",
        "/api/models/deprecations",
        "/api/admin/models/status",
        "/api/admin/models/refresh",
        "/api/admin/models/runs/{run_id}",
        "/metrics",
    ):
        assert path in spec["paths"], path
    metrics = http.get("/metrics").text
    assert 'catalog_http_requests_total{method="GET",route="/v1/models",status="200"}' in metrics
    assert "catalog_age_seconds" in metrics and 'catalog_models{state="active"}' in metrics

    # -- 304s ------------------------------------------------------------------------------
    for path in ("/v1/models", "/v1/models/openai/gpt-4o", "/api/models", "/openapi.json"):
        etag = http.get(path).headers["etag"]
        not_modified = http.get(path, headers={"If-None-Match": etag})
        assert not_modified.status_code == 304 and not_modified.content == b""

    # -- auth ------------------------------------------------------------------------------
    assert http.get("/api/admin/models/status").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert http.get("/api/admin/models/status", headers=wrong).status_code == 401
    assert http.post("/api/admin/models/refresh", json={"scope": "all"}).status_code == 401
    status = server.admin_status()
    assert status["status"]["jobs"]["openrouter"]["runId"] == first.run_id
    assert status["reader"]["runId"] == first.run_id

    # -- admin refresh: 202, 409 while it runs, outcome, swap ------------------------------
    started = http.post("/api/admin/models/refresh", json={"scope": "openrouter"}, headers=AUTH)
    assert started.status_code == 202, started.text
    run_id = started.json()["runId"]
    eventually("the job to reach the upstream", lambda: upstream.requests >= 1)
    busy = http.post("/api/admin/models/refresh", json={"scope": "all"}, headers=AUTH)
    assert busy.status_code == 409
    assert http.get("/v1/models").json() == openai  # serving the old set meanwhile
    upstream.gate.set()

    def finished() -> dict[str, Any] | None:
        run = http.get(f"/api/admin/models/runs/{run_id}", headers=AUTH).json()
        return run if run["state"] == "finished" else None

    run = eventually("the refresh to finish", finished, timeout=60)
    assert run["outcome"] == "ok" and run["published"] is True, run
    assert server.admin_status()["reader"]["runId"] == run["jobRunId"]
    assert http.get("/readyz").json()["runId"] == run["jobRunId"]

    # -- the run lease held by another scheduler: 409 --------------------------------------
    now = utcnow()
    lease = {
        "runId": "cron-run",
        "job": "full_refresh",
        "host": "cron-host",
        "pid": 1,
        "startedAt": iso(now),
        "expiresAt": iso(now + timedelta(minutes=5)),
    }
    store.put(keys.LOCK, jsonio.dumps(lease))
    held = http.post("/api/admin/models/refresh", json={"scope": "all"}, headers=AUTH)
    assert held.status_code == 409 and "cron-host" in held.json()["detail"]
    store.delete(keys.LOCK)

    # -- a new snapshot published while requests keep coming --------------------------------
    seen: dict[str, int] = {}
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=server.base, timeout=30) as client:
            while not stop.is_set():
                for path in ("/v1/models", "/v1/models/openai/gpt-4o", "/api/models?limit=1"):
                    response = client.get(path)
                    if response.status_code != 200:
                        failures.append(f"{path}: {response.status_code}")
                    elif path.startswith("/api/models"):
                        run = response.json()["runId"]
                        seen[run] = seen.get(run, 0) + 1

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    third = sync_file(fixture_path(THIRD), now=utcnow() + timedelta(minutes=1))
    assert third.published, third.error
    eventually("the new set to be served", lambda: seen.get(third.run_id, 0) >= 5)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert seen.get(run["jobRunId"], 0) > 0 and seen[third.run_id] > 0
    models_now = http.get("/v1/models").json()["data"]
    assert len(models_now) == third.report.counts["published"] - sum(
        1
        for m in jsonio.loads(store.get(keys.CURRENT).data)["models"]
        if m["lifecycle"]["state"] == "deprecated"
    )

    # -- the store becomes unreadable: keep serving, report it -------------------------------
    served_before = http.get("/v1/models").content
    moved = store.root.with_name("store-moved")
    shutil.move(store.root, moved)
    error = eventually(
        "the reader to report the unreadable store",
        lambda: server.admin_status()["reader"]["error"],
    )
    assert "nothing published yet" in error or "cannot" in error
    assert http.get("/v1/models").content == served_before
    assert http.get("/v1/models/openai/gpt-4o").status_code == 200
    assert http.get("/readyz").json()["ready"] is True
    shutil.move(moved, store.root)
    eventually("the error to clear", lambda: server.admin_status()["reader"]["error"] is None)

    # -- an invalid current.json: keep serving, report it ------------------------------------
    good = store.get(keys.CURRENT).data
    commit(store, {"current": good[: len(good) // 2]})  # a truncated set
    error = eventually(
        "the reader to report the invalid catalog",
        lambda: server.admin_status()["reader"]["error"],
    )
    assert "not valid JSON" in error
    assert server.admin_status()["reader"]["runId"] == third.run_id
    assert http.get("/v1/models").content == served_before
    assert "catalog_refresh_error 1" in http.get("/metrics").text
    commit(store, {"current": good})
    eventually("the error to clear", lambda: server.admin_status()["reader"]["error"] is None)

    # -- the admin token never reaches the logs ----------------------------------------------
    server.stop()
    log = server.log.read_text()
    assert "GET /v1/models" in log  # access logs are on
    assert TOKEN not in log


def test_admin_api_is_off_without_a_token(store, sync_file, serve):
    assert sync_file(fixture_path(FIRST), now=utcnow()).published
    server = serve(store.root, "--refresh-seconds", "0", token=None)
    for method, path in (
        ("GET", "/api/admin/models/status"),
        ("POST", "/api/admin/models/refresh"),
        ("GET", "/api/admin/models/runs/x"),
    ):
        response = server.http.request(method, path, headers=AUTH, json={"scope": "all"})
        assert response.status_code == 403
        assert response.json()["detail"].startswith("admin API disabled")
    assert server.http.get("/v1/models").status_code == 200
