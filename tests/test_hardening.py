"""Fault injection (issue 12): each reproduced defect as a test, bounded in time.

Hostile upstream bodies are served by a real HTTP server on 127.0.0.1 to ``catalog sync`` in a
subprocess whose peak RSS is read back; secrets are injected into every failure path and every
byte written (store, stdout, stderr, logs, HTTP answers) is searched for them.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import simplejson
from conftest import fixture_path, read_json
from hostile import (
    GARBAGE_EXPIRY_LOCK,
    Answer,
    HostileUpstream,
    deep,
    endless,
    many_items,
    reader_flood,
    run_cli,
    store_bytes,
    write_config,
)

from pipeline.config import CatalogConfig, ConfigError, load_config
from pipeline.logs import formatters, redact
from pipeline.overrides.files import OverrideError, load_overrides
from pipeline.overrides.patterns import PatternError, backtrack_risk, compile_pattern
from pipeline.publishing import keys, lease
from pipeline.publishing.jsonio import nesting_exceeds
from pipeline.publishing.store import LocalStore
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.service import admin
from pipeline.stages.aliases import alias_base
from pipeline.stages.capabilities import HEURISTICS
from pipeline.timeutil import parse_iso

pytestmark = pytest.mark.timeout(300)

PAYLOAD = "openrouter-models-2026-08-17.json"
NOW = "2026-08-19T06:30:00Z"
KEY = "sk-or-v1-" + "0123456789abcdef" * 4
MEMORY_LIMIT_MB = 512


@pytest.fixture(autouse=True)
def _fresh_secrets() -> Any:
    redact.forget_all()
    yield
    redact.forget_all()


def _grep(blobs: dict[str, bytes], *needles: str) -> list[str]:
    """Where any form of a needle occurs."""
    found = []
    for name, data in blobs.items():
        for needle in needles:
            core = needle.strip()
            if core and core.encode() in data:
                found.append(f"{name} contains {core[:12]}…")
    return found


def _sync_cli(store: Path, config: Path, *extra: str, env: dict[str, str] | None = None) -> Any:
    return run_cli(
        [
            "sync",
            "openrouter",
            "--store",
            str(store),
            "--config",
            str(config),
            "--now",
            NOW,
            *extra,
        ],
        env=env,
    )


# -- 1. secrets never leave ---------------------------------------------------------------


def test_key_ending_in_newline_is_stripped_sent_and_never_written(tmp_path):
    body = fixture_path(PAYLOAD).read_bytes()
    with HostileUpstream() as up:
        up.answer = Answer(body=body)
        config = write_config(tmp_path / "c.yaml", up.url)
        run = _sync_cli(tmp_path / "store", config, env={"OPENROUTER_API_KEY": KEY + "\n"})
        assert up.auth == [f"Bearer {KEY}"]
    assert run.code == 0, run.stderr
    leaks = _grep({"stdout": run.stdout.encode(), "stderr": run.stderr.encode()}, KEY)
    leaks += _grep(store_bytes(tmp_path / "store"), KEY)
    assert leaks == []


def test_key_with_a_control_character_is_an_error_naming_the_variable_not_the_value(tmp_path):
    bad = KEY[:20] + "\x01" + KEY[20:]
    with HostileUpstream() as up:
        up.answer = Answer(body=fixture_path(PAYLOAD).read_bytes())
        config = write_config(tmp_path / "c.yaml", up.url)
        run = _sync_cli(tmp_path / "store", config, env={"OPENROUTER_API_KEY": bad})
        assert up.auth == []  # never sent
    written = store_bytes(tmp_path / "store")
    status = json.loads(written[keys.STATUS])
    error = status["jobs"]["openrouter"]["error"]
    assert "OPENROUTER_API_KEY" in error and "control character" in error
    # A fresh store still gets the embedded catalog, which says why.
    current = json.loads(written["models/openrouter/current.json"])
    assert "OPENROUTER_API_KEY" in current["degradedReason"]
    everything = {**written, "stdout": run.stdout.encode(), "stderr": run.stderr.encode()}
    assert _grep(everything, KEY[:20], KEY[21:], bad) == []


def _echoing_transport(secret: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        # What httpx itself does with a bad header value: quote it in the exception.
        raise httpx.LocalProtocolError(f"Illegal header value b'Bearer {secret}'")

    return httpx.MockTransport(handler)


def test_a_secret_quoted_by_a_failure_is_scrubbed_from_every_channel(
    store, monkeypatch, caplog, capsys
):
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    result = sync_openrouter(
        store,
        CatalogConfig(),
        SyncRequest(now=parse_iso(NOW)),
        transport=_echoing_transport(KEY),
        sleep=lambda _: None,
    )
    assert result.outcome == "degraded"
    assert "[REDACTED]" in (result.error or "")
    formatted = [formatters.JsonFormatter().format(r) for r in caplog.records]
    formatted += [formatters.HumanFormatter().format(r) for r in caplog.records]
    channels = {
        **store_bytes(Path(store.root)),
        "logs": "\n".join(formatted).encode(),
        "summary": result.summary.encode(),
        "captured": "".join(capsys.readouterr()).encode(),
    }
    assert _grep(channels, KEY) == []
    assert b"[REDACTED]" in channels[keys.STATUS]


def test_key_shaped_tokens_are_scrubbed_even_when_not_configured():
    text = "failed: Authorization: Bearer abcdefghijklmnop1234 and AIzaSyA" + "x" * 33
    scrubbed = redact.redact(text)
    assert "abcdefghijklmnop1234" not in scrubbed and "AIzaSy" not in scrubbed
    # Ordinary words next to "bearer" are left alone.
    assert redact.redact("missing or wrong bearer token") == "missing or wrong bearer token"


def test_a_provider_key_with_a_control_character_fails_that_source_by_name(tmp_path):
    from pipeline.runs.providers import ProvidersRequest, sync_providers
    from pipeline.sources.registry import INSTANCE_ONLY, SOURCE_TYPES

    bad = "gsk_" + "A1b2C3d4" * 4 + "\n\x07x"
    store = LocalStore(tmp_path / "store")
    sources: dict[str, Any] = {
        n: {"enabled": False} for n in SOURCE_TYPES if n not in INSTANCE_ONLY
    }
    sources["groq"] = {"enabled": True, "base_url": "http://127.0.0.1:9/openai/v1"}
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    result = sync_providers(
        store,
        CatalogConfig(extra={"sources": sources}),
        ProvidersRequest(now=parse_iso(NOW), only=["groq"]),
        env={"GROQ_API_KEY": bad},
        transport=httpx.MockTransport(answer),
        sleep=lambda _: None,
    )
    reason = result.results["groq"].reason or ""
    assert "GROQ_API_KEY" in reason and "control character" in reason
    assert seen == []  # never sent
    assert _grep(store_bytes(tmp_path / "store"), bad, "A1b2C3d4" * 4) == []


def test_http_error_bodies_are_scrubbed(sync_file, store):
    from fastapi.testclient import TestClient

    from pipeline.registry import Registry
    from pipeline.service.app import create_app

    sync_file(fixture_path(PAYLOAD))
    token = "admin-" + "9" * 30
    redact.remember(KEY)
    app = create_app(Registry(store), admin_token=token, refresh_seconds=0)
    with TestClient(app) as client:
        # The 404 detail echoes the run id a client sent: a secret in it is not echoed.
        answer = client.get(
            f"/api/admin/models/runs/{KEY}", headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 404
    assert KEY not in answer.text and "[REDACTED]" in answer.text


# -- 2/3. bounded memory and time against hostile bodies ----------------------------------


def _hostile_run(tmp_path: Path, answer: Answer, **limits: Any) -> Any:
    with HostileUpstream() as up:
        up.answer = answer
        config = write_config(tmp_path / "c.yaml", up.url, **limits)
        return _sync_cli(tmp_path / "store", config)


def _status(tmp_path: Path) -> dict[str, Any]:
    return dict(json.loads((tmp_path / "store" / keys.STATUS).read_bytes())["jobs"]["openrouter"])


def test_a_million_items_stay_bounded_and_the_quarantine_is_capped(tmp_path):
    run = _hostile_run(tmp_path, Answer(body=many_items(1_000_000)))
    assert run.peak_rss_mb < MEMORY_LIMIT_MB, run.peak_rss_mb
    status = _status(tmp_path)
    assert status["outcome"] == "guarded"  # nothing usable: the publish guard objects
    assert status["counts"]["quarantined"] == 1_000_000
    report = json.loads((tmp_path / "store" / keys.run_report(status["runId"])).read_bytes())
    assert len(report["quarantined"]) == CatalogConfig().openrouter.max_quarantined
    assert (tmp_path / "store" / keys.run_report(status["runId"])).stat().st_size < 1_000_000


def test_more_items_than_the_limit_are_refused_as_a_whole(tmp_path):
    run = _hostile_run(tmp_path, Answer(body=many_items(5000)), max_items=1000)
    assert run.code == 0  # fresh store: the embedded catalog
    assert "more than 1000 entries" in _status(tmp_path)["error"]


@pytest.mark.parametrize("levels", [100, 100_000])
def test_deep_nesting_is_refused_before_parsing(tmp_path, levels):
    run = _hostile_run(tmp_path, Answer(body=deep(levels)))
    assert run.peak_rss_mb < MEMORY_LIMIT_MB
    assert "nests deeper than 64 levels" in _status(tmp_path)["error"]


def test_an_unclosed_deep_body_is_refused_too(tmp_path):
    run = _hostile_run(tmp_path, Answer(body=b'{"data": ' + b"[" * 200_000))
    assert run.peak_rss_mb < MEMORY_LIMIT_MB
    assert "nests deeper" in _status(tmp_path)["error"]


def test_a_body_over_the_size_limit_is_refused_while_streaming(tmp_path):
    # 80 MB without Content-Length against the default 64 MB limit.
    run = _hostile_run(tmp_path, Answer(body=endless(80 << 20)))
    assert run.peak_rss_mb < MEMORY_LIMIT_MB, run.peak_rss_mb
    assert "over the 67108864-byte limit" in _status(tmp_path)["error"]


def test_a_declared_oversized_body_is_refused_before_reading(tmp_path):
    run = _hostile_run(tmp_path, Answer(body=b"[" + b" " * 4096 + b"]"), max_body_bytes=2048)
    assert "4098 bytes, over the 2048-byte limit" in _status(tmp_path)["error"]
    assert run.code == 0


def test_a_trickling_body_hits_the_fetch_deadline(tmp_path):
    body = fixture_path(PAYLOAD).read_bytes()[:2000]
    run = _hostile_run(tmp_path, Answer(body=body, delay_per_chunk=0.2), fetch_deadline_seconds=2.0)
    assert run.seconds < 30
    assert "deadline" in _status(tmp_path)["error"]


# -- 4. values, not verdicts --------------------------------------------------------------


def _payload_with(tmp_path: Path, records: list[dict[str, Any]], raw_tail: str = "") -> Path:
    document = simplejson.loads(fixture_path(PAYLOAD).read_bytes())
    document["data"][: len(records)] = [*records, {"id": "TAIL"}] if raw_tail else records
    text = simplejson.dumps(document)
    if raw_tail:  # numbers no JSON library writes on its own
        text = text.replace('{"id": "TAIL"}', raw_tail, 1)
    path = tmp_path / "payload.json"
    path.write_text(text, encoding="utf-8")
    return path


def _record(model_id: str, **pricing: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "name": model_id,
        "context_length": 8192,
        "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
        "pricing": {"prompt": "0.000001", "completion": "0.000002", **pricing},
        "top_provider": {},
    }


def test_bad_values_quarantine_their_record_and_the_run_goes_on(tmp_path, sync_file, store):
    records = [
        _record("evil/huge-price", prompt="1e22"),
        _record("evil/negative", prompt="-5"),
        _record("evil/nan", prompt="NaN"),
        _record("evil/minus-zero", prompt="-0", completion="-0.0"),
        _record("evil/tiny", prompt="1e-400"),
    ]
    tail = (
        '{"id": "evil/bigint", "context_length": 99999999999999999999999, "pricing": {}},'
        '{"id": "evil/overflow", "created": 1e400, "pricing": {}},'
        '{"id": "evil/expiry", "expiration_date": "garbage", "pricing": {}},'
        '{"id": "evil/ok-after-bigint", "context_length": 4096, "pricing": {"prompt": 2e-7}}'
    )
    result = sync_file(_payload_with(tmp_path, records, tail), now=NOW)
    assert result.published, result.error
    reasons = {q.id: q.reason for q in result.report.quarantined}
    assert "out of range" in reasons["evil/huge-price"]
    assert "negative" in reasons["evil/negative"]
    assert "finite" in reasons["evil/nan"]
    assert "out of range" in reasons["evil/tiny"]
    assert "context_length is out of range" in reasons["evil/bigint"]
    assert "evil/overflow" in reasons
    assert "expiration_date" in reasons["evil/expiry"]
    current = read_json(store, "models/openrouter/current.json")
    models = {m["id"]: m for m in current["models"]}
    assert models["evil/minus-zero"]["pricing"]["input"] == 0
    raw = store.get("models/openrouter/current.json").data  # type: ignore[union-attr]
    assert b": -0," not in raw and b": -0\n" not in raw
    assert float(models["evil/ok-after-bigint"]["pricing"]["input"]) == pytest.approx(0.2)
    assert "evil/negative" not in models  # never a router


def test_any_unexpected_error_on_a_fresh_store_publishes_the_embedded_catalog(
    sync_file, store, monkeypatch
):
    from pipeline.stages import capabilities

    def boom(self, model):
        raise ArithmeticError("a value nobody foresaw")

    monkeypatch.setattr(capabilities.Resolver, "resolve", boom)
    result = sync_file(fixture_path(PAYLOAD), now=NOW)
    assert result.published and result.outcome == "degraded"
    current = read_json(store, "models/openrouter/current.json")
    assert current["degraded"] is True
    assert "ArithmeticError" in current["degradedReason"]
    status = read_json(store, keys.STATUS)["jobs"]["openrouter"]
    assert "ArithmeticError" in status["error"]


def test_an_unexpected_error_keeps_a_published_catalog(sync_file, store, monkeypatch):
    from pipeline.stages import capabilities

    sync_file(fixture_path(PAYLOAD), now="2026-08-18T00:00:00Z")
    before = store.get("models/openrouter/current.json")

    def boom(self, model):
        raise ArithmeticError("a value nobody foresaw")

    monkeypatch.setattr(capabilities.Resolver, "resolve", boom)
    result = sync_file(fixture_path(PAYLOAD), now=NOW)
    assert not result.published
    assert store.get("models/openrouter/current.json") == before


# -- 5. hostile files are warnings --------------------------------------------------------


def _lock(store: LocalStore, data: bytes) -> None:
    path = Path(store.root) / keys.LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


GARBLED_LOCKS = {
    "bad-expiry": GARBAGE_EXPIRY_LOCK,
    "deep": b"[" * 100_000,
    "wrong-types": b'{"runId": 5, "expiresAt": []}',
    "huge": b'{"runId": "' + b"x" * 2_000_000 + b'"}',
}


@pytest.mark.parametrize("kind", sorted(GARBLED_LOCKS))
def test_a_garbled_lock_counts_as_expired_with_a_warning(kind, store, caplog):
    _lock(store, GARBLED_LOCKS[kind])
    caplog.set_level(logging.WARNING)
    taken = lease.acquire(store, run_id="r1", job="openrouter", ttl=timedelta(seconds=60))
    taken.release()
    assert any("lease file unreadable" in r.getMessage() for r in caplog.records)
    _lock(store, GARBLED_LOCKS[kind])
    assert admin.lease_holder(store, parse_iso(NOW)) is None


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000, b'{"a": ' * 50_000, b'{"m": "' + b"x" * (20 << 20) + b'"}', b'{"m": [1]}'],
    ids=["deep-list", "deep-object", "huge", "wrong-type"],
)
def test_a_hostile_bindings_file_is_a_warning_and_removes_nothing(content, sync_file, store):
    sync_file(fixture_path(PAYLOAD), now="2026-08-18T00:00:00Z")
    (Path(store.root) / keys.BINDINGS).mkdir(parents=True, exist_ok=True)
    (Path(store.root) / keys.BINDINGS / "x.json").write_bytes(content)
    result = sync_file(fixture_path(PAYLOAD), now=NOW)
    assert result.published
    assert any("models/bindings/x.json" in w for w in result.report.warnings)


def test_a_garbage_status_is_replaced_with_a_warning(sync_file, store, caplog):
    (Path(store.root) / keys.STATUS).parent.mkdir(parents=True, exist_ok=True)
    (Path(store.root) / keys.STATUS).write_bytes(b"[" * 100_000)
    caplog.set_level(logging.WARNING)
    assert sync_file(fixture_path(PAYLOAD), now=NOW).published
    assert any("status unreadable" in r.getMessage() for r in caplog.records)
    assert read_json(store, keys.STATUS)["jobs"]["openrouter"]["outcome"] == "ok"


# -- 3. patterns --------------------------------------------------------------------------


def test_a_backtracking_override_pattern_runs_in_linear_time(tmp_path, sync_file):
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    (overrides / "capability-overrides.json").write_text(
        json.dumps(
            {
                "overrides": [
                    {"pattern": "^x/(a+)+$", "set": {"supportsTools": True}, "note": "hostile"}
                ]
            }
        )
    )
    loaded = load_overrides(overrides)
    record = _record("x/" + "a" * 34 + "!")
    payload = _payload_with(tmp_path, [record, _record("x/" + "a" * 40)])
    began = time.monotonic()
    result = sync_openrouter(
        LocalStore(tmp_path / "store"),
        CatalogConfig(),
        SyncRequest(now=parse_iso(NOW), from_file=payload, overrides=loaded),
    )
    assert result.published
    assert time.monotonic() - began < 120  # under re this never returns
    models = {m.id: m for m in result.catalog.models}  # type: ignore[union-attr]
    assert models["x/" + "a" * 40].supports_tools is True
    assert models["x/" + "a" * 34 + "!"].supports_tools is not True or "override" not in str(
        models["x/" + "a" * 34 + "!"].detection_source.get("supportsTools")
    )


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)b", r"(?<!x)y"])
def test_validate_refuses_what_re2_refuses(tmp_path, pattern):
    (tmp_path / "capability-overrides.json").write_text(
        json.dumps(
            {"overrides": [{"pattern": pattern, "set": {"supportsTools": True}, "note": "a note"}]}
        )
    )
    with pytest.raises(OverrideError, match="RE2 refuses it"):
        load_overrides(tmp_path)
    run = run_cli(["validate", str(tmp_path)])
    assert run.code == 2 and "RE2 refuses it" in run.stderr


def test_heuristic_patterns_cannot_backtrack_catastrophically():
    risky = {row.label: backtrack_risk(row.pattern.pattern) for row in HEURISTICS}
    assert {label: why for label, why in risky.items() if why} == {}
    assert backtrack_risk(r"^x/(a+)+$") == "a quantifier nested in a quantifier"
    assert backtrack_risk(r"(a)\1") == "a backreference"
    # They stay on `re` on purpose: two use lookaround, which RE2 refuses.
    refused = 0
    for row in HEURISTICS:
        try:
            compile_pattern(row.pattern.pattern)
        except PatternError:
            refused += 1
    assert refused >= 1


# -- 8. the small ones --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "alias"),
    [
        ("x/%2e%2e%2fstatus", "2e-2e-2fstatus"),
        ("x/b-..-..-c", "b-c"),
        ("x/a\u202eb", "a-b"),
        ("x/" + "a" * 10_000, "a" * 64),
        ("x/gpt-4.1-mini", "gpt-4.1-mini"),
    ],
)
def test_generated_aliases_are_sanitized(model_id, alias):
    assert alias_base(model_id)[0] == alias


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("reader:\n  prot: 8080\n", "reader.prot: Extra inputs are not permitted"),
        ("schedule:\n  jbos: {}\n", "schedule: unknown key(s) jbos"),
    ],
)
def test_unknown_keys_under_reader_and_schedule_are_rejected(tmp_path, section, message):
    path = tmp_path / "c.yaml"
    path.write_text(section)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(str(path))


def test_schedule_keys_match_the_settings_model():
    from pipeline.config import SCHEDULE_KEYS
    from pipeline.runs.schedule import ScheduleSettings

    assert set(ScheduleSettings.model_fields) == SCHEDULE_KEYS


def test_nesting_check_is_exact_at_the_limit():
    assert not nesting_exceeds(b"[" * 64 + b"]" * 64, 64)
    assert nesting_exceeds(b"[" * 65 + b"]" * 65, 64)
    assert not nesting_exceeds(b'["[[[[[[[[[[\\"[[["]', 3)  # brackets inside strings
    assert nesting_exceeds(b"[1," * 100, 64)  # unclosed


# -- 3. run deadline ------------------------------------------------------------------------


def test_a_run_past_its_deadline_stops_publishes_nothing_and_releases_the_lease(store):
    from pipeline.runs.jobs import run_job

    config = CatalogConfig(extra={"jobs": {"run_deadline_seconds": 0.2}})
    result = run_job(
        "openrouter",
        store,
        config,
        now=parse_iso(NOW),
        from_file=fixture_path(PAYLOAD),
        progress=lambda stage, ms, detail: time.sleep(0.3),  # every stage overruns
    )
    assert not result.published
    assert "deadline" in (result.error or "")
    assert store.get("models/openrouter/current.json") is None
    assert store.get(keys.LOCK) is None  # released
    assert "deadline" in read_json(store, keys.STATUS)["jobs"]["openrouter"]["error"]


def test_the_lease_is_not_renewed_past_the_deadline(store):
    taken = lease.acquire(store, run_id="r1", job="openrouter", ttl=timedelta(seconds=60))
    taken.start_renewing(0.05, until=time.monotonic() + 0.2)
    time.sleep(0.3)
    expiry = taken.record.expires_at
    time.sleep(0.5)
    assert taken.record.expires_at == expiry  # renewals stopped
    assert taken._thread is not None and not taken._thread.is_alive()
    taken.release()


# -- 6. the post-kill window ----------------------------------------------------------------


def test_well_known_files_carry_the_run_id_the_manifest_names(sync_file, store):
    from pipeline.publishing import publish

    sync_file(fixture_path(PAYLOAD), now="2026-08-18T00:00:00Z")
    sync_file(fixture_path("openrouter-models-2026-08-19.json"), now=NOW)
    manifest = read_json(store, keys.MANIFEST)
    for name, entry in manifest["artifacts"].items():
        document = read_json(store, publish.well_known(name))
        assert document["runId"] == entry["runId"], name
    assert publish.well_known_mismatches(store) == []
    # A kill between the well-known writes and the manifest: current.json of a newer run.
    newer = store.get(f"models/openrouter/runs/{manifest['runId']}/current.json")
    assert newer is not None
    older_path = Path(store.root) / "models/openrouter/current.json"
    older_path.write_bytes(newer.data.replace(manifest["runId"].encode(), b"20990101T000000Z-x"))
    problems = publish.well_known_mismatches(store)
    assert problems and "current.json" in problems[0]
    publish.repair(store)
    assert publish.well_known_mismatches(store) == []


# -- 2. the reader under a flood of unique cursors and filters --------------------------------

READER_LIMIT_MB = 300


def test_reader_memory_stays_bounded_under_random_cursors_and_filters(tmp_path, sync_file):
    """`make bench` runs the same flood with 10,000 requests; here 1,500 keep it short."""
    store = LocalStore(tmp_path / "store")
    sync_file(fixture_path("openrouter-models-all-2026-08-19.json"), now=NOW, store=store)
    done, figures = reader_flood(store.root, 1500, 7, timeout=280, check=True)
    assert float(figures["peak_rss_mb"]) < READER_LIMIT_MB, done.stdout
    codes = [int(pair.split(":")[0]) for pair in figures["statuses"].split(",")]
    assert max(codes) < 500, done.stdout


def test_memo_is_bounded_in_bytes():
    from pipeline.registry import core

    snapshot = core.Snapshot.__new__(core.Snapshot)
    snapshot._memo = __import__("collections").OrderedDict()
    snapshot._memo_bytes = 0
    snapshot._memo_lock = __import__("threading").Lock()
    page = b"x" * (1 << 20)

    class Page:
        data = page

    for index in range(500):
        snapshot.memo(("page", index), Page)
    assert snapshot._memo_bytes <= core.MEMO_BYTES
    assert len(snapshot._memo) <= core.MEMO_BYTES // (1 << 20)


def test_a_provider_answering_deep_nesting_fails_that_source_only(tmp_path):
    from pipeline.runs.providers import ProvidersRequest, sync_providers
    from pipeline.sources.registry import INSTANCE_ONLY, SOURCE_TYPES

    sources: dict[str, Any] = {
        n: {"enabled": False} for n in SOURCE_TYPES if n not in INSTANCE_ONLY
    }
    sources["groq"] = {"enabled": True, "base_url": "http://127.0.0.1:9/openai/v1"}
    result = sync_providers(
        LocalStore(tmp_path / "store"),
        CatalogConfig(extra={"sources": sources}),
        ProvidersRequest(now=parse_iso(NOW), only=["groq"]),
        env={"GROQ_API_KEY": "gsk_" + "k" * 40},
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"[" * 100_000)),
        sleep=lambda _: None,
    )
    assert "nests deeper than 64 levels" in (result.results["groq"].reason or "")
