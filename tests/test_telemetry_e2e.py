"""Telemetry end to end: a real `catalog serve` process receives JSON, NDJSON and OTLP
(protobuf from the OpenTelemetry SDK's own OTLP/HTTP exporter, and OTLP JSON as the spec
encodes it); the daily curated refresh then publishes telemetry.json, verification, a
downgraded supportsTools, measured scores; a catalog sync keeps the downgrade; successes
reported later through the Reporter bring the flag back.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import fixture_path, read_json
from test_service_e2e import Served, eventually

from pipeline import cli
from pipeline.config import CurationConfig
from pipeline.publishing import jsonio, keys, schemas
from pipeline.publishing.store import LocalStore
from pipeline.records.catalog import CurrentCatalog
from pipeline.stages.rank import rank_catalog
from pipeline.telemetry import Reporter
from pipeline.telemetry.rollup import HOURLY
from pipeline.timeutil import iso, utcnow

pytestmark = pytest.mark.slow

FIRST = "openrouter-models-2026-08-17.json"
SECOND = "openrouter-models-2026-08-19.json"
TOKEN = "telemetry-token-never-logged"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAILING = "openai/gpt-4o"  # supportsTools true by the API (supported_parameters has tools)


@pytest.fixture
def serve_telemetry(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(store: Path, config: Path, token: str | None = TOKEN) -> Served:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "AWS_"))}
        if token:
            env["CATALOG_TELEMETRY_TOKEN"] = token
        log = tmp_path / f"serve-{len(started)}.log"
        served = Served(
            ["--store", str(store), "--refresh-seconds", "0", "--config", str(config)], env, log
        )
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def _event(model: str, outcome: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "outcome": outcome, "consumer": "agent-a", **extra}


def _otel_spans(base: str) -> None:
    """GenAI spans through the OpenTelemetry SDK and its OTLP/HTTP protobuf exporter,
    configured the way an instrumented application configures them."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    provider = TracerProvider(resource=Resource.create({"service.name": "otel-app"}))
    exporter = OTLPSpanExporter(endpoint=f"{base}/v1/traces", headers=AUTH)
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=50))
    tracer = provider.get_tracer("genai-test")
    for index in range(60):
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.provider.name", "openai")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")  # a native id
            span.set_attribute("gen_ai.usage.input_tokens", 120)
            span.set_attribute("gen_ai.usage.output_tokens", 30)
            span.set_attribute("gen_ai.response.finish_reasons", ["tool_calls"])
            span.set_attribute("gen_ai.tool.definitions", "[omitted]")
            # never read, never stored:
            span.set_attribute("gen_ai.input.messages", "SECRET PROMPT TEXT")
            if index % 20 == 0:
                span.set_attribute("error.type", "429")
                span.set_status(Status(StatusCode.ERROR))
    with tracer.start_as_current_span("embeddings text-embedding-3-small") as span:
        span.set_attribute("gen_ai.operation.name", "embeddings")
    with tracer.start_as_current_span("GET /health"):
        pass
    assert provider.force_flush(30_000)
    provider.shutdown()


