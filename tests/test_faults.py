"""Fault injection: every write of a full run failing in turn (local disk and moto), a sync
killed with SIGKILL mid-publish, and a seeded chaos run over the replayed real snapshots with
upstream and store faults. After each, DESIGN.md §7 must hold."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from conftest import REPO, fixture_date, fixture_path, openrouter_fixtures
from storewrap import (
    FaultyStore,
    check_published,
    moto_bucket,
    s3_store,
)

from pipeline.config import CatalogConfig
from pipeline.publishing import jsonio, keys
from pipeline.publishing.lease import read_holder
from pipeline.publishing.publish import PublishConflict, publish_set, well_known
from pipeline.publishing.store import LocalStore, Store, StoreError
from pipeline.records.catalog import CurrentCatalog
from pipeline.runs.jobs import run_job
from pipeline.timeutil import parse_iso

OLD = "openrouter-models-2026-06-22.json"
NEW = "openrouter-models-2026-08-17.json"


def _sync(store: Store, name: str, **kw) -> object:
    result = run_job(
        "full_refresh",
        store,
        kw.pop("config", CatalogConfig()),
        now=kw.pop("now", fixture_date(name)),
        from_file=fixture_path(name),
        **kw,
    )
    return result


def _well_known_set(store: Store) -> dict[str, bytes]:
    out = {}
    for name in ("current", "curated", "deprecations"):
        blob = store.get(well_known(name))
        if blob is not None:
            out[name] = blob.data
    manifest = store.get(keys.MANIFEST)
    out["manifest"] = manifest.data if manifest else b""
    return out


def _every_write_fails_in_turn(make_old_store, tmp_path: Path) -> None:
    """make_old_store(label) gives a fresh store holding the OLD published set."""
    reference = make_old_store("reference")
    old_set = _well_known_set(reference)
    counter = FaultyStore(reference)
    clean = _sync(counter, NEW)
    assert clean.published, clean.error
    new_set = _well_known_set(reference)
    assert new_set != old_set
    total = len(counter.writes)
    assert total >= 7, counter.writes  # lease, raw, run copy, current, manifest, report, status…

    for n in range(1, total + 1):
        base = make_old_store(f"fail-{n}")
        faulty = FaultyStore(base, fail_at=n)
        result = _sync(faulty, NEW)
        failed_key = counter.writes[n - 1][1]
        check_published(base)
        after = _well_known_set(base)
        assert after in (old_set, new_set), f"write #{n} ({failed_key}) left a mixed set"
        if result.published:
            assert after == new_set, f"write #{n} ({failed_key}): published but not the new set"
        else:
            assert after == old_set, f"write #{n} ({failed_key}): not published but changed"
            assert result.exit_code != 0
            assert base.uri in (result.error or ""), result.error
        # The next run (an hour later, so a lease left by a failed release has expired)
        # publishes the new set cleanly.
        later = run_job(
            "full_refresh",
            base,
            CatalogConfig(),
            now=fixture_date(NEW),
            from_file=fixture_path(NEW),
            clock=lambda: parse_iso("2099-01-01T00:00:00Z"),
        )
        assert later.published, f"after failing write #{n}: {later.error}"
        manifest = check_published(base)
        # (Not byte-equal to the reference: provider lists the failed run refreshed feed into
        # the catalog's enrichment.)
        assert manifest is not None and manifest.artifacts["current"].run_id == later.run_id


def test_every_write_failing_leaves_old_or_new_set_local(tmp_path):
    seed = LocalStore(tmp_path / "seed")
    assert _sync(seed, OLD).published

    def make_old_store(label: str) -> Store:
        target = tmp_path / label
        shutil.copytree(seed.root, target)
        return LocalStore(target)

    _every_write_fails_in_turn(make_old_store, tmp_path)


@pytest.mark.slow
@pytest.mark.usefixtures("aws_env")
def test_every_write_failing_leaves_old_or_new_set_moto(tmp_path):
    with moto_bucket() as client:
        seed = LocalStore(tmp_path / "seed")
        assert _sync(seed, OLD).published
        seeded = {k: seed.get(k).data for k in seed.list("models/")}

        def make_old_store(label: str) -> Store:
            store = s3_store(client, label)
            for key, data in seeded.items():
                store.put(key, data)
            return store

        _every_write_fails_in_turn(make_old_store, tmp_path)


def _artifact(name: str, run_id: str, payload: str) -> bytes:
    return jsonio.dumps(
        {"schemaVersion": 1, "generatedAt": "2026-08-19T00:00:00Z", "runId": run_id, "x": payload}
    )


def test_publish_set_of_three_artifacts_never_mixes(tmp_path):
    """The transaction alone, with all three artifacts, failing each write in turn."""
    old = {n: _artifact(n, "run-old", f"old {n}") for n in ("current", "curated", "deprecations")}
    new = {n: _artifact(n, "run-new", f"new {n}") for n in ("current", "curated", "deprecations")}
    seed = LocalStore(tmp_path / "seed")
    publish_set(seed, "run-old", "2026-08-18T00:00:00Z", old)
    probe = FaultyStore(LocalStore(tmp_path / "probe"))
    shutil.copytree(seed.root, probe.inner.root)
    publish_set(probe, "run-new", "2026-08-19T00:00:00Z", new)
    for n in range(1, len(probe.writes) + 1):
        target = tmp_path / f"n{n}"
        shutil.copytree(seed.root, target)
        store = FaultyStore(LocalStore(target), fail_at=n)
        with pytest.raises(StoreError, match="injected failure"):
            publish_set(store, "run-new", "2026-08-19T00:00:00Z", new)
        got = {name: store.get(well_known(name)).data for name in old}
        assert got == old, f"write #{n} ({probe.writes[n - 1]}) left a mixed set"


def test_unchanged_curated_and_deprecations_are_not_rewritten(tmp_path):
    store = LocalStore(tmp_path)
    first = {n: _artifact(n, "r1", f"v1 {n}") for n in ("current", "curated", "deprecations")}
    publish_set(store, "r1", "2026-08-18T00:00:00Z", first)
    second = {
        "current": _artifact("current", "r2", "v2 current"),
        "curated": _artifact("curated", "r2", "v1 curated"),  # same content, new run metadata
        "deprecations": _artifact("deprecations", "r2", "v2 deprecations"),
    }
    done = publish_set(store, "r2", "2026-08-19T00:00:00Z", second)
    assert done.unchanged == ["curated"]
    assert done.written == ["current", "deprecations"]
    entries = done.manifest.artifacts
    assert entries["curated"].run_id == "r1"
    assert entries["curated"].key == keys.openrouter_run_copy("r1", "curated")
    assert entries["current"].run_id == entries["deprecations"].run_id == "r2"
    assert store.get(keys.CURATED).data == first["curated"]
    assert store.get(keys.openrouter_run_copy("r2", "curated")) is None


def test_a_lost_manifest_race_aborts_loudly_and_keeps_the_winner(tmp_path):
    store = LocalStore(tmp_path)
    publish_set(store, "r1", "t1", {"current": _artifact("current", "r1", "one")})
    winner = {"current": _artifact("current", "r2", "two")}

    def sneak_in(op: str, key: str) -> None:
        if key == keys.MANIFEST and wrapped.fail_at is None:
            wrapped.fail_at = -1  # only once
            publish_set(store, "r2", "t2", winner)

    wrapped = FaultyStore(store, hook=sneak_in)
    with pytest.raises(PublishConflict, match=r"manifest.json .* changed while run r3"):
        publish_set(wrapped, "r3", "t3", {"current": _artifact("current", "r3", "three")})
    assert store.get(keys.CURRENT).data == winner["current"]
    assert check_manifest_run(store) == "r2"


def check_manifest_run(store: Store) -> str:
    return jsonio.loads(store.get(keys.MANIFEST).data)["runId"]


# -- SIGKILL mid-publish -------------------------------------------------------------------------

SLOW_SYNC = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipeline.config import CatalogConfig
    from pipeline.runs.jobs import run_job, stop_on_sigterm
    from pipeline.publishing.store import LocalStore
    from pipeline.timeutil import parse_iso

    root, payload, now, marker = sys.argv[1:5]

    class SlowStore(LocalStore):
        # Publishes slowly: stops for good just before committing the manifest.
        def put(self, key, data, **kw):
            if key == "models/openrouter/manifest.json":
                Path(marker).write_text("about to commit")
                time.sleep(3600)
            return super().put(key, data, **kw)

    config = CatalogConfig.model_validate({"extra": {"jobs": {"lease_ttl_seconds": 1}}})
    with stop_on_sigterm():
        run_job("full_refresh", SlowStore(Path(root)), config, now=parse_iso(now),
                from_file=Path(payload))
    """
)


