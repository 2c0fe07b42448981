"""Telemetry parts on their own: bounds and percentiles, the OTLP mapping, rollups (crash
loss, compaction, retention, bad files, memory bound), the telemetry layer's hysteresis and
override, the YAML export's verification block, and probes against a local fake chat server.
"""

from __future__ import annotations

import http.server
import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import fixture_path, read_json

from pipeline import cli
from pipeline.config import TelemetryConfig
from pipeline.publishing import keys, registry_export
from pipeline.publishing.store import LocalStore
from pipeline.records.catalog import CurrentCatalog
from pipeline.records.model import Verification
from pipeline.stages.capabilities import TelemetryRule, telemetry_layer
from pipeline.telemetry import otel
from pipeline.telemetry.compaction import load_days
from pipeline.telemetry.events import Event, Rejected, build_event
from pipeline.telemetry.intake import Intake
from pipeline.telemetry.rollup import BOUNDS_MS, DAILY, HOURLY, Cell, Rollups, decode_any
from pipeline.telemetry.verify import percentile, stats_of, verification_for, wilson_lower

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_wilson_lower_bound_and_histogram_percentiles():
    assert wilson_lower(0, 0) == 0.0
    assert wilson_lower(20, 20) == pytest.approx(0.8389, abs=1e-4)
    assert wilson_lower(0, 20) == 0.0
    assert wilson_lower(95, 100) == pytest.approx(0.8882, abs=1e-4)
    # 10 calls in (750, 1000]: the median is the bucket's middle, p95 near its top.
    histogram = [0] * 20
    histogram[7] = 10
    assert percentile(histogram, 0.5) == 875.0
    assert percentile(histogram, 0.95) == pytest.approx(987.5)
    assert percentile([0] * 20, 0.5) is None


def _percentile_by_walking(histogram: list[int], q: float) -> float | None:
    """The bucket walk percentiles were computed with before the running counts."""
    total = sum(histogram)
    if total == 0:
        return None
    rank, seen = q * total, 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            low = BOUNDS_MS[index - 1] if index > 0 else 0.0
            high = BOUNDS_MS[index] if index < len(BOUNDS_MS) else BOUNDS_MS[-1] * 2
            return round(low + (high - low) * (rank - seen) / count, 1)
        seen += count
    return float(BOUNDS_MS[-1] * 2)


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_by_bisection_are_the_bucket_walks(seed):
    rng = random.Random(seed)
    for _ in range(400):
        histogram = [rng.choice((0, 0, 1, 3, 40)) for _ in range(20)]
        for q in (0.0, 0.01, 0.5, 0.95, 1.0):
            assert percentile(histogram, q) == _percentile_by_walking(histogram, q)
        cell = Cell(latency=histogram, ttft=histogram[::-1])
        stats = stats_of(cell)
        assert (stats.latency_p50_ms, stats.latency_p95_ms) == (
            _percentile_by_walking(histogram, 0.5),
            _percentile_by_walking(histogram, 0.95),
        )
        assert stats.ttft_p95_ms == _percentile_by_walking(histogram[::-1], 0.95)


def _span(attrs: dict[str, Any], status: int = 0) -> otel.Span:
    return otel.Span(attrs, {"service.name": "svc"}, 1_000_000_000, 1_250_000_000, status)


@pytest.mark.parametrize(
    ("attrs", "status", "capability", "outcome"),
    [
        ({"gen_ai.tool.definitions": "[…]"}, 0, "tools", "ok"),
        ({"gen_ai.response.finish_reasons": ["tool_calls"]}, 0, "tools", "ok"),
        ({"gen_ai.output.type": "json"}, 0, "structuredOutput", "ok"),
        ({"gen_ai.usage.reasoning.output_tokens": 40}, 0, "reasoning", "ok"),
        ({"gen_ai.request.stream": True}, 0, "streaming", "ok"),
        ({}, 0, "chat", "ok"),
        ({"error.type": "timeout"}, 2, "chat", "timeout"),
        ({"error.type": "openai.RateLimitError"}, 2, "chat", "rate_limited"),
        ({"error.type": "429"}, 2, "chat", "rate_limited"),
        ({"error.type": "400"}, 2, "chat", "client_error"),
        ({"error.type": "AuthenticationError"}, 2, "chat", "client_error"),
        ({"error.type": "500"}, 2, "chat", "provider_error"),
        ({}, 2, "chat", "provider_error"),
        (
            {"catalog.capability": "vision", "catalog.outcome": "capability_error"},
            0,
            "vision",
            "capability_error",
        ),
    ],
)
def test_the_otel_mapping_infers_capability_and_outcome(attrs, status, capability, outcome):
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
    event = otel.span_to_event(_span({**base, **attrs}, status))
    assert (event["capability"], event["outcome"]) == (capability, outcome)
    assert event["latencyMs"] == 250.0 and event["consumer"] == "svc"