def _otlp_json(now_ns: int) -> dict[str, Any]:
    """OTLP/HTTP JSON as the spec encodes it: hex ids, int64 as strings, AnyValue wrappers."""

    def attr(key: str, value: Any) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"key": key, "value": {"boolValue": value}}
        if isinstance(value, int):
            return {"key": key, "value": {"intValue": str(value)}}
        return {"key": key, "value": {"stringValue": value}}

    spans = []
    for index in range(10):
        spans.append(
            {
                "traceId": f"{index + 1:032x}",
                "spanId": f"{index + 1:016x}",
                "name": "chat claude-sonnet-4",
                "kind": 3,
                "startTimeUnixNano": str(now_ns - 1_500_000_000),
                "endTimeUnixNano": str(now_ns),
                "attributes": [
                    attr("gen_ai.operation.name", "chat"),
                    attr("gen_ai.request.model", "anthropic/claude-sonnet-4"),
                    attr("gen_ai.request.stream", True),
                    attr("gen_ai.usage.input_tokens", 900),
                    attr("catalog.consumer", "json-exporter"),
                ],
                "status": {},
            }
        )
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attr("service.name", "ignored-when-consumer-set")]},
                "scopeSpans": [{"scope": {"name": "manual"}, "spans": spans}],
            }
        ]
    }


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_telemetry_end_to_end(tmp_path, store, sync_file, serve_telemetry):
    start = utcnow()
    first = sync_file(fixture_path(FIRST), now=start - timedelta(minutes=5))
    assert first.published, first.error
    config = tmp_path / "catalog.yaml"
    config.write_text(
        "telemetry:\n  flush_seconds: 0.2\n  max_batch_events: 200\n"
        "  rate_per_second: 20\n  burst: 600\n"
    )
    server = serve_telemetry(store.root, config)
    http = server.http

    # -- JSON: tool calls of gpt-4o fail (the model ignores the tool schema) ------------------
    batch = [
        _event(FAILING, "capability_error", capability="tools", latencyMs=900 + i)
        for i in range(40)
    ]
    answer = http.post("/api/telemetry", json=batch, headers=AUTH)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "consumer": "default",  # the single token's identity: the events said "agent-a"
        "accepted": 40,
        "rejectedCount": 0,
        "rejected": [],
    }

    # -- NDJSON (gzip): plain chat calls of gpt-4o succeed; the alias resolves ---------------
    alias = read_json(store, keys.CURRENT)
    gpt4o = next(m for m in alias["models"] if m["id"] == FAILING)
    lines = [
        json.dumps(_event(gpt4o["alias"], "ok", latencyMs=700, ttftMs=180, prompt="dropped"))
        for _ in range(30)
    ]
    answer = http.post(
        "/api/telemetry",
        content=gzip.compress("\n".join(lines).encode()),
        headers={
            **AUTH,
            "Content-Type": "application/x-ndjson",
            "Content-Encoding": "gzip",
        },
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == 30

    # -- OTLP protobuf from the real exporter, and OTLP JSON --------------------------------
    _otel_spans(server.base)
    answer = http.post("/v1/traces", json=_otlp_json(int(utcnow().timestamp() * 1e9)), headers=AUTH)
    assert answer.status_code == 200 and answer.json() == {}, answer.text

    # -- bad input: each a clear 4xx with a counted reason -----------------------------------
    def refused(response: Any, status: int, reason: str) -> None:
        assert response.status_code == status, response.text
        assert reason in response.text

    refused(
        http.post(
            "/api/telemetry",
            content=b"{not json",
            headers={**AUTH, "Content-Type": "application/json"},
        ),
        400,
        "invalid_json",
    )
    refused(
        http.post("/api/telemetry", json=[_event(FAILING, "ok")] * 201, headers=AUTH),
        413,
        "too_large",
    )
    future = iso(utcnow() + timedelta(hours=2))
    mixed = [
        _event("nobody/no-such-model", "ok"),
        _event(FAILING, "ok", timestamp=future),
        _event(FAILING, "ok", latencyMs=-5),
        _event(FAILING, "exploded"),
    ]
    answer = http.post("/api/telemetry", json=mixed, headers=AUTH)
    refused(answer, 422, "unknown_model")
    assert [r["reason"] for r in answer.json()["rejected"]] == [
        "unknown_model",
        "future_timestamp",
        "bad_latency",
        "bad_outcome",
    ]
    refused(http.post("/api/telemetry", json=batch[:1]), 401, "unauthorized")
    refused(
        http.post("/api/telemetry", json=batch[:1], headers={"Authorization": "Bearer wrong"}),
        401,
        "unauthorized",
    )
    refused(
        http.post(
            "/v1/traces",
            content=b"\xff\xff",
            headers={**AUTH, "Content-Type": "application/x-protobuf"},
        ),
        400,
        "invalid_payload",
    )
    flood = [_event(FAILING, "ok", capability="chat")] * 200
    statuses = [http.post("/api/telemetry", json=flood, headers=AUTH).status_code for _ in range(6)]
    assert 429 in statuses, statuses
    limited = http.post("/api/telemetry", json=flood, headers=AUTH)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1

    stats = http.get("/api/telemetry/stats", headers=AUTH).json()
    for reason in (
        "invalid_json",
        "too_large",
        "unknown_model",
        "future_timestamp",
        "bad_latency",
        "bad_outcome",
        "unauthorized",
        "invalid_payload",
        "rate_limited",
    ):
        assert stats["rejected"].get(reason, 0) >= 1, (reason, stats)
    assert stats["ignoredSpans"] == {"embeddings": 1, "none": 1}
    # One token, one identity (issue 27): the consumer names events and spans declare (the
    # JSON `consumer`, `catalog.consumer`, `service.name`) are overwritten by it.
    assert set(stats["byConsumer"]) == {"default"}
    assert stats["byConsumer"]["default"] == stats["accepted"]
    metrics = http.get("/metrics").text
    assert 'catalog_telemetry_rejected_total{reason="rate_limited"}' in metrics
    assert "catalog_telemetry_ignored_spans_total 2" in metrics

    # Rollups reach the store within a flush interval; SIGTERM flushes the rest.
    eventually("a flushed rollup", lambda: store.list(HOURLY))
    server.stop()
    stored = b"".join(store.get(k).data for k in store.list(HOURLY))  # type: ignore[union-attr]
    assert b"SECRET" not in stored and b"dropped" not in stored

    # -- the daily verification (curated refresh): deterministic for rollups + clock ---------
    day = start + timedelta(minutes=30)
    twin = LocalStore(tmp_path / "twin")
    shutil.copytree(store.root, twin.root)
    argv = ["sync", "curated", "--now", iso(day), "--config", str(config), "-q"]
    assert cli.main([*argv, "--store", str(store.root)]) == 0
    assert cli.main([*argv, "--store", str(twin.root)]) == 0
    for key in (keys.CURRENT, keys.CURATED, f"{keys.OPENROUTER}/telemetry.json"):
        assert store.get(key).data == twin.get(key).data, key  # type: ignore[union-attr]

    telemetry = read_json(store, f"{keys.OPENROUTER}/telemetry.json")
    telemetry_bytes = store.get(f"{keys.OPENROUTER}/telemetry.json").data  # type: ignore[union-attr]
    schemas.validate("telemetry", jsonio.loads_plain(telemetry_bytes))
    by_id = {m["id"]: m for m in telemetry["models"]}
    tools = by_id[FAILING]["windows"]["7d"]["capabilities"]["tools"]
    assert tools["calls"] == 40 and tools["outcomes"] == {"capability_error": 40}
    # 900-939 ms all fall in the (750, 1000] bucket: percentiles are exact to one bucket.
    assert tools["successRate"] == 0 and 750 <= tools["latencyP50Ms"] <= 1000
    mini = by_id["openai/gpt-4o-mini"]["windows"]["7d"]["capabilities"]["tools"]
    assert mini["outcomes"] == {"ok": 57, "rate_limited": 3}
    sonnet = by_id["anthropic/claude-sonnet-4"]["windows"]["30d"]["capabilities"]["streaming"]
    assert sonnet["calls"] == 10 and 1000 <= sonnet["latencyP50Ms"] <= 1500

    current = read_json(store, keys.CURRENT)
    schemas.validate("current", jsonio.loads_plain(store.get(keys.CURRENT).data))  # type: ignore[union-attr]
    record = next(m for m in current["models"] if m["id"] == FAILING)
    assert record["supportsTools"] is False
    assert record["detectionSource"]["supportsTools"] == "telemetry"
    assert "failed 40 of 40" in record["evidence"]["supportsTools"]
    verification = record["verification"]
    assert verification["status"] == "partial"  # chat verified, tools failing
    assert verification["failingCapabilities"] == ["tools"]
    assert verification["verifiedCapabilities"] == ["chat"]
    assert verification["downgraded"]["supportsTools"]["wasSource"] == "api"
    mini_record = next(m for m in current["models"] if m["id"] == "openai/gpt-4o-mini")
    assert mini_record["verification"]["verifiedCapabilities"] == ["tools"]
    assert mini_record["supportsTools"] is True

    curated = read_json(store, keys.CURATED)
    report = read_json(store, keys.run_report(curated["runId"]))
    assert {"id": FAILING, "field": "supportsTools", "from": True, "to": False}.items() <= (
        report["details"]["changelog"]["telemetry"][0].items()
    )
    assert any(c["decidedBy"] == "telemetry" for c in report["details"]["conflicts"])
    # gpt-4o has >= 50 calls (the flood batches let through count too): its reliability and
    # latency are measured, not estimated.
    catalog = CurrentCatalog.model_validate(read_json(store, keys.CURRENT))
    ranked = rank_catalog(catalog.models, now=day, config=CurationConfig())
    scores = ranked[FAILING].scores
    assert scores.reliability.source == "telemetry" and scores.latency.source == "telemetry"
    assert scores.reliability.value == float(record["verification"]["servedLowerBound"])
    assert float(curated["ranks"][FAILING]) == ranked[FAILING].rank
    # gpt-4o-mini: 60 calls, 3 rate-limited → measured reliability below a perfect record.
    assert ranked["openai/gpt-4o-mini"].scores.reliability.source == "telemetry"
    assert ranked["openai/gpt-4o-mini"].scores.reliability.value < scores.reliability.value
    # Models nobody called keep today's sources.
    assert ranked["openai/gpt-4.1"].scores.reliability.source == "lifecycle"

    # -- a catalog sync between verifications keeps the downgrade ----------------------------
    again = sync_file(fixture_path(SECOND), now=day + timedelta(hours=1))
    assert again.published, again.error
    record = next(m for m in read_json(store, keys.CURRENT)["models"] if m["id"] == FAILING)
    assert record["supportsTools"] is False
    assert record["detectionSource"]["supportsTools"] == "telemetry"

    # -- recovery: a week later, tool calls reported through the library succeed -------------
    later = day + timedelta(days=8)
    with Reporter(store, consumer="worker", clock=later.timestamp, background=False) as reporter:
        for _ in range(40):
            assert reporter.record(FAILING, "ok", capability="tools", latency_ms=650)
        assert not reporter.record("nobody/nothing", "ok")
    assert cli.main([*argv[:2], "--now", iso(later), "--store", str(store.root), "-q"]) == 0
    record = next(m for m in read_json(store, keys.CURRENT)["models"] if m["id"] == FAILING)
    assert record["supportsTools"] is True
    assert record["detectionSource"]["supportsTools"] == "api"
    assert record["verification"]["verifiedCapabilities"] == ["tools"]
    assert "supportsTools" not in record["verification"].get("downgraded", {})
    curated = read_json(store, keys.CURATED)
    report = read_json(store, keys.run_report(curated["runId"]))
    assert [c["change"] for c in report["details"]["changelog"]["telemetry"]] == ["recovered"]