def _start_slow_sync(tmp_path: Path, store: LocalStore) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "slow_sync.py"
    script.write_text(SLOW_SYNC)
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(store.root),
            str(fixture_path(NEW)),
            "2026-08-17T06:00:00Z",
            str(marker),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"slow sync exited early: {proc.stderr.read().decode()}")
        time.sleep(0.05)
    return proc, marker


@pytest.mark.slow
def test_sync_killed_mid_publish_then_a_new_run_repairs_and_takes_over(tmp_path):
    store = LocalStore(tmp_path / "store")
    assert _sync(store, OLD).published
    old_current = store.get(keys.CURRENT).data
    proc, _ = _start_slow_sync(tmp_path, store)
    try:
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
        proc.stderr.close()

    # The dead run wrote current.json but never committed: readers of the well-known file see
    # a set the manifest does not vouch for, and its lease is still there.
    assert store.get(keys.CURRENT).data != old_current
    holder, _ = read_holder(store)
    assert holder is not None and holder.pid == proc.pid

    config = CatalogConfig.model_validate(
        {"extra": {"jobs": {"lease_ttl_seconds": 1, "lease_wait_poll_seconds": 0.1}}}
    )
    result = _sync(store, NEW, config=config, now=parse_iso("2026-08-17T07:00:00Z"), wait=True)
    assert result.published, result.error
    check_published(store)
    assert store.get(keys.LOCK) is None
    catalog = CurrentCatalog.model_validate_json(store.get(keys.CURRENT).data)
    assert catalog.run_id == result.run_id