def test_spans_that_are_not_genai_calls_are_ignored_and_content_is_never_read():
    for operation in ("embeddings", "execute_tool", None):
        with pytest.raises(otel.NotGenAI):
            otel.span_to_event(_span({"gen_ai.operation.name": operation}))
    event = otel.span_to_event(
        _span(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "m",
                "gen_ai.input.messages": "SECRET",
                "gen_ai.output.messages": "SECRET",
            }
        )
    )
    assert "SECRET" not in json.dumps(event)


def _lookup(ref: str, provider: str | None) -> str | None:
    return ref if ref.startswith("v/") else None


def _event(model: str = "v/a", at: datetime = NOW, **kw: Any) -> Event:
    return Event(
        model=model,
        capability=kw.get("capability", "tools"),
        outcome=kw.get("outcome", "ok"),
        consumer=kw.get("consumer", "c"),
        at=at.timestamp(),
        latency_ms=kw.get("latency_ms", 500.0),
    )


def test_event_validation_names_the_reason():
    def check(raw: dict[str, Any], reason: str) -> None:
        with pytest.raises(Rejected) as caught:
            build_event(
                raw,
                now=NOW.timestamp(),
                lookup=_lookup,
                max_age_seconds=86400,
                max_skew_seconds=300,
            )
        assert caught.value.reason == reason

    good = {"model": "v/a", "outcome": "ok", "consumer": "c"}
    check({**good, "model": "x/unknown"}, "unknown_model")
    check({**good, "outcome": "great"}, "bad_outcome")
    check({**good, "capability": "telepathy"}, "bad_capability")
    check({**good, "latencyMs": -1}, "bad_latency")
    check({**good, "latencyMs": "fast"}, "bad_latency")
    check({**good, "inputTokens": 1.5}, "bad_tokens")
    check({**good, "timestamp": "yesterday"}, "bad_timestamp")
    check({**good, "timestamp": (NOW + timedelta(hours=1)).timestamp()}, "future_timestamp")
    check({**good, "timestamp": (NOW - timedelta(days=2)).isoformat()}, "too_old")
    check({**good, "consumer": "a b"}, "bad_consumer")
    check({"outcome": "ok"}, "missing_model")
    event = build_event(
        {**good, "messages": [{"content": "dropped"}]},
        now=NOW.timestamp(),
        lookup=_lookup,
        max_age_seconds=86400,
        max_skew_seconds=300,
    )
    assert event.model == "v/a" and event.capability == "chat"


def test_a_crash_loses_at_most_the_unflushed_interval(tmp_path):
    store = LocalStore(tmp_path / "s")
    first = Rollups(store, writer="replica-1")
    for _ in range(5):
        first.add(_event())
    first.flush(now=NOW.timestamp())
    first.add(_event(outcome="timeout"))  # arrives after the last flush; then the process dies
    restarted = Rollups(store, writer="replica-2")  # a new process gets a new writer id
    restarted.add(_event(outcome="capability_error"))
    restarted.flush(now=NOW.timestamp())
    assert len(store.list(HOURLY)) == 2  # the first writer's flush is never overwritten
    loaded = load_days(store, now=NOW, days=1, max_event_age_hours=24, compact=False)
    (cells,) = loaded.days.values()
    cell = cells[("", "v/a", "tools")]
    assert cell.outcomes[:3] == [5, 1, 0] and sum(cell.outcomes) == 6  # the timeout is lost


def test_a_bad_rollup_file_is_reported_and_the_rest_still_counts(tmp_path):
    store = LocalStore(tmp_path / "s")
    rollups = Rollups(store, writer="w")
    rollups.add(_event())
    rollups.flush(now=NOW.timestamp())
    store.put(f"{HOURLY}2026113010/garbage.json", b"{not json")
    loaded = load_days(store, now=NOW, days=1, max_event_age_hours=24, compact=False)
    assert len(loaded.problems) == 1 and "garbage.json" in loaded.problems[0]
    (cells,) = loaded.days.values()
    assert cells[("", "v/a", "tools")].calls == 1


