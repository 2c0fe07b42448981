"""The jobs behind every trigger: full_refresh with the publish guard, deprecation_sweep by the
clock alone, status entries, the manifest, determinism, and the `syncmodels` exit codes."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from conftest import fixture_path, read_json
from storewrap import check_published

from pipeline.cli import main
from pipeline.config import CatalogConfig
from pipeline.publishing import jsonio, keys, publish
from pipeline.publishing.lease import acquire
from pipeline.records.catalog import CurrentCatalog
from pipeline.records.model import Lifecycle
from pipeline.runs.jobs import EXIT_LOCKED, JOBS, UnknownJob, run_job
from pipeline.runs.sweep import prune_raw, sweep_lifecycle
from pipeline.timeutil import iso, parse_iso

PAYLOAD = "openrouter-models-2026-08-19.json"
T0 = parse_iso("2026-08-19T06:00:00Z")


def _feed(items_filter=None, status: int = 200) -> httpx.MockTransport:
    raw = fixture_path(PAYLOAD).read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        if items_filter is None:
            return httpx.Response(status, content=raw)
        document = jsonio.loads(raw)
        items = document["data"] if isinstance(document, dict) else document
        return httpx.Response(status, content=jsonio.dumps({"data": items_filter(items)}))

    return httpx.MockTransport(handler)


def _refresh(store, config=None, **kw):
    return run_job(
        "full_refresh",
        store,
        config or CatalogConfig(),
        now=kw.pop("now", T0),
        transport=kw.pop("transport", _feed()),
        sleep=lambda s: None,
        **kw,
    )


def test_jobs_table_is_explicit():
    assert set(JOBS) == {
        "full_refresh",
        "openrouter",
        "curated_refresh",
        "deprecation_sweep",
        "provider_refresh",
        "history_rebuild",
    }
    assert JOBS["provider_refresh"].status_key == "providers"
    assert JOBS["history_rebuild"].status_key == "history"
    assert JOBS["curated_refresh"].status_key == "curated"
    with pytest.raises(UnknownJob, match="unknown job 'nightly'"):
        run_job("nightly", None, CatalogConfig())  # type: ignore[arg-type]


def test_full_refresh_publishes_a_manifested_set_and_status(store):
    result = _refresh(store)
    assert result.outcome == "ok" and result.exit_code == 0
    manifest = check_published(store)
    assert manifest.run_id == result.run_id
    entry = manifest.artifacts["current"]
    assert entry.key == keys.openrouter_run_copy(result.run_id, "current")
    status = read_json(store, keys.STATUS)["jobs"]["full_refresh"]
    assert status["outcome"] == "ok"
    assert status["lastSuccess"] == iso(T0)
    assert status["counts"]["published"] > 300
    assert status["sources"]["openrouter"]["servedBy"] == "api"
    assert store.get(keys.LOCK) is None


def test_same_inputs_and_clock_give_byte_identical_sets(tmp_path):
    from pipeline.publishing.store import LocalStore

    a, b = LocalStore(tmp_path / "a"), LocalStore(tmp_path / "b")
    _refresh(a)
    _refresh(b)
    for key in (keys.CURRENT, keys.MANIFEST):
        assert a.get(key).data == b.get(key).data


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_publish_guard_blocks_a_gutted_feed_with_figures(store, share):
    _refresh(store)
    before = store.get(keys.CURRENT).data

    def gut(items):
        return items[: int(len(items) * share)]

    result = _refresh(store, transport=_feed(gut), now=T0 + timedelta(hours=6))
    assert result.outcome == "guarded"
    assert result.exit_code == 1
    assert "rerun with --force" in result.error
    assert store.get(keys.CURRENT).data == before
    status = read_json(store, keys.STATUS)["jobs"]["full_refresh"]
    assert status["outcome"] == "guarded"
    assert status["lastSuccess"] == iso(T0)
    if share:
        assert status["counts"]["lost"] > 0
        assert status["counts"]["previouslyActive"] > status["counts"]["lost"]
        assert "previously active models" in status["error"]
    else:
        assert "lists no models" in status["error"]

    forced = _refresh(store, transport=_feed(gut), now=T0 + timedelta(hours=7), force=True)
    if share:
        assert forced.published and forced.outcome == "ok"
        assert any(
            "--force" in w
            for w in read_json(store, keys.STATUS)["jobs"]["full_refresh"]["warnings"]
        )
    check_published(store)


def test_guard_threshold_is_configuration(store):
    _refresh(store)
    lenient = CatalogConfig.model_validate({"publish": {"max_loss_fraction": 0.6}})
    result = _refresh(
        store, lenient, transport=_feed(lambda items: items[::2]), now=T0 + timedelta(hours=6)
    )
    assert result.published, result.error


def _lc(**kw) -> Lifecycle:
    base = {
        "state": "active",
        "first_seen": "2026-01-01T00:00:00Z",
        "last_seen": "2026-08-01T00:00:00Z",
        "state_since": "2026-01-01T00:00:00Z",
    }
    return Lifecycle(**{**base, **kw})


def test_sweep_moves_only_missing_models_and_expired_ones():
    now = parse_iso("2026-08-20T00:00:00Z")
    models = {
        "listed": _lc(),
        "gone-3d": _lc(state="stale", missing_since="2026-08-17T00:00:00Z"),
        "gone-15d": _lc(state="stale", missing_since="2026-08-05T00:00:00Z"),
        "gone-31d": _lc(state="deprecated", missing_since="2026-07-20T00:00:00Z"),
        "expired": _lc(expires_at="2026-08-19T00:00:00Z"),
        "expires-later": _lc(expires_at="2026-09-01T00:00:00Z"),
    }
    after = sweep_lifecycle(models, now, CatalogConfig())
    assert after["listed"] == models["listed"]
    assert after["expires-later"] == models["expires-later"]
    assert after["gone-3d"].state == "stale"
    assert after["gone-15d"].state == "deprecated"
    assert after["gone-15d"].missing_since == "2026-08-05T00:00:00Z"
    assert after["gone-31d"].state == "removed"
    assert after["expired"].state == "deprecated"
    assert after["expired"].missing_since is None
    assert all(after[i].first_seen == models[i].first_seen for i in models)


def test_deprecation_sweep_job_advances_publishes_and_prunes(store):
    _refresh(store)
    published = CurrentCatalog.model_validate_json(store.get(keys.CURRENT).data)
    # Make one model missing since 20 days before the sweep (as a full refresh would have).
    victim = published.models[0].id
    sweep_at = T0 + timedelta(days=20)
    models = [
        m.model_copy(
            update={
                "lifecycle": m.lifecycle.model_copy(
                    update={"state": "stale", "missing_since": iso(T0)}
                )
            }
        )
        if m.id == victim
        else m
        for m in published.models
    ]
    staged = published.model_copy(update={"models": models, "run_id": "staged"})
    publish.publish_set(store, "staged", iso(T0), {"current": publish.encode("current", staged)})
    store.put("models/openrouter/raw-2026010100.json", b"{}")  # > 90 days before the sweep
    store.put("models/providers/openai/raw-2026030100.json", b"{}")
    store.put("models/openrouter/raw-2026081900.json", b"{}")  # recent: kept

    result = run_job("deprecation_sweep", store, CatalogConfig(), now=sweep_at)
    assert result.outcome == "ok" and result.published and result.exit_code == 0, result.error
    check_published(store)
    current = CurrentCatalog.model_validate_json(store.get(keys.CURRENT).data)
    by_id = {m.id: m for m in current.models}
    assert by_id[victim].lifecycle.state == "deprecated"
    assert by_id[victim].lifecycle.state_since == iso(sweep_at)
    # Everything else was listed: the sweep must not treat it as missing.
    assert all(m.lifecycle.missing_since is None for m in current.models if m.id != victim)
    assert store.get("models/openrouter/raw-2026010100.json") is None
    assert store.get("models/providers/openai/raw-2026030100.json") is None
    assert store.get("models/openrouter/raw-2026081900.json") is not None
    status = read_json(store, keys.STATUS)["jobs"]["deprecation_sweep"]
    assert status["outcome"] == "ok"
    expiring = sum(
        1
        for m in models
        if m.lifecycle.expires_at
        and m.lifecycle.state == "active"
        and parse_iso(m.lifecycle.expires_at) <= sweep_at
    )
    assert status["counts"] == {
        "published": len(models),
        "moved": 1 + expiring,
        "removed": 0,
        "pruned": 2,
    }

    # 31 days after it went missing the model is removed and leaves current.json.
    later = run_job("deprecation_sweep", store, CatalogConfig(), now=T0 + timedelta(days=31))
    assert later.published
    current = CurrentCatalog.model_validate_json(store.get(keys.CURRENT).data)
    assert victim not in {m.id for m in current.models}
    assert current.count == len(models) - 1
    stones = read_json(store, keys.DEPRECATIONS)["tombstones"]
    assert victim in {t["id"] for t in stones}
    assert check_published(store).artifacts["deprecations"].run_id == later.run_id

    # Nothing left to move: no new publish, still a success.
    quiet = run_job("deprecation_sweep", store, CatalogConfig(), now=T0 + timedelta(days=31))
    assert quiet.outcome == "ok" and not quiet.published and quiet.exit_code == 0


def test_sweep_never_removes_a_bound_model_and_applies_forced_deprecations():
    now = parse_iso("2026-08-20T00:00:00Z")
    models = {
        "bound": _lc(state="deprecated", missing_since="2026-07-01T00:00:00Z"),
        "forced": _lc(),
    }
    after = sweep_lifecycle(models, now, CatalogConfig(), bindings={"bound"}, forced={"forced"})
    assert after["bound"].state == "deprecated"
    assert after["forced"].state == "deprecated"
    assert after["forced"].missing_since is None


def test_prune_respects_the_configured_retention(store):
    store.put("models/openrouter/raw-2026080100.json", b"{}")
    assert prune_raw(store, T0, 10) == ["models/openrouter/raw-2026080100.json"]


def test_sweep_on_an_empty_store_fails_clearly(store):
    result = run_job("deprecation_sweep", store, CatalogConfig(), now=T0)
    assert result.exit_code == 1
    assert "nothing published yet" in result.error and store.uri in result.error


def test_syncmodels_exit_codes(tmp_path, capsys):
    from pipeline.cli import syncmodels_main
    from pipeline.publishing.store import LocalStore

    root = str(tmp_path / "s")
    payload = str(fixture_path(PAYLOAD))
    args = ["--store", root, "--from-file", payload, "--now", iso(T0), "-q"]
    assert syncmodels_main(["all", *args]) == 0
    assert "published as" in capsys.readouterr().out
    lease = acquire(
        LocalStore(tmp_path / "s"), run_id="other-run", job="full_refresh", ttl=timedelta(hours=1)
    )
    assert syncmodels_main(["all", *args]) == EXIT_LOCKED
    err = capsys.readouterr().err
    assert "error: sync other-run (full_refresh," in err and "holds the lease until" in err
    lease.release()
    assert syncmodels_main(["sweep", "--store", root, "--now", iso(T0), "-q"]) == 0
    assert main(["sync", "nightly", "--store", root]) == 2


def test_the_light_job_names_list_matches_the_jobs_table():
    # `catalog status` reads job_names instead of importing the table's machinery.
    from pipeline.runs.job_names import STATUS_KEYS

    assert set(STATUS_KEYS) == set(JOBS)
    assert JOBS["curated_refresh"].status_key == "curated"
    assert JOBS["full_refresh"].status_key == "full_refresh"
