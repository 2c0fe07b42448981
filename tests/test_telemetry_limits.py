"""The telemetry intake under hostile insiders (issue 27): every limit is per identity, nothing
unauthenticated is parsed or written, and no input makes memory or a file grow without bound.

Each test reproduces one finding of the issue against the real intake (the service in process
over a catalog synced from a recorded payload, or ``Intake`` itself with a fake clock)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import fixture_path
from fastapi.testclient import TestClient

from pipeline.config import TelemetryConfig
from pipeline.publishing.store import LocalStore
from pipeline.registry.core import Registry
from pipeline.service.app import create_app
from pipeline.telemetry import events as events_module
from pipeline.telemetry.events import CatalogLookup, Rejected, build_event
from pipeline.telemetry.intake import Intake
from pipeline.telemetry.rollup import HOURLY, INTAKE, decode_any
from pipeline.timeutil import utcnow

PAYLOAD = "openrouter-models-2026-08-19.json"
EU, US, BAD = "eu-token-0123456789abcdef", "us-token-0123456789abcdef", "bad-token-0123456789abc"
TOKENS = f"gw-eu={EU},gw-us={US},gw-bad={BAD}"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def serve(sync_file, store, tmp_path, monkeypatch) -> Iterator[Callable[..., TestClient]]:
    """The service in process over a catalog synced now, with three telemetry identities;
    ``telemetry:`` settings from keyword arguments."""
    assert sync_file(fixture_path(PAYLOAD), now=utcnow()).published
    monkeypatch.delenv("CATALOG_TELEMETRY_TOKEN", raising=False)
    monkeypatch.setenv("CATALOG_TELEMETRY_TOKENS", TOKENS)
    opened: list[TestClient] = []

    def start(**settings: Any) -> TestClient:
        config = tmp_path / "catalog.yaml"
        lines = ["telemetry:", "  flush_seconds: 3600"]
        lines += [f"  {key}: {value}" for key, value in settings.items()]
        config.write_text("\n".join(lines) + "\n")
        app = create_app(Registry(store), refresh_seconds=0, config_path=str(config))
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return client

    yield start
    for client in opened:
        client.__exit__(None, None, None)


def tools(outcome: str, model: str = "openai/gpt-4o", **extra: Any) -> dict[str, Any]:
    return {"model": model, "capability": "tools", "outcome": outcome, **extra}


# -- identity: the token says who sent it ------------------------------------------------------


def test_the_consumer_is_the_tokens_identity_whatever_the_event_claims(serve):
    client = serve()
    claims = [tools("ok", consumer="gw-eu"), tools("ok", consumer="gw-us"), tools("ok")]
    answer = client.post("/api/telemetry", json=claims, headers=auth(BAD))
    assert answer.status_code == 202 and answer.json()["consumer"] == "gw-bad"
    stats = client.get("/api/telemetry/stats", headers=auth(EU)).json()
    assert stats["byConsumer"] == {"gw-bad": 3}  # the claimed names got nothing
    rows = client.app.state.telemetry.rollups.snapshot()  # type: ignore[attr-defined]
    assert {key[0] for cells in rows.values() for key in cells} == {"gw-bad"}


def test_each_identity_has_its_own_rate_limit_and_empty_requests_count(serve):
    client = serve(rate_per_second=1, burst=5)
    assert (
        client.post("/api/telemetry", json=[tools("ok")] * 5, headers=auth(BAD)).status_code == 202
    )
    # Requests without a single event used to skip the bucket: each costs one now.
    empty = client.post("/api/telemetry", json=[], headers=auth(BAD))
    assert empty.status_code == 429 and "gw-bad" in empty.json()["detail"]
    assert int(empty.headers["Retry-After"]) >= 1
    # The other identities keep their own bucket.
    assert (
        client.post("/api/telemetry", json=[tools("ok")] * 5, headers=auth(EU)).status_code == 202
    )
    assert client.post("/api/telemetry", json=[], headers=auth(US)).status_code == 202


# -- series: per identity, open hours only, with a true "until" ---------------------------------


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


def _intake(tmp_path: Path, clock: Clock, **settings: Any) -> Intake:
    known = {f"v/m{i}" for i in range(100)}
    config = TelemetryConfig(flush_seconds=10, **settings)
    return Intake(
        LocalStore(tmp_path / "s"),
        config,
        lambda: lambda ref, provider: ref if ref in known else None,
        clock=clock,
        writer="w",
    )


def test_a_capped_identity_is_told_until_when_and_the_others_are_unaffected(tmp_path):
    clock = Clock(datetime(2026, 11, 30, 10, 30, tzinfo=UTC))
    intake = _intake(tmp_path, clock, max_series=10)
    hour_ago = clock.now - 3600
    late = [{"model": f"v/m{i}", "outcome": "ok", "timestamp": hour_ago} for i in range(6)]
    now = [{"model": f"v/m{i}", "outcome": "ok"} for i in range(10, 20)]
    result = intake.submit(late + now, identity="gw-bad")
    assert result.accepted == 10 and result.rejected_count == 6
    (first, *_) = result.rejected
    # Six of its cells are in a closed hour: the next flush (10 s) frees them.
    assert first["reason"] == "too_many_series"
    assert "until 2026-11-30T10:30:10Z" in first["detail"]
    assert intake.submit([{"model": "v/m0", "outcome": "ok"}], identity="gw-eu").accepted == 1

    # The flush forgets the closed hour: its cells are in the store, they count no more.
    clock.now += 10
    intake.flush()
    assert intake.rollups.series_of("gw-bad") == 4
    assert intake.submit(now[:6], identity="gw-bad").rejected_count == 0  # 4 held, 2 new
    more = [{"model": f"v/m{i}", "outcome": "ok"} for i in range(30, 40)]
    capped = intake.submit(more, identity="gw-bad")
    assert capped.accepted == 4 and capped.rejected_count == 6
    # Only current-hour cells now: room comes with the flush after the hour ends.
    assert "until 2026-11-30T11:00:10Z" in capped.rejected[0]["detail"]


def test_late_events_for_a_forgotten_hour_are_merged_not_lost(tmp_path):
    clock = Clock(datetime(2026, 11, 30, 10, 30, tzinfo=UTC))
    intake = _intake(tmp_path, clock)
    earlier = clock.now - 3600
    intake.submit([{"model": "v/m1", "outcome": "ok", "timestamp": earlier}] * 3, identity="a")
    intake.flush()
    assert intake.rollups.series_of("a") == 0  # forgotten once flushed
    intake.submit([{"model": "v/m1", "outcome": "timeout", "timestamp": earlier}], identity="a")
    (key,) = intake.flush()
    stored = decode_any(key, intake.rollups.store.get(key).data)  # type: ignore[union-attr]
    assert {k: c.outcomes for k, c in stored.items()} == {("a", "v/m1", "chat"): [3, 0, 0, 0, 1, 0]}


def test_one_identitys_flood_rewrites_only_its_own_files(tmp_path):
    clock = Clock(datetime(2026, 11, 30, 10, 30, tzinfo=UTC))
    intake = _intake(tmp_path, clock, max_series=1000)
    intake.submit([{"model": "v/m1", "outcome": "ok"}], identity="gw-eu")
    first = intake.flush()
    flood = [{"model": f"v/m{i}", "outcome": "ok"} for i in range(100)]
    for _ in range(3):
        intake.submit(flood, identity="gw-bad")
        written = intake.flush()
        assert written == [f"{HOURLY}2026113010/gw-bad/w.parquet"]
    assert first == [f"{HOURLY}2026113010/gw-eu/w.parquet"]


# -- the model lookup memo: hits only, bounded; string lengths capped ---------------------------


def test_the_lookup_memo_keeps_hits_only_and_stays_bounded(sync_file, store, monkeypatch):
    assert sync_file(fixture_path(PAYLOAD)).published
    registry = Registry(store)
    registry.refresh()
    snap = registry.snapshot
    lookup = CatalogLookup(snap.resolve, snap.models)
    for i in range(2_000):  # the 7,600 rejected events kept every miss
        assert lookup(f"nobody/model-{i}", "p" * 60) is None
    assert len(lookup._memo) == 0
    monkeypatch.setattr(events_module, "MEMO_ENTRIES", 50)
    ids = [m["id"] for m in snap.models][:200]
    for model_id in ids:
        assert lookup(model_id, None) == model_id
    assert len(lookup._memo) == 50


def test_every_string_that_becomes_a_key_is_length_capped():
    def check(raw: dict[str, Any], reason: str, **kw: Any) -> None:
        with pytest.raises(Rejected) as caught:
            build_event(
                raw,
                now=0.0,
                lookup=lambda ref, provider: ref,
                max_age_seconds=86400,
                max_skew_seconds=300,
                **kw,
            )
        assert caught.value.reason == reason, caught.value

    good = {"model": "v/a", "outcome": "ok", "consumer": "c"}
    check({**good, "provider": "p" * 65}, "bad_provider")
    check({**good, "provider": ["openai"]}, "bad_provider")
    check({**good, "model": "m" * 201}, "unknown_model")
    check({**good, "consumer": "c" * 65}, "bad_consumer")
    check({**good, "consumer": "billing-bot\n"}, "bad_consumer")  # `$` matched before "\n"
    check({**good, "capability": "x" * 10_000}, "bad_capability")
    check({**good, "outcome": ["ok"]}, "bad_outcome")  # unhashable: a 500 before
    check({**good, "latencyMs": 10**400}, "bad_latency")  # float() overflowed: a 500 before
    check({**good, "timestamp": 10**400}, "bad_timestamp")


# -- bodies: deep JSON, NDJSON per line, OTLP attribute strings ---------------------------------


def test_deep_json_is_a_400_not_a_500(serve):
    client = serve()
    deep = b"[" * 100_000 + b"]" * 100_000
    for path, media in (("/api/telemetry", "application/json"), ("/v1/traces", "application/json")):
        answer = client.post(path, content=deep, headers={**auth(EU), "Content-Type": media})
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["reason"] == "invalid_json" and "deeper than" in answer.text


def test_one_bad_ndjson_line_rejects_only_that_line(serve):
    client = serve()
    lines = [
        json.dumps(tools("ok")).encode(),
        b"[" * 5_000 + b"]" * 5_000,  # a RecursionError sank the batch before
        b"{not json",
        json.dumps(tools("ok", latencyMs=10**400)).encode(),  # an OverflowError did
        json.dumps(tools("capability_error")).encode(),
    ]
    answer = client.post(
        "/api/telemetry",
        content=gzip.compress(b"\n".join(lines)),
        headers={
            **auth(EU),
            "Content-Type": "application/x-ndjson",
            "Content-Encoding": "gzip",
        },
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [
        (1, "invalid_json"),
        (2, "invalid_json"),
        (3, "bad_latency"),
    ]


def _otlp(operation: str, spans: int) -> dict[str, Any]:
    span = {
        "traceId": "0" * 31 + "1",
        "spanId": "0" * 15 + "1",
        "name": "x",
        "startTimeUnixNano": "1",
        "endTimeUnixNano": "2",
        "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": operation}}],
    }
    return {"resourceSpans": [{"scopeSpans": [{"spans": [span] * spans}]}]}


def test_otlp_attribute_strings_are_capped_before_they_are_kept(serve, store):
    client = serve(max_body_bytes=4_000_000)
    for index in range(3):
        name = f"{index}" + "x" * 1_000_000  # a 1 MB gen_ai.operation.name
        answer = client.post("/v1/traces", json=_otlp(name, 1), headers=auth(EU))
        assert answer.status_code == 200, answer.text
    ignored = client.get("/api/telemetry/stats", headers=auth(EU)).json()["ignoredSpans"]
    assert len(ignored) == 3 and all(len(key) <= 64 for key in ignored)
    client.app.state.telemetry.flush()  # type: ignore[attr-defined]
    (key,) = store.list(INTAKE)
    assert len(store.get(key).data) < 4_000  # was 1 MB per span, rewritten on every change


# -- nothing unauthenticated is parsed or written -----------------------------------------------


def test_a_read_only_replica_writes_nothing_on_unauthenticated_posts(serve, store, monkeypatch):
    client = serve()
    for headers in ({}, auth("wrong-token-0123456789")):
        answer = client.post("/api/telemetry", content=b"[" * 1000, headers=headers)
        assert answer.status_code == 401
    client.app.state.telemetry.flush()  # type: ignore[attr-defined]
    monkeypatch.delenv("CATALOG_TELEMETRY_TOKENS")
    closed = serve()
    assert closed.post("/api/telemetry", json=[tools("ok")]).status_code == 403
    closed.app.state.telemetry.flush()  # type: ignore[attr-defined]
    assert store.list(INTAKE) == [] and store.list(HOURLY) == []
