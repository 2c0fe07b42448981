"""The official OpenAI, Anthropic and Google GenAI SDKs against `catalog serve` as a real process.

Each client is configured the way its users configure it for another endpoint: only the base
URL and a dummy key. The store is filled the way production fills it (providers job, then the
OpenRouter "all" payload), so records carry provider-native ids.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from native_store import sync_with_native_ids
from test_service_e2e import Served

from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore

pytestmark = pytest.mark.slow

DUMMY_KEY = "sk-dummy-not-checked"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("sdk") / "store"
    store = LocalStore(root)
    sync_with_native_ids(store)
    blob = store.get(keys.CURRENT)
    assert blob is not None
    import json

    models = json.loads(blob.data)["models"]
    return root, models


@pytest.fixture(scope="module")
def server(
    published: tuple[Path, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "AWS_"))}
    log = tmp_path_factory.mktemp("sdk-log") / "serve.log"
    served = Served(["--store", str(published[0]), "--refresh-seconds", "0"], env, log)
    yield served
    served.stop()


def listed(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in models if m["lifecycle"]["state"] in ("active", "stale")]


def native_of(models: list[dict[str, Any]], source: str, model_id: str) -> str:
    record = next(m for m in models if m["id"] == model_id)
    return next(s["nativeId"] for s in record["sources"] if s["source"] == source)


def test_openai_sdk(server, published):
    models = published[1]
    client = openai.OpenAI(base_url=f"{server.base}/v1", api_key=DUMMY_KEY, max_retries=0)
    every = list(client.models.list())
    assert len(every) == len(listed(models))
    assert {m.id for m in every} == {m["id"] for m in listed(models)}
    assert all(m.object == "model" and m.owned_by and m.created > 0 for m in every)

    by_id = client.models.retrieve("openai/gpt-4o")
    assert (by_id.id, by_id.object, by_id.owned_by) == ("openai/gpt-4o", "model", "openai")
    assert client.models.retrieve("gpt-4o").id == "openai/gpt-4o"  # alias
    native = native_of(models, "openai", "openai/gpt-4o-2024-08-06")
    assert native == "gpt-4o-2024-08-06"
    assert client.models.retrieve(native).id == "openai/gpt-4o-2024-08-06"
    assert client.models.retrieve("gpt-4o-2099-01-01").id == "openai/gpt-4o"  # dated id

    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("openai/gpt-4oo")
    assert missing.value.status_code == 404
    assert missing.value.code == "model_not_found"
    assert "openai/gpt-4o" in missing.value.message  # close matches named


def test_anthropic_sdk(server, published):
    models = published[1]
    client = anthropic.Anthropic(base_url=server.base, api_key=DUMMY_KEY, max_retries=0)
    first = client.models.list()
    assert len(first.data) == 20 and first.has_more  # Anthropic's default page
    every = list(client.models.list(limit=100))  # the SDK's own pager, page after page
    assert len(every) == len(listed(models))
    assert len({m.id for m in every}) == len(every)
    created = [m.created_at for m in every]
    assert created == sorted(created, reverse=True)  # newest first, like Anthropic
    assert all(m.type == "model" and m.display_name and m.lifecycle for m in every)
    sonnet = next(m for m in every if m.id == "anthropic/claude-sonnet-4.5")
    record = next(m for m in models if m["id"] == "anthropic/claude-sonnet-4.5")
    assert sonnet.max_input_tokens == record["maxContext"]
    assert sonnet.max_tokens == record["maxOutput"]

    page = client.models.list(limit=5, after_id=every[9].id)
    assert [m.id for m in page.data] == [m.id for m in every[10:15]]
    back = client.models.list(limit=5, before_id=every[10].id)
    assert [m.id for m in back.data] == [m.id for m in every[5:10]] and back.has_more

    native = native_of(models, "anthropic", "anthropic/claude-sonnet-4.5")
    assert native == "claude-sonnet-4-5-20250929"
    for ref in ("anthropic/claude-sonnet-4.5", "claude-sonnet-4.5", native, "claude-sonnet-4-5"):
        found = client.models.retrieve(ref)
        assert found.id == "anthropic/claude-sonnet-4.5", ref
        assert found.display_name == record["name"]
    assert client.models.retrieve("claude-sonnet-4-5-20991231").id == "anthropic/claude-sonnet-4.5"

    with pytest.raises(anthropic.NotFoundError) as missing:
        client.models.retrieve("claude-sonnet-4.55")
    assert missing.value.status_code == 404
    assert missing.value.body["error"]["type"] == "not_found_error"
    assert "claude-sonnet-4.5" in missing.value.message
    with pytest.raises(anthropic.BadRequestError):
        client.models.list(limit=5000)


def gemini_client(base: str, **options: Any) -> genai.Client:
    http_options = genai_types.HttpOptions(base_url=base, **options)
    return genai.Client(api_key=DUMMY_KEY, http_options=http_options)


def test_google_genai_sdk(server, published):
    models = published[1]
    client = gemini_client(server.base)
    every = list(client.models.list())  # 50 per page, nextPageToken until the end
    assert len(every) == len(listed(models))
    assert {m.name for m in every} == {f"models/{m['id']}" for m in listed(models)}
    flash = next(m for m in every if m.name == "models/google/gemini-2.5-flash")
    record = next(m for m in models if m["id"] == "google/gemini-2.5-flash")
    assert flash.display_name == record["name"]
    assert flash.input_token_limit == record["maxContext"]
    assert flash.output_token_limit == record["maxOutput"]
    assert flash.supported_actions == ["generateContent", "countTokens"]
    assert flash.thinking is True and flash.version

    pager = client.models.list(config={"page_size": 200})
    first_page = [m.name for m in pager.page]
    second_page = [m.name for m in pager.next_page()]  # follows nextPageToken
    assert len(first_page) == len(second_page) == 200
    assert first_page + second_page == [m.name for m in every[:400]]

    for ref in ("google/gemini-2.5-flash", "gemini-2.5-flash", "models/gemini-2.5-flash"):
        got = client.models.get(model=ref)
        assert got.name == "models/google/gemini-2.5-flash", ref
        assert got.input_token_limit == record["maxContext"]
    assert client.models.get(model="gemini-2.5-flash-2099-01-01").name == flash.name  # dated

    with pytest.raises(genai_errors.ClientError) as missing:
        client.models.get(model="gemini-2.5-flashh")
    assert missing.value.code == 404 and missing.value.status == "NOT_FOUND"
    assert "gemini-2.5-flash" in (missing.value.message or "")

    # api_version="v1": /v1/models, told apart from OpenAI's by the x-goog-api-key header.
    v1 = gemini_client(server.base, api_version="v1")
    assert len(list(v1.models.list())) == len(listed(models))
    assert v1.models.get(model="gemini-2.5-flash").name == flash.name


def test_http_hygiene_over_the_wire(server):
    raw = httpx.Client(base_url=server.base, timeout=30)
    plain = raw.get("/v1/models", headers={"Accept-Encoding": "identity"})
    assert plain.headers.get("content-encoding") is None
    with raw.stream("GET", "/v1/models", headers={"Accept-Encoding": "gzip"}) as packed:
        compressed = b"".join(packed.iter_raw())
        assert packed.headers["content-encoding"] == "gzip"
        assert "Accept-Encoding" in packed.headers["vary"]
        assert packed.headers["etag"] != plain.headers["etag"]
    assert gzip.decompress(compressed) == plain.content
    assert len(compressed) * 4 < len(plain.content)

    head = raw.head("/v1/models")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == raw.get("/v1/models").headers["etag"]
    assert raw.head("/healthz").status_code == 200
    assert raw.get("/v1/models/").json() == raw.get("/v1/models").json()
    assert raw.get("/v1beta/models/").status_code == 200

    origin = {"Origin": "https://dashboard.example"}
    assert raw.get("/v1/models", headers=origin).headers["access-control-allow-origin"] == "*"
    preflight = raw.options(
        "/v1/models",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "anthropic-version",
        },
    )
    assert preflight.status_code == 204
    assert "anthropic-version" in preflight.headers["access-control-allow-headers"]
    admin = raw.get("/api/admin/models/status", headers=origin)
    assert "access-control-allow-origin" not in admin.headers
    raw.close()


def test_cors_origins_narrowed_from_the_command_line(published, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "AWS_"))}
    args = ["--store", str(published[0]), "--refresh-seconds", "0"]
    served = Served([*args, "--cors-origins", "https://dash.example"], env, tmp_path / "log")
    try:
        mine = served.http.get("/v1/models", headers={"Origin": "https://dash.example"})
        assert mine.headers["access-control-allow-origin"] == "https://dash.example"
        other = served.http.get("/v1/models", headers={"Origin": "https://other.example"})
        assert "access-control-allow-origin" not in other.headers
    finally:
        served.stop()