def test_closed_days_are_compacted_and_old_rollups_expire(tmp_path):
    store = LocalStore(tmp_path / "s")
    rollups = Rollups(store, writer="w")
    old_day = NOW - timedelta(days=5)
    for hour in range(3):
        rollups.add(_event(at=old_day + timedelta(hours=hour), consumer=f"c{hour}"))
    rollups.flush(now=NOW.timestamp())
    hourly_before = store.list(HOURLY)
    assert len(hourly_before) == 3
    loaded = load_days(
        store, now=NOW, days=7, max_event_age_hours=24, hourly_retention_days=2, retention_days=30
    )
    assert loaded.compacted == [f"{DAILY}20261125.parquet"]
    assert sorted(loaded.deleted) == hourly_before and store.list(HOURLY) == []
    again = load_days(store, now=NOW, days=7, max_event_age_hours=24)
    day = int(datetime(2026, 11, 25, tzinfo=UTC).timestamp())
    assert again.days[day][("", "v/a", "tools")].calls == 3  # read back from the daily file
    expired = load_days(
        store, now=NOW + timedelta(days=40), days=7, max_event_age_hours=24, retention_days=30
    )
    assert f"{DAILY}20261125.parquet" in expired.deleted and store.list(DAILY) == []


def test_hostile_consumer_names_cannot_grow_memory_without_bound(tmp_path):
    """Issue 17's bound, issue 27's reason: over HTTP the consumer is the token's identity, so
    25 self-declared names are one series; and an identity past ``max_series`` is refused."""
    config = TelemetryConfig(max_series=10)
    intake = Intake(LocalStore(tmp_path / "s"), config, lambda: _lookup, clock=NOW.timestamp)
    events = [{"model": "v/a", "outcome": "ok", "consumer": f"c{i}"} for i in range(25)]
    result = intake.submit(events, identity="gw")
    assert result.accepted == 25 and intake.rollups.series == 1
    models = [{"model": f"v/m{i}", "outcome": "ok"} for i in range(25)]
    result = intake.submit(models, identity="gw")
    assert result.accepted == 9 and result.rejected_count == 16
    assert {r["reason"] for r in result.rejected} == {"too_many_series"}
    assert intake.rollups.series == 10 and intake.stats()["rejected"] == {"too_many_series": 16}


# -- the telemetry layer on a real record -----------------------------------------------------


@pytest.fixture
def gpt4o(sync_file, store):
    assert sync_file(fixture_path("openrouter-models-2026-08-17.json")).published
    catalog = CurrentCatalog.model_validate(read_json(store, keys.CURRENT))
    record = next(m for m in catalog.models if m.id == "openai/gpt-4o")
    assert record.supports_tools and record.detection_source["supportsTools"] == "api"
    return record


RULE = TelemetryRule(min_calls=20, downgrade_above=0.5, recover_at=0.8, window_days=7)


def _verification(ok: int, failed: int, **tallies: tuple[int, int]) -> Verification:
    """The verification the daily job gives tool calls: ``ok``/``failed`` pooled, voted by
    one identity — or by each of ``tallies`` (identity → (ok, failed)) when given."""
    cell = Cell()
    cell.outcomes[0], cell.outcomes[1] = ok, failed
    votes = {"tools": tallies or {"gw": (ok, failed)}}
    return verification_for({"tools": cell}, now=NOW, config=TelemetryConfig(), tallies=votes)


def test_downgrade_holds_inside_the_hysteresis_band_and_recovers_above_it(gpt4o):
    record = gpt4o.model_copy(deep=True)
    api_evidence = record.evidence["supportsTools"]
    # 10 of 30 failing: failure bound 0.19, success bound 0.49 — nothing to act on.
    assert telemetry_layer(record, _verification(20, 10), RULE, "2026-11-01T00:00:00Z") == ([], [])
    assert record.supports_tools is True

    first = _verification(5, 35)  # failure bound 0.73 > 0.5
    conflicts, changes = telemetry_layer(record, first, RULE, "2026-11-02T00:00:00Z")
    assert (
        record.supports_tools is False and record.detection_source["supportsTools"] == "telemetry"
    )
    assert [c["change"] for c in changes] == ["downgraded"]
    assert conflicts[0]["api"] is True and conflicts[0]["telemetry"] is False

    # In the band (failure bound 0.19, success bound 0.49): stays downgraded, no change logged.
    band = _verification(20, 10)
    band.downgraded = dict(first.downgraded)
    conflicts, changes = telemetry_layer(record, band, RULE, "2026-11-03T00:00:00Z")
    assert record.supports_tools is False and changes == [] and len(conflicts) == 1
    assert "since 2026-11-02" in record.evidence["supportsTools"]

    healed = _verification(60, 2)  # success bound 0.89 >= 0.8
    healed.downgraded = dict(band.downgraded)
    conflicts, changes = telemetry_layer(record, healed, RULE, "2026-11-04T00:00:00Z")
    assert record.supports_tools is True and record.detection_source["supportsTools"] == "api"
    assert record.evidence["supportsTools"] == api_evidence
    assert [c["change"] for c in changes] == ["recovered"] and conflicts == []
    assert healed.downgraded == {}


