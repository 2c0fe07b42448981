"""One identity, one vote (issue 27): a published flag changes only when a strict majority of
the identities that called the capability enough agree, or the operator's probe decides where
they reach no majority. The acceptance scenarios run through the service's intake and the
daily curated refresh, on a catalog synced from a recorded payload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest import fixture_path, read_json
from fastapi.testclient import TestClient

from pipeline import cli
from pipeline.config import TelemetryConfig
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.registry.core import Registry
from pipeline.service.app import create_app
from pipeline.telemetry.events import PROBE_IDENTITY
from pipeline.telemetry.intake import Intake
from pipeline.telemetry.votes import FAILS, UNDECIDED, WORKS, decide
from pipeline.timeutil import iso, utcnow

PAYLOAD = "openrouter-models-2026-08-17.json"
MODEL = "openai/gpt-4o"  # supportsTools true by the API
TOKENS = {
    "gw-eu": "eu-token-0123456789abcdef",
    "gw-us": "us-token-0123456789abcdef",
    "gw-bad": "bad-token-0123456789abcde",
}


@pytest.mark.parametrize(
    ("tallies", "verdict", "by"),
    [
        ({"a": (0, 25)}, FAILS, "majority"),  # one identity decides as before identities
        ({"a": (25, 0)}, WORKS, "majority"),
        ({"a": (0, 25), "b": (0, 25), "c": (25, 0)}, FAILS, "majority"),  # 2 of 3
        ({"a": (0, 500), "b": (25, 0), "c": (25, 0)}, WORKS, "majority"),  # volume is no vote
        ({"a": (0, 25), "b": (25, 0)}, None, None),  # a tie decides nothing
        ({"a": (0, 25), "b": (25, 0), PROBE_IDENTITY: (0, 1)}, FAILS, "probe"),
        ({"a": (0, 25), "b": (25, 0), "c": (25, 0), PROBE_IDENTITY: (0, 3)}, WORKS, "majority"),
        ({"a": (0, 19), "b": (0, 19), "c": (0, 19)}, None, None),  # each below min_calls
        ({"a": (20, 10)}, None, None),  # the hysteresis band: undecided
    ],
)
def test_the_votes(tallies, verdict, by):
    decision = decide(tallies, TelemetryConfig(min_calls=20))
    assert (decision.verdict, decision.by) == (verdict, by), decision.explain()


def test_an_undecided_vote_is_shown_and_below_min_is_not_a_vote():
    decision = decide({"a": (20, 10), "b": (3, 3)}, TelemetryConfig(min_calls=20))
    assert [(v.identity, v.says) for v in decision.votes] == [("a", UNDECIDED)]
    assert decision.below_min == ("b",)
    assert "no verdict" in decision.explain()


@pytest.fixture
def gateways(sync_file, store, monkeypatch) -> Iterator[TestClient]:
    """The service in process with three telemetry identities, over a fresh catalog."""
    assert sync_file(fixture_path(PAYLOAD), now=utcnow() - timedelta(minutes=5)).published
    monkeypatch.delenv("CATALOG_TELEMETRY_TOKEN", raising=False)
    monkeypatch.setenv("CATALOG_TELEMETRY_TOKENS", ",".join(f"{k}={v}" for k, v in TOKENS.items()))
    with TestClient(create_app(Registry(store), refresh_seconds=0)) as client:
        yield client


def _send(client: TestClient, identity: str, outcome: str, count: int, **extra: Any) -> None:
    events = [{"model": MODEL, "capability": "tools", "outcome": outcome, **extra}] * count
    answer = client.post(
        "/api/telemetry", json=events, headers={"Authorization": f"Bearer {TOKENS[identity]}"}
    )
    assert answer.status_code == 202 and answer.json()["consumer"] == identity, answer.text


def _curated(store: LocalStore, client: TestClient | None, when: str) -> dict[str, Any]:
    if client is not None:
        client.app.state.telemetry.flush()  # type: ignore[attr-defined]
    assert cli.main(["sync", "curated", "--store", str(store.root), "--now", when, "-q"]) == 0
    return next(m for m in read_json(store, keys.CURRENT)["models"] if m["id"] == MODEL)


def _probe(store: LocalStore, client: TestClient, outcome: str, at: datetime) -> None:
    """What `syncmodels verify` records: one probe call, identity `probe`."""
    lookup = client.app.state.telemetry.lookup  # type: ignore[attr-defined]
    writer = f"probe-{int(at.timestamp())}"
    probe = Intake(store, TelemetryConfig(), lookup, writer=writer, clock=at.timestamp)
    event = {"model": MODEL, "capability": "tools", "outcome": outcome}
    assert probe.submit([event], identity=PROBE_IDENTITY).accepted == 1
    probe.flush()


def _changes(store: LocalStore) -> list[dict[str, Any]]:
    curated = read_json(store, keys.CURATED)
    report = read_json(store, keys.run_report(curated["runId"]))
    return list(report["details"]["changelog"].get("telemetry", []))


def test_one_flooding_identity_cannot_outvote_two_that_see_tools_work(gateways, store):
    _send(gateways, "gw-eu", "ok", 25)
    _send(gateways, "gw-us", "ok", 25)
    # 500 failures from one identity, half of them claiming to be the others.
    for claimed in ("gw-eu", "gw-us"):
        _send(gateways, "gw-bad", "capability_error", 250, consumer=claimed)
    record = _curated(store, gateways, iso(utcnow() + timedelta(minutes=30)))
    assert record["supportsTools"] is True
    assert record["detectionSource"]["supportsTools"] == "api"
    tools = record["verification"]["capabilities"]["tools"]
    assert tools["votes"] == {"gw-bad": "fails", "gw-eu": "works", "gw-us": "works"}
    assert tools["calls"] == 550 and tools["ok"] == 50  # the figures stay pooled
    assert "tools" in record["verification"]["verifiedCapabilities"]
    assert "tools" not in record["verification"]["failingCapabilities"]
    assert _changes(store) == []


def test_three_identities_that_all_fail_still_downgrade_and_are_named(gateways, store):
    for identity in TOKENS:
        _send(gateways, identity, "capability_error", 25)
    day = utcnow() + timedelta(minutes=30)
    record = _curated(store, gateways, iso(day))
    assert record["supportsTools"] is False
    assert record["detectionSource"]["supportsTools"] == "telemetry"
    assert "fails: gw-bad, gw-eu, gw-us" in record["evidence"]["supportsTools"]
    (change,) = _changes(store)
    assert change["change"] == "downgraded"
    assert change["identities"] == ["gw-bad", "gw-eu", "gw-us"]

    # The operator's probe passing does not overrule the majority...
    _probe(store, gateways, "ok", day)
    record = _curated(store, None, iso(day + timedelta(minutes=5)))
    assert record["supportsTools"] is False
    assert record["verification"]["capabilities"]["tools"]["probe"] == "works"

    # ...but a week later, with no identity calling it (they stopped because of the
    # downgrade), a passing probe brings it back.
    later = day + timedelta(days=8)
    _probe(store, gateways, "ok", later)
    record = _curated(store, None, iso(later + timedelta(minutes=1)))
    assert record["supportsTools"] is True
    (change,) = _changes(store)
    assert change["change"] == "recovered" and change["identities"] == ["probe"]


def test_catalog_telemetry_shows_the_votes(gateways, store, capsys):
    _send(gateways, "gw-eu", "ok", 25)
    _send(gateways, "gw-bad", "capability_error", 30)
    gateways.app.state.telemetry.flush()  # type: ignore[attr-defined]
    capsys.readouterr()
    assert cli.main(["telemetry", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if MODEL in x and "tools" in x and "votes" not in x)
    assert "gw-bad fails" in line and "gw-eu works" in line and "no verdict" in line
    assert cli.main(["telemetry", "--store", str(store.root), "--json"]) == 0
    votes = json.loads(capsys.readouterr().out)["votes"]
    (entry,) = [v for v in votes if v["model"] == MODEL and v["capability"] == "tools"]
    assert entry["votes"] == {"gw-bad": "fails", "gw-eu": "works"} and entry["verdict"] is None


def test_daily_files_keep_who_called_and_old_rollups_count_as_one_identity(tmp_path):
    from datetime import UTC
    from datetime import datetime as dt

    from pipeline.telemetry.compaction import load_days
    from pipeline.telemetry.rollup import DAILY, HOURLY, Cell, encode
    from pipeline.telemetry.verify import window_tallies

    now = dt(2026, 11, 30, 10, tzinfo=UTC)
    store = LocalStore(tmp_path / "s")
    old = dt(2026, 11, 27, 9, tzinfo=UTC)  # a closed day: compacted by the load below
    intake = Intake(store, TelemetryConfig(), lambda: lambda ref, p: ref, clock=old.timestamp)
    for identity, outcome in (("gw-eu", "ok"), ("gw-us", "capability_error")):
        events = [{"model": "v/a", "capability": "tools", "outcome": outcome}] * 21
        assert intake.submit(events, identity=identity).accepted == 21
    intake.flush()
    # A file written before identities: thirty self-declared consumers on one shared token.
    cells = {}
    for i in range(30):
        cell = Cell()
        cell.outcomes[1] = 25
        cells[(f"consumer-{i}", "v/a", "tools")] = cell
    store.put(f"{HOURLY}2026113008/old-writer.json", encode("hourly", "2026113008", "w", cells))

    loaded = load_days(store, now=now, days=7, max_event_age_hours=24)
    assert loaded.compacted == [f"{DAILY}20261127.parquet"]
    again = load_days(store, now=now, days=7, max_event_age_hours=24)  # from the daily file
    first = int(dt(2026, 11, 24, tzinfo=UTC).timestamp())
    tallies = window_tallies(again.judged, first)["v/a"]["tools"]
    assert tallies == {"gw-eu": (21, 0), "gw-us": (0, 21), "": (0, 750)}
    decision = decide(tallies, TelemetryConfig())
    assert len(decision.votes) == 3 and decision.verdict == FAILS  # 2 of 3, not 31 of 32
