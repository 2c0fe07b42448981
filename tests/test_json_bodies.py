"""The admin and runtime routes read their bodies as JSON whatever the Content-Type (issue 28):
`curl -d '{…}'`, as the docs show it, sends application/x-www-form-urlencoded. Bounded, validated
like FastAPI's own bodies, documented in the spec, and read only once the token passed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import fixture_path
from fastapi.testclient import TestClient

from pipeline.registry import Registry
from pipeline.service.app import create_app
from pipeline.service.runtime_routes import CHANGE_BODY_BYTES, RUNTIME_TOKEN_ENV
from pipeline.timeutil import utcnow

TOKEN = "runtime-token-for-tests-never-logged"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}  # what `curl -d` sends


@pytest.fixture
def client(sync_file, store, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    assert sync_file(fixture_path("openrouter-models-2026-08-19.json"), now=utcnow()).published
    monkeypatch.setenv(RUNTIME_TOKEN_ENV, TOKEN)
    with TestClient(create_app(Registry.open(store), refresh_seconds=0)) as test_client:
        yield test_client


def test_curl_d_bodies_work_as_json_bodies_do(client: TestClient) -> None:
    body = b'{"provider": "openai", "models": ["gpt-4o", "gpt-4o-mini"]}'
    form = client.put("/api/runtime/clients/team", content=body, headers={**AUTH, **FORM})
    assert form.status_code == 200, form.text
    typed = client.put(
        "/api/runtime/clients/team",
        content=body,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert form.json()["added"] == ["openai/gpt-4o", "openai/gpt-4o-mini"]
    assert typed.status_code == 200 and typed.json()["counted"] == form.json()["counted"]
    quota = client.post(
        "/api/runtime/clients/team/quota",
        content=b'{"model": "gpt-4o", "retryAfter": 30}',
        headers={**AUTH, **FORM},
    )
    assert quota.status_code == 200 and quota.json()["model"] == "gpt-4o"
    state = client.get("/api/runtime/models/gpt-4o", headers=AUTH).json()
    assert state["state"] == "cooling_down" and state["retryAt"], state
    suspend = client.post(
        "/api/runtime/clients/team/suspend",
        content=b'{"reason": "auth revoked"}',
        headers={**AUTH, **FORM},
    )
    assert suspend.status_code == 204
    # resume: a body is optional (none, `{}`, either content type).
    assert client.post("/api/runtime/clients/team/resume", headers=AUTH).status_code == 204
    resumed = client.post(
        "/api/runtime/clients/team/resume", content=b"{}", headers={**AUTH, **FORM}
    )
    assert resumed.status_code == 204


def test_bad_bodies_are_422_in_fastapis_shape_and_bounded(client: TestClient) -> None:
    url = "/api/runtime/clients/team"
    cases = [
        (b"provider=openai", "json_invalid"),  # a real form body is no JSON
        (b'{"provider": "openai"}', "missing"),  # models missing
        (b'{"provider": "openai", "models": [], "x": 1}', "extra_forbidden"),
        (b"", "missing"),  # the body is required
    ]
    for content, kind in cases:
        answer = client.put(url, content=content, headers={**AUTH, **FORM})
        assert answer.status_code == 422, (content, answer.text)
        detail = answer.json()["detail"]
        assert detail[0]["loc"][0] == "body" and detail[0]["type"] == kind, detail
    big = b'{"reason": "' + b"x" * CHANGE_BODY_BYTES + b'"}'
    over = client.post(f"{url}/suspend", content=big, headers=AUTH)
    assert over.status_code == 413 and str(CHANGE_BODY_BYTES) in over.json()["detail"]


def test_nothing_unauthenticated_is_parsed(client: TestClient) -> None:
    # A body that would be a 422 is not even read without the token: 401 first.
    answer = client.put("/api/runtime/clients/team", content=b"{not json", headers=FORM)
    assert answer.status_code == 401


def test_the_spec_still_documents_every_body(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, method, required in (
        ("/api/runtime/clients/{client_id}", "put", True),
        # quota and suspend without a body mean every model of the client
        ("/api/runtime/clients/{client_id}/quota", "post", False),
        ("/api/runtime/clients/{client_id}/suspend", "post", False),
        ("/api/runtime/clients/{client_id}/resume", "post", False),
        ("/api/admin/models/refresh", "post", False),
    ):
        body = paths[path][method]["requestBody"]
        assert body["required"] is required, path
        assert body["content"]["application/json"]["schema"]["properties"], path