def test_an_override_still_wins_over_telemetry(gpt4o):
    record = gpt4o.model_copy(deep=True)
    record.detection_source["supportsTools"] = "override"
    failing = _verification(0, 40)
    assert telemetry_layer(record, failing, RULE, "2026-11-02T00:00:00Z") == ([], [])
    assert record.supports_tools is True and failing.downgraded == {}


def test_too_few_calls_decide_nothing(gpt4o):
    record = gpt4o.model_copy(deep=True)
    assert telemetry_layer(record, _verification(0, 10), RULE, "2026-11-02T00:00:00Z") == ([], [])
    assert record.supports_tools is True


def test_the_yaml_export_takes_its_verification_block_from_the_record(gpt4o):
    record = gpt4o.model_copy(deep=True)
    assert registry_export.verification(record, "2026-11-30")["status"] == "unverified"
    record.verification = _verification(60, 0)
    record.verification.status = "partial"
    record.verification.verified_capabilities = ["chat", "structuredOutput"]
    record.verification.failing_capabilities = ["tools"]
    assert registry_export.verification(record, "2026-11-30") == {
        "status": "partial",
        "last_checked": "2026-11-30",
        "verified_capabilities": ["chat", "json_mode"],
        "failing_capabilities": ["tools"],
        "calls": 60,
    }


# -- probes against a local fake OpenAI-compatible chat server ---------------------------------


