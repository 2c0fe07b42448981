"""Issue 28: every human view says how old its data is when it is older than the schedule says
it should be — the CLI's list, show, cost, resolve, explain (and changes, history, core) and
the explorer's pages — over a store that holds the embedded catalog (OpenRouter unreachable on
a fresh store, as `make sync` offline), a replay of a recorded snapshot, and fresh data."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import REPO, fixture_path, read_json
from fastapi.testclient import TestClient

from pipeline.cli import main
from pipeline.config import CatalogConfig
from pipeline.overrides.files import load_overrides
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.records.base import Kind
from pipeline.registry import Registry
from pipeline.registry.filters import KINDS
from pipeline.registry.freshness import DEFAULT_STALE_AFTER, DataAge, age_of
from pipeline.runs.schedule import BUILTIN_TABLE, stale_after
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.service.app import create_app
from pipeline.timeutil import iso, parse_iso, utcnow

PAYLOAD = "openrouter-models-2026-08-19.json"


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """A fresh store synced while OpenRouter answers 503: the embedded catalog, degraded."""
    store = LocalStore(tmp_path_factory.mktemp("embedded") / "store")
    result = sync_openrouter(
        store,
        CatalogConfig(),
        SyncRequest(now=utcnow(), overrides=load_overrides(REPO / "overrides")),
        transport=httpx.MockTransport(lambda request: httpx.Response(503)),
        sleep=lambda seconds: None,
    )
    assert result.published and result.outcome == "degraded", result.error
    return store


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """The recorded snapshot of 2026-08-19 synced with its own clock: old, not degraded."""
    store = tmp_path_factory.mktemp("replayed") / "store"
    argv = ["sync", "openrouter", "--store", str(store), "--from-file", str(fixture_path(PAYLOAD))]
    assert main([*argv, "--now", "2026-08-19T06:00:00Z", "-q"]) == 0
    return LocalStore(store)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """The same payload published as if fetched an hour ago: fresh data."""
    store = tmp_path_factory.mktemp("fresh") / "store"
    argv = ["sync", "openrouter", "--store", str(store), "--from-file", str(fixture_path(PAYLOAD))]
    an_hour_ago = iso(utcnow() - timedelta(hours=1))
    assert main([*argv, "--now", an_hour_ago, "-q", "--force"]) == 0
    return LocalStore(store)


def _expected_words(store: LocalStore, *, degraded: bool) -> re.Pattern[str]:
    """The age line of the store's data now (the day count may tick over during the test)."""
    as_of = read_json(store, keys.CURRENT)["dataAsOf"]
    days = (utcnow() - parse_iso(as_of)).days
    tail = r" \(embedded catalog, degraded\)" if degraded else r"(?! \(embedded)"
    return re.compile(rf"data as of {re.escape(as_of[:10])}, ({days}|{days + 1}) days old{tail}")


VIEWS = [
    ["list", "--table"],
    ["show", "openai/gpt-4o", "--table"],
    ["cost", "openai/gpt-4o", "--input", "1000", "--output", "100"],
    ["resolve", "gpt-4o"],
    ["explain", "openai/gpt-4o"],
    ["changes", "--table"],
    ["history", "openai/gpt-4o", "--table"],
]


@pytest.mark.parametrize("view", VIEWS, ids=[v[0] for v in VIEWS])
def test_every_view_states_the_age_of_the_embedded_catalog(embedded, view, capsys) -> None:
    assert main([*view, "--store", str(embedded.root)]) == 0
    out, err = capsys.readouterr()
    assert _expected_words(embedded, degraded=True).search(err), err
    assert out.strip()  # the view itself is still there


@pytest.mark.parametrize("view", VIEWS, ids=[v[0] for v in VIEWS])
def test_every_view_states_the_age_of_a_replayed_snapshot(replayed, view, capsys) -> None:
    assert main([*view, "--store", str(replayed.root)]) == 0
    err = capsys.readouterr().err
    assert _expected_words(replayed, degraded=False).search(err), err
    assert "degraded" not in err


@pytest.mark.parametrize("view", VIEWS, ids=[v[0] for v in VIEWS])
def test_fresh_data_needs_no_age_line(fresh, view, capsys) -> None:
    assert main([*view, "--store", str(fresh.root)]) == 0
    err = capsys.readouterr().err
    assert "data as of" not in err and "days old" not in err, err


def test_core_states_the_age_of_its_curation(embedded, capsys) -> None:
    assert main(["core", "--store", str(embedded.root)]) == 0
    out, err = capsys.readouterr()
    assert "core model(s)" in out
    assert re.search(r"data as of 2026-08-19, \d+ days old", err), err


def test_list_does_not_show_a_run_id_that_reads_as_today_for_old_data(
    embedded, fresh, capsys
) -> None:
    run_id = read_json(embedded, keys.CURRENT)["runId"]
    assert run_id.startswith(utcnow().strftime("%Y%m%d"))  # the run was today, the data is not
    assert main(["list", "--table", "--store", str(embedded.root)]) == 0
    footer = capsys.readouterr().err.strip().splitlines()[-1]
    assert run_id not in footer and "(embedded catalog, degraded)" in footer
    assert re.match(r"\d+ model\(s\) · data as of 2026-08-19, \d+ days old", footer), footer
    # Fresh data: the run id, no age.
    assert main(["list", "--table", "--store", str(fresh.root)]) == 0
    footer = capsys.readouterr().err.strip().splitlines()[-1]
    assert footer.endswith(f"· run {read_json(fresh, keys.CURRENT)['runId']}"), footer


