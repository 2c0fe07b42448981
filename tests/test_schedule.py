"""The cron table and `catalog schedule`: the table's contract, catalog.yaml overrides,
`--list`, staleness in `catalog status`, and the scheduler itself with an injected fast
trigger (jobs fire, never overlap, stop cleanly on SIGTERM)."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from conftest import REPO, fixture_path

from pipeline.cli import main
from pipeline.config import CatalogConfig, ConfigError
from pipeline.runs.crontab import period, stale_reason
from pipeline.runs.schedule import (
    BUILTIN_TABLE,
    TABLE_PATH,
    describe,
    load_schedule,
    read_table,
    serve,
)
from pipeline.timeutil import parse_iso


def test_cron_table_file_is_the_contract():
    first = TABLE_PATH.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# Cron table (UTC).")
    table = read_table()
    assert {n: {"cron": e.cron, "command": e.command} for n, e in table.items()} == BUILTIN_TABLE
    assert all(e.description for e in table.values())
    # DESIGN §6 / issue 7: full refresh every 6 hours, curated and sweep daily, providers hourly.
    assert period(table["full_refresh"].cron) == timedelta(hours=6)
    assert period(table["curated_refresh"].cron) == timedelta(days=1)
    assert period(table["deprecation_sweep"].cron) == timedelta(days=1)
    assert period(table["provider_refresh"].cron) == timedelta(hours=1)


def test_catalog_yaml_overrides_the_table():
    config = CatalogConfig(
        extra={
            "schedule": {
                "jobs": {
                    "full_refresh": {"cron": "0 */4 * * *"},
                    "provider_refresh": {"enabled": False},
                }
            }
        }
    )
    jobs = {j.name: j for j in load_schedule(config)}
    assert jobs["full_refresh"].cron == "0 */4 * * *"
    assert not jobs["provider_refresh"].enabled
    assert jobs["deprecation_sweep"].cron == "45 1 * * *"


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"jobs": {"nightly": {"cron": "0 0 * * *"}}}, "schedule.jobs names nightly"),
        ({"jobs": {"full_refresh": {"cron": "every hour"}}}, "job full_refresh: invalid cron"),
        ({"misfire_grace": 5}, "schedule.misfire_grace"),
    ],
)
def test_bad_schedule_config_names_the_key(schedule, message):
    with pytest.raises(ConfigError, match=message):
        load_schedule(CatalogConfig(extra={"schedule": schedule}))


def test_stale_when_last_success_is_older_than_twice_the_period():
    now = parse_iso("2026-08-19T12:00:00Z")
    assert stale_reason("2026-08-19T01:00:00Z", "0 */6 * * *", now) == (False, None)
    flagged, why = stale_reason("2026-08-18T23:00:00Z", "0 */6 * * *", now)
    assert flagged and "2× period (6h)" in why
    assert stale_reason(None, "45 1 * * *", now) == (True, "never succeeded")


def test_schedule_list_prints_every_job_with_trigger_and_next_run(capsys):
    assert main(["schedule", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in out[1:]}
    assert set(rows) == set(BUILTIN_TABLE)
    assert "0 */6 * * *" in rows["full_refresh"]
    assert "catalog sync all" in rows["full_refresh"]
    next_run = rows["full_refresh"].split()[6]
    assert parse_iso(next_run).hour % 6 == 0
    assert "catalog sync curated" in rows["curated_refresh"]
    assert "catalog sync providers" in rows["provider_refresh"]
    # A job of the table a build does not have is listed, not scheduled.
    jobs = load_schedule(CatalogConfig())
    lines = describe(jobs, {"full_refresh"}, parse_iso("2026-08-19T05:00:00Z"))
    row = next(line for line in lines if line.startswith("deprecation_sweep"))
    assert "not in this build" in row
    row = next(line for line in lines if line.startswith("full_refresh"))
    assert "2026-08-19T06:00:00Z" in row


def test_jobs_fire_do_not_overlap_and_stop_cleanly_on_sigterm():
    from apscheduler.triggers.interval import IntervalTrigger

    jobs = [
        j
        for j in load_schedule(CatalogConfig())
        if j.name in ("full_refresh", "curated_refresh", "deprecation_sweep")
    ]
    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    running = {"now": 0, "max": 0}
    signalled = threading.Event()

    def runner(name: str) -> None:
        with lock:
            if signalled.is_set():
                events.append(("late-start", name))
            events.append(("start", name))
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
            starts = sum(1 for e in events if e[0] == "start")
        if starts == 6:
            # Stop while this job runs: it must finish, and nothing may start after it.
            signalled.set()
            os.kill(os.getpid(), signal.SIGTERM)
        with lock:
            running["now"] -= 1
            events.append(("end", name))

    previous = signal.getsignal(signal.SIGTERM)
    code = serve(
        jobs,
        runner,
        trigger_factory=lambda cron: IntervalTrigger(seconds=0.02, timezone=UTC),
    )
    assert code == 0
    assert signal.getsignal(signal.SIGTERM) == previous, "signal handler not restored"
    assert running["max"] == 1, "two jobs ran at once"
    kinds = [e[0] for e in events]
    assert "late-start" not in kinds, events
    assert kinds == ["start", "end"] * (len(kinds) // 2), events
    assert kinds.count("start") == 6
    assert {e[1] for e in events} >= {"full_refresh", "deprecation_sweep"}


@pytest.mark.slow
def test_catalog_schedule_process_stops_on_sigterm(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "schedule", "--store", str(tmp_path / "s")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith(
            "scheduling full_refresh, curated_refresh, deprecation_sweep, provider_refresh"
        ), line
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "scheduler stopped" in err


def test_catalog_status_flags_a_stale_job(tmp_path, capsys):
    store = str(tmp_path / "s")
    payload = str(fixture_path("openrouter-models-2026-08-19.json"))
    now = "2026-08-19T06:00:00Z"
    assert main(["sync", "all", "--store", store, "--from-file", payload, "--now", now, "-q"]) == 0
    capsys.readouterr()
    assert main(["status", "--store", store, "--now", "2026-08-19T09:00:00Z"]) == 0
    fresh = capsys.readouterr().out
    row = next(line for line in fresh.splitlines() if "full_refresh" in line)
    assert not row.startswith("!") and "STALE" not in row
    assert main(["status", "--store", store, "--now", "2026-08-20T06:00:00Z"]) == 0
    late = capsys.readouterr().out
    row = next(line for line in late.splitlines() if "full_refresh" in line)
    assert row.startswith("! full_refresh") and "STALE: last success 1d ago > 2× period (6h)" in row
    assert main(["status", "--store", store, "--json", "--now", "2026-08-19T09:00:00Z"]) == 0
    fresh_json = json.loads(capsys.readouterr().out)
    assert "full_refresh" in fresh_json["jobs"]
    assert "full_refresh" not in fresh_json["overdue"]
    assert main(["status", "--store", store, "--json", "--now", "2026-08-20T06:00:00Z"]) == 0
    late_json = json.loads(capsys.readouterr().out)
    assert late_json["overdue"]["full_refresh"] == "last success 1d ago > 2× period (6h)"


@pytest.mark.parametrize(
    "cron",
    ["15 * * * *", "0 */6 * * *", "30 1 * * *", "*/7 * * * *", "0 9-17 * * *", "5 1,13 * * *"],
)
def test_a_daily_repeating_cron_has_the_period_a_long_scan_finds(cron):
    # period() reads one day of fires for these; 200 fires from two starting points agree.
    from pipeline.runs.crontab import next_fires

    for start in (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 29, 13, 7, tzinfo=UTC)):
        fires = next_fires(cron, start, 200)
        scanned = max(b - a for a, b in itertools.pairwise(fires))
        assert period(cron, start) == scanned, (cron, start)


def test_a_weekday_cron_still_gets_its_weekend_gap():
    assert period("0 9 * * 1-5") == timedelta(days=3)


# --- the light reading of the table (pipeline.runs.crontab, issue 29) -------------------------

DAILY_CRONS = [
    "0 */6 * * *",
    "30 1 * * *",
    "15 * * * *",
    "*/7 * * * *",
    "0 9-17 * * *",
    "5 1,13 * * *",
    "0-10/5 2-20/6 * * *",
    "59 23 * * *",
    "*/59 */23 * * *",
    "0,15,30-45/15 0 * * *",
    "07 08 * * *",
]


@pytest.mark.parametrize("cron", DAILY_CRONS)
def test_the_light_reader_fires_when_apscheduler_does(cron):
    from pipeline.runs.crontab import daily_minutes, fires_until

    midnight = datetime(2026, 3, 29, tzinfo=UTC)
    fires = fires_until(cron, midnight, midnight + timedelta(days=1) - timedelta(seconds=1))
    expected = [int((f - midnight).total_seconds()) // 60 for f in fires if f.day == 29]
    assert daily_minutes(cron) == expected


@pytest.mark.parametrize(
    "cron",
    [
        "5/15 * * * *",  # APScheduler's own reading of `a/n`
        "*/0 * * * *",
        "*/60 * * * *",
        "30-10 * * * *",
        "60 * * * *",
        "0 24 * * *",
        "*/ * * * *",
        "5- * * * *",
        "-5 * * * *",
        "1,,2 * * * *",
        "0 0 1 * *",
        "0 9 * * 1-5",
        "0 0 * * mon",
        "0 0 * *",
        "every hour",
    ],
)
def test_what_the_light_reader_does_not_take_is_left_to_apscheduler(cron):
    from pipeline.runs.crontab import check_cron, cron_trigger, daily_minutes

    assert daily_minutes(cron) is None
    try:
        cron_trigger(cron)
    except ValueError as exc:
        with pytest.raises(ValueError, match=re.escape(str(exc))):
            check_cron(cron)
    else:
        check_cron(cron)


def test_the_default_table_reads_the_same_without_its_models():
    from pipeline.runs.crontab import ROW_KEYS, plain_schedule
    from pipeline.runs.schedule import TableEntry

    assert set(TableEntry.model_fields) == ROW_KEYS
    plain = plain_schedule({})
    assert plain is not None
    # A `schedule:` section that changes nothing sends the reading through the models.
    checked = load_schedule(CatalogConfig(extra={"schedule": {"misfire_grace_seconds": 600}}))
    assert plain == checked
    assert plain_schedule({"schedule": {"jobs": {"full_refresh": {"enabled": False}}}}) is None


def test_status_and_list_without_a_config_file_build_no_models(tmp_path):
    # What keeps `catalog status` and `catalog list` quick (issue 29): neither imports pydantic
    # or APScheduler when no config file is named. A whole process, so nothing is imported yet.
    store = tmp_path / "data"
    payload = fixture_path("openrouter-models-2026-08-19.json")
    sync = ["sync", "openrouter", "--from-file", str(payload), "--store", str(store), "-q"]
    assert main([*sync, "--now", "2026-08-19T06:00:00Z"]) == 0
    code = (
        "import sys, io\n"
        "from pipeline.cli import main\n"
        "sys.stdout = io.StringIO()\n"
        "for argv in (['status'], ['list', '--limit', '20', '--table'], ['list', '--json']):\n"
        f"    assert main([*argv, '--store', {str(store)!r}]) == 0, argv\n"
        "sys.stdout = sys.__stdout__\n"
        "print(sorted(m for m in ('pydantic', 'apscheduler') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CATALOG_CONFIG", "CATALOG_STORE")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