class FakeChat:
    """Answers /chat/completions per model: `good`, `wrong`, `slow`, `limited` or `broken`."""

    def __init__(self, behaviour: dict[str, str]) -> None:
        self.behaviour = behaviour
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.answer(self, body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, handler: Any, body: dict[str, Any]) -> None:
        mode = self.behaviour[body["model"]]
        if mode == "limited":
            return self.send(handler, 429, {"error": {"message": "rate limited"}})
        if mode == "broken":
            return self.send(handler, 500, {"error": {"message": "upstream down"}})
        if mode == "slow":
            time.sleep(1.5)
        good = mode != "wrong"
        if body.get("stream"):
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.end_headers()
            for word in ("1", "2", "3"):
                chunk = {"choices": [{"delta": {"content": word}}]}
                handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if good:
                handler.wfile.write(b"data: [DONE]\n\n")
            return None
        message: dict[str, Any] = {"role": "assistant", "content": "pong"}
        usage: dict[str, Any] = {"prompt_tokens": 20, "completion_tokens": 5}
        if "tools" in body:
            if good:
                call = {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}
                message = {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function", "function": call}]}  # fmt: skip
            else:
                message["content"] = "It is sunny in Paris."  # ignores the tool
        elif "response_format" in body:
            message["content"] = '{"answer": 5}' if good else "five"
        elif isinstance(body["messages"][0]["content"], list):
            message["content"] = "Red." if good else "I see a picture."
        elif "reasoning" in body:
            usage["completion_tokens_details"] = {"reasoning_tokens": 12 if good else 0}
        return self.send(handler, 200, {"choices": [{"message": message}], "usage": usage})

    @staticmethod
    def send(handler: Any, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


BEHAVIOUR = {
    "openai/gpt-4o": "good",
    "openai/gpt-4o-mini": "wrong",
    "openai/gpt-4.1": "slow",
    "openai/gpt-4.1-mini": "limited",
    "openai/gpt-4.1-nano": "broken",
}


@pytest.fixture
def fake_chat() -> Iterator[FakeChat]:
    server = FakeChat(BEHAVIOUR)
    yield server
    server.close()


def _rollup_rows(store: LocalStore) -> dict[tuple[str, str], list[int]]:
    rows: dict[tuple[str, str], list[int]] = {}
    for key in store.list(HOURLY):
        cells = decode_any(key, store.get(key).data)  # type: ignore[union-attr]
        for (consumer, model, capability), cell in cells.items():
            rows[(model, capability)] = cell.outcomes
            assert consumer == "probe"
    return rows


def test_probes_judge_right_wrong_slow_limited_and_broken_answers(
    sync_file, store, fake_chat, capsys
):
    assert sync_file(fixture_path("openrouter-models-2026-08-17.json")).published
    every = "chat,streaming,tools,structuredOutput,vision,reasoning"
    base = ["verify", "--store", str(store.root), "--base-url", fake_chat.url, "--timeout", "0.5"]

    # Over budget: refused before anything is sent.
    code = cli.main([*base, "openai/gpt-4o", "--capability", every, "--budget-usd", "0.0001"])
    assert code == 2 and fake_chat.requests == []
    assert "exceeds --budget-usd" in capsys.readouterr().err

    code = cli.main([*base, "openai/gpt-4o", "gpt-4o-mini", "--capability", every])
    assert code == 1  # some probe failed
    rows = _rollup_rows(store)
    for cap in every.split(","):
        assert rows[("openai/gpt-4o", cap)][0] == 1, cap  # ok
    for cap in ("tools", "structuredOutput", "vision", "reasoning", "streaming"):
        assert rows[("openai/gpt-4o-mini", cap)][1] == 1, cap  # capability_error
    assert rows[("openai/gpt-4o-mini", "chat")][0] == 1
    tools_request = next(r for r in fake_chat.requests if "tools" in r)
    assert tools_request["tool_choice"]["function"]["name"] == "get_weather"

    code = cli.main(
        [*base, "openai/gpt-4.1", "openai/gpt-4.1-mini", "openai/gpt-4.1-nano",
         "--capability", "chat"]
    )  # fmt: skip
    assert code == 1
    rows = _rollup_rows(store)
    outcomes = ("ok", "capability_error", "provider_error", "rate_limited", "timeout")
    found = {m: outcomes[rows[(m, "chat")].index(1)] for m in BEHAVIOUR if (m, "chat") in rows}
    assert found == {
        "openai/gpt-4o": "ok",
        "openai/gpt-4o-mini": "ok",
        "openai/gpt-4.1": "timeout",
        "openai/gpt-4.1-mini": "rate_limited",
        "openai/gpt-4.1-nano": "provider_error",
    }
    out = capsys.readouterr().out
    assert "recorded as telemetry (consumer `probe`)" in out

    assert cli.main(["telemetry", "--store", str(store.root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    probe_rows = [r for r in report["received"] if r["consumer"] == "probe"]
    assert len(probe_rows) == 5 and report["rejected"] == {}


def test_syncmodels_verify_without_a_key_for_openrouter_is_a_usage_error(sync_file, store, capsys):
    assert sync_file(fixture_path("openrouter-models-2026-08-17.json")).published
    code = cli.syncmodels_main(["verify", "openai/gpt-4o", "--store", str(store.root)])
    assert code == 2 and "OPENROUTER_API_KEY" in capsys.readouterr().err


def test_the_documented_mapping_table_is_the_code_one():
    from conftest import REPO

    text = (REPO / "docs" / "telemetry.md").read_text()
    for attribute, meaning in otel.MAPPING:
        assert f"| {attribute} | {meaning} |" in text, attribute


def test_windows_count_whole_utc_days_including_today(tmp_path):
    from pipeline.telemetry.verify import aggregate

    store = LocalStore(tmp_path / "s")
    rollups = Rollups(store, writer="w")
    for back, outcome in ((0, "ok"), (3, "ok"), (6, "capability_error"), (10, "ok"), (40, "ok")):
        rollups.add(_event(at=NOW - timedelta(days=back), outcome=outcome))
    rollups.flush(now=NOW.timestamp())
    loaded = load_days(store, now=NOW, days=30, max_event_age_hours=24)
    config = TelemetryConfig()
    document = aggregate(loaded, now=NOW, run_id="r", config=config, known=["v/a"]).document
    (model,) = document.models
    assert model.windows["7d"].capabilities["tools"].outcomes == {"ok": 2, "capability_error": 1}
    assert model.windows["30d"].total.calls == 4  # the 40-day-old call is outside
    assert document.verification_window == "7d" and document.count == 1


def test_the_intake_is_closed_without_a_token_and_an_idle_one_writes_nothing(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from pipeline.registry.core import Registry
    from pipeline.service.app import create_app

    monkeypatch.delenv("CATALOG_TELEMETRY_TOKEN", raising=False)
    store = LocalStore(tmp_path / "s")
    app = create_app(Registry(store), refresh_seconds=0)
    with TestClient(app) as client:
        answer = client.post("/api/telemetry", json={"model": "x", "outcome": "ok"})
        assert answer.status_code == 403 and "CATALOG_TELEMETRY_TOKEN" in answer.text
        assert client.post("/v1/traces", content=b"").status_code == 403
    # The refusals are counted in memory; nothing reached the store (a read-only reader stays
    # read-only unless events arrive).
    assert store.list(HOURLY) == []