@pytest.mark.slow
def test_sync_stopped_with_sigterm_mid_publish_rolls_back_and_releases(tmp_path):
    store = LocalStore(tmp_path / "store")
    assert _sync(store, OLD).published
    old_set = _well_known_set(store)
    proc, _ = _start_slow_sync(tmp_path, store)
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode != 0
    assert store.get(keys.LOCK) is None, "the stopped run kept the lease"
    check_published(store)
    assert _well_known_set(store) == old_set


# -- chaos -----------------------------------------------------------------------------------------

FAULTS = ["none", "500", "429", "timeout", "truncated", "html", "empty", "half", "store"]


def _transport(kind: str, payload: bytes, rng: random.Random) -> httpx.MockTransport:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if kind == "500":
            return httpx.Response(500, text="upstream error")
        if kind == "429" and calls["n"] == 1:
            return httpx.Response(429, headers={"Retry-After": "7"}, text="slow down")
        if kind == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if kind == "truncated":
            return httpx.Response(200, content=payload[: len(payload) // 3])
        if kind == "html":
            return httpx.Response(200, content=b"<!DOCTYPE html><html>Cloudflare</html>")
        if kind == "empty":
            return httpx.Response(200, json={"data": []})
        if kind == "half":
            document = jsonio.loads(payload)
            items = document["data"] if isinstance(document, dict) else document
            kept = sorted(rng.sample(range(len(items)), len(items) // 2))
            return httpx.Response(200, content=jsonio.dumps({"data": [items[i] for i in kept]}))
        return httpx.Response(200, content=payload)

    return httpx.MockTransport(handler)


@pytest.mark.slow
def test_chaos_fifty_runs_keep_the_invariants(tmp_path):
    names = [n for n in openrouter_fixtures() if fixture_date(n) >= parse_iso("2025-10-06")]
    if not names:
        pytest.skip("no real OpenRouter fixtures under ../shared")
    rng = random.Random(20260819)
    base = LocalStore(tmp_path / "store")
    first_seen: dict[str, str] = {}
    previous: CurrentCatalog | None = None
    now = fixture_date(names[0])
    sleeps: list[float] = []
    outcomes: dict[str, int] = {}
    validated: set[str] = set()
    for i in range(50):
        name = names[i * len(names) // 50]
        now = max(fixture_date(name), now + timedelta(hours=1))
        payload = fixture_path(name).read_bytes()
        kind = "none" if i == 0 else rng.choice(FAULTS)
        store: Store = base
        if kind == "store" or rng.random() < 0.15:
            store = FaultyStore(base, fail_at=rng.randint(1, 9))
        job = "deprecation_sweep" if i % 10 == 9 else "full_refresh"
        result = run_job(
            job,
            store,
            CatalogConfig(),
            now=now,
            transport=_transport(kind, payload, rng),
            sleep=sleeps.append,
            clock=lambda now=now: now,  # the lease's wall clock: a left-over lease has expired
        )
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        where = f"run {i} ({job}, {name}, fault {kind}): {result.outcome} {result.error}"

        check_published(base, validated)
        if not result.published:
            assert result.exit_code != 0 or job == "deprecation_sweep", where
        if kind in ("empty", "half") and job == "full_refresh":
            assert not result.published, f"{where}: a gutted feed was published"
        blob = base.get(keys.CURRENT)
        catalog = CurrentCatalog.model_validate_json(blob.data) if blob else None
        if catalog is None:
            continue
        by_id = {m.id: m for m in catalog.models}
        for model in catalog.models:
            first = first_seen.setdefault(model.id, model.lifecycle.first_seen)
            assert model.lifecycle.first_seen == first, f"{where}: {model.id} lost its firstSeen"
        if previous is not None and catalog.run_id != previous.run_id:
            for gone in (m for m in previous.models if m.id not in by_id):
                assert gone.lifecycle.missing_since is not None, (
                    f"{where}: {gone.id} vanished without going through missing"
                )
            if not catalog.degraded:
                active_before = {m.id for m in previous.models if m.lifecycle.state == "active"}
                lost = active_before - set(by_id)
                assert len(lost) <= 0.25 * len(active_before), f"{where}: lost {len(lost)}"
        previous = catalog
    assert outcomes.get("ok", 0) >= 10, outcomes
    assert 7 in sleeps, "the 429's Retry-After was not honoured through the injected sleep"


def test_a_run_built_on_a_superseded_manifest_writes_nothing(tmp_path):
    store = LocalStore(tmp_path)
    publish_set(store, "r1", "t1", {"current": _artifact("current", "r1", "one")})
    read_under = store.head(keys.MANIFEST)
    publish_set(store, "r2", "t2", {"current": _artifact("current", "r2", "two")})
    with pytest.raises(PublishConflict, match=r"committed by another run \(r2\) after run r3"):
        publish_set(
            store, "r3", "t3", {"current": _artifact("current", "r3", "x")}, based_on=read_under
        )
    assert store.get(keys.openrouter_run_copy("r3", "current")) is None
    assert check_manifest_run(store) == "r2"