def test_json_views_carry_the_date_not_a_warning(embedded, capsys) -> None:
    assert main(["list", "--json", "--limit", "1", "--store", str(embedded.root)]) == 0
    out, err = capsys.readouterr()
    assert '"dataAsOf": "2026-08-19' in out
    assert "days old" not in err


# -- the rule ----------------------------------------------------------------------------------


def test_stale_after_is_twice_the_catalog_jobs_period(tmp_path: Path) -> None:
    assert stale_after(CatalogConfig()) == DEFAULT_STALE_AFTER == timedelta(hours=12)
    assert BUILTIN_TABLE["full_refresh"]["cron"] == "0 */6 * * *"
    config = tmp_path / "catalog.yaml"
    config.write_text("schedule:\n  jobs:\n    full_refresh: {cron: '0 3 * * *'}\n")
    from pipeline.config import load_config

    assert stale_after(load_config(str(config))) == timedelta(hours=48)


def test_data_age_words_and_staleness() -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    old = age_of({"dataAsOf": "2026-08-19T01:00:00Z", "degraded": True}, now)
    assert (
        old.stale
        and old.words == "data as of 2026-08-19, 110 days old (embedded catalog, degraded)"
    )
    edge = DataAge("2026-12-07T00:00:00Z", now)  # exactly 12 hours: not yet older than allowed
    assert not edge.stale and edge.words == "data as of 2026-12-07T00:00:00Z, 12 hours old"
    assert DataAge("2026-12-06T23:59:59Z", now).stale
    # The embedded catalog is said whatever its age; a date nobody can read is not fresh.
    assert DataAge("2026-12-07T11:00:00Z", now, degraded=True).stale
    assert DataAge("yesterday", now).stale


def test_the_library_kinds_are_the_records_kinds() -> None:
    from typing import get_args

    assert get_args(Kind) == KINDS


# -- the explorer ------------------------------------------------------------------------------


def _clock(store: LocalStore, days: int) -> float:
    as_of = parse_iso(read_json(store, keys.CURRENT)["dataAsOf"])
    return (as_of + timedelta(days=days)).timestamp()


def _banner(html: str) -> str | None:
    found = re.search(r'<div id="data-age" class="banner" role="alert">(.*?)</div>', html)
    return found.group(1) if found else None


@pytest.mark.parametrize("path", ["/", "/models/openai/gpt-4o", "/curated", "/changes", "/compare"])
def test_explorer_pages_carry_a_banner_over_old_data(embedded, path) -> None:
    registry = Registry.open(embedded, clock=lambda: _clock(embedded, 110))
    with TestClient(create_app(registry, refresh_seconds=0)) as client:
        page = client.get(path)
    assert page.status_code == 200
    assert _banner(page.text) == (
        "Data as of 2026-08-19, 110 days old (embedded catalog, degraded). OpenRouter could "
        "not be reached: this is the catalog shipped with the package. Prices and models may "
        "have changed since."
    )
    # The subtitle no longer gives the run (a run of today over data of August).
    subtitle = re.search(r'<span class="subtitle">(.*?)</span>', page.text).group(1)
    assert "data as of 2026-08-19" in subtitle and "run " not in subtitle
    assert 'data-as-of="2026-08-19' in page.text and 'data-degraded="1"' in page.text


def test_explorer_banner_follows_the_clock_and_the_schedule(replayed) -> None:
    now: list[float] = [_clock(replayed, 0) + 3600]
    registry = Registry.open(replayed, clock=lambda: now[0])
    app = create_app(registry, refresh_seconds=0, stale_after=timedelta(days=3))
    with TestClient(app) as client:
        fresh_page = client.get("/")
        assert _banner(fresh_page.text) is None
        assert f"run {registry.snapshot.run_id}" in fresh_page.text
        now[0] = _clock(replayed, 4)  # the same catalog version, four days later
        old = client.get("/", headers={"If-None-Match": fresh_page.headers["etag"]})
        assert old.status_code == 200  # not the fresh page's 304
        assert _banner(old.text) == (
            "Data as of 2026-08-19, 4 days old. Prices and models may have changed since."
        )


def test_static_export_carries_the_banner_and_what_the_script_needs(embedded, tmp_path) -> None:
    site = tmp_path / "site"
    assert main(["export-site", str(site), "--store", str(embedded.root)]) == 0
    page = (site / "models/openai/gpt-4o.html").read_text()
    banner = _banner(page)
    assert banner is not None and re.match(
        r"Data as of 2026-08-19, \d+ days old \(embedded", banner
    )
    assert 'data-stale-after="43200"' in page
    assert (site / "assets/favicon.svg").read_bytes().startswith(b"<svg")


def test_the_views_measure_the_age_status_records(embedded: LocalStore) -> None:
    """The age the views print is measured from the dataAsOf status.json records for the run."""
    status: dict[str, Any] = read_json(embedded, keys.STATUS)
    current = read_json(embedded, keys.CURRENT)
    assert status["jobs"]["openrouter"]["dataAsOf"] == current["dataAsOf"]
