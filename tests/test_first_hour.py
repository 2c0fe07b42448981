"""The operator's first hour (issue 13): data age that tells the truth, no replay that moves a
store back in time, calm offline reruns, one exit-code table, errors instead of tracebacks,
readable files, a status table that reads right, a lean install that works anywhere."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import stat
import sys
import tomllib
import types
from datetime import datetime
from pathlib import Path

import pytest
from conftest import REPO, fixture_path, read_json
from fastapi.testclient import TestClient

from pipeline.cli import main
from pipeline.overrides import files as overrides_module
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.registry import Registry
from pipeline.runs import fallback
from pipeline.service.app import create_app
from pipeline.timeutil import parse_iso, utcnow

PAYLOAD = "openrouter-models-2026-08-19.json"
EMBEDDED_AS_OF = fallback.load_embedded().data_as_of or ""
TOKEN = "t" * 32


@pytest.fixture
def offline(tmp_path: Path) -> str:
    """A config whose OpenRouter is a closed port on the loopback: offline, at once."""
    path = tmp_path / "offline.yaml"
    path.write_text("openrouter: {url: 'http://127.0.0.1:9/api/v1/models', max_attempts: 1}\n")
    return str(path)


def _days_old(stamp: str) -> int:
    return int((utcnow() - parse_iso(stamp)).total_seconds() // 86400)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".store.lock"
    }


def test_offline_first_run_then_calm_reruns_with_the_data_age_everywhere(
    tmp_path: Path, offline: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "data")
    base = ["--store", store, "--config", offline, "-q"]
    days = _days_old(EMBEDDED_AS_OF)

    # 1. First run: the embedded catalog, degraded, and it says how old its data is.
    assert main(["sync", "all", *base, "--offline-ok"]) == 0
    out = capsys.readouterr().out
    count = fallback.load_embedded().count
    assert f"openrouter: {count} models (+{count} added" in out  # a first run adds them all
    assert f"[degraded: embedded catalog, data as of {EMBEDDED_AS_OF[:10]}, {days} days old" in out
    local = LocalStore(Path(store))
    current = read_json(local, keys.CURRENT)
    assert current["dataAsOf"] == EMBEDDED_AS_OF and current["generatedAt"] != EMBEDDED_AS_OF
    assert read_json(local, keys.CURATED)["dataAsOf"] == EMBEDDED_AS_OF
    assert read_json(local, keys.DEPRECATIONS)["redirects"] is not None  # written with the set
    status = read_json(local, keys.STATUS)["jobs"]
    assert status["full_refresh"]["dataAsOf"] == EMBEDDED_AS_OF
    # A pinned list is as old as its review, whenever it was read.
    xai = read_json(local, keys.provider_current("xai"))
    assert xai["dataAsOf"] == "2026-06-13T00:00:00Z" and xai["fetchedAt"] != xai["dataAsOf"]
    assert status["providers"]["sources"]["xai"]["dataAsOf"] == "2026-06-13T00:00:00Z"

    # catalog status: the data's real age, pinned lists dated by their review, cache hits
    # served, curated.json from the sync counts, the daily jobs not flagged on day one.
    assert main(["status", "--store", store, "--config", offline]) == 0
    table = capsys.readouterr().out
    full = next(line for line in table.splitlines() if line.startswith("full_refresh"))
    assert f"{days}d old" in full and f"{count}" in full
    curated = next(line for line in table.splitlines() if "curated " in line)
    assert not curated.startswith("!") and "published by an OpenRouter sync" in curated
    sweep = next(line for line in table.splitlines() if "deprecation_sweep" in line)
    assert not sweep.startswith("!") and "not run yet" in sweep
    assert re.search(r"^xai +pinned \(reviewed 2026-06-13\) +\d+d old +5$", table, re.M)
    assert all(len(line) <= 160 for line in table.splitlines())  # wrapped, nothing overflows

    # 2. Rerun offline: keeps the catalog, says so once with its age, no error line.
    assert main(["sync", "all", *base, "--offline-ok", "--explain", "gpt-4o"]) == 0
    captured = capsys.readouterr()
    both = captured.out + captured.err
    assert both.count("kept the published catalog") == 1
    assert f"embedded catalog, data as of {EMBEDDED_AS_OF[:10]}, {days} days old" in both
    assert "error:" not in captured.err
    # --explain works from the published catalog although this run fetched nothing.
    assert "explaining from the published catalog" in captured.out
    assert "openai/gpt-4o (OpenAI: GPT-4o), alias gpt-4o" in captured.out
    assert "priceTier" in captured.out
    # Cache hits are models served.
    providers = read_json(local, keys.STATUS)["jobs"]["providers"]
    assert providers["counts"]["served"] == sum(
        s["count"] for s in providers["sources"].values() if s["servedBy"] != "skipped"
    )
    assert providers["counts"]["served"] > 0

    # 3. A scheduler (no --offline-ok) still sees the failure: exit 1, status degraded.
    assert main(["sync", "all", *base]) == 1
    capsys.readouterr()
    entry = read_json(local, keys.STATUS)["jobs"]["full_refresh"]
    assert entry["outcome"] == "degraded" and not entry["published"]
    assert "kept the published catalog" in entry["error"]
    assert entry["counts"]["served"] == count  # the kept catalog is still served
    assert entry["dataAsOf"] == EMBEDDED_AS_OF

    # 4. The YAML export is checked as of the data, not as of today.
    out_dir = tmp_path / "v1"
    assert main(["export-registry", "--store", store, "--output", str(out_dir)]) == 0
    gpt = (out_dir / "gpt.yaml").read_text()
    assert f"last_checked: '{EMBEDDED_AS_OF[:10]}'" in gpt
    assert utcnow().date().isoformat() not in gpt.split("\n", 1)[1]


def test_reader_reports_the_data_age_not_the_publish_age(
    tmp_path: Path, offline: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "data"
    assert main(["sync", "openrouter", "--store", str(store), "--config", offline, "-q"]) == 0
    capsys.readouterr()
    app = create_app(Registry.open(str(store)), admin_token=TOKEN, refresh_seconds=0)
    with TestClient(app) as client:
        ready = client.get("/readyz")
        body = ready.json()
        assert body["dataAsOf"] == EMBEDDED_AS_OF
        assert body["ageSeconds"] >= _days_old(EMBEDDED_AS_OF) * 86400
        assert ready.status_code == 503 and f"data as of {EMBEDDED_AS_OF}" in body["reason"]
        metrics = client.get("/metrics").text
        age = float(re.search(r"^catalog_age_seconds (\S+)$", metrics, re.M).group(1))  # type: ignore[union-attr]
        assert age >= _days_old(EMBEDDED_AS_OF) * 86400
        admin = client.get("/api/admin/models/status", headers={"Authorization": "Bearer " + TOKEN})
        assert admin.json()["reader"]["dataAsOf"] == EMBEDDED_AS_OF


def test_admin_refresh_reads_json_whatever_the_content_type(tmp_path: Path) -> None:
    calls: list[str] = []

    def runner(scope: str, store: object, config: object, now: datetime) -> object:
        from pipeline.service.admin import JobOutcome

        calls.append(scope)
        return JobOutcome(None, "ok", False)

    store = tmp_path / "s"
    app = create_app(
        Registry(LocalStore(store)), admin_token=TOKEN, refresh_seconds=0, runner=runner
    )
    auth = {"Authorization": "Bearer " + TOKEN}
    with TestClient(app) as client:
        # What `curl -d '{"scope": "openrouter"}'` sends: a form content type.
        form = client.post(
            "/api/admin/models/refresh",
            content=b'{"scope": "openrouter"}',
            headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 202, form.text
        assert form.json()["scope"] == "openrouter"
        _wait_idle(client, form.json()["runId"], auth)
        bad = client.post(
            "/api/admin/models/refresh",
            content=b"scope=all",
            headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][0] == "body"
        empty = client.post("/api/admin/models/refresh", headers=auth)
        assert empty.status_code == 202 and empty.json()["scope"] == "all"
        _wait_idle(client, empty.json()["runId"], auth)
    assert calls == ["openrouter", "all"]


def _wait_idle(client: TestClient, run_id: str, auth: dict[str, str]) -> None:
    import time

    for _ in range(200):
        if (
            client.get(f"/api/admin/models/runs/{run_id}", headers=auth).json()["state"]
            == "finished"
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"refresh {run_id} did not finish")


def test_a_replay_older_than_the_store_is_refused_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "data"
    payload = str(fixture_path(PAYLOAD))
    base = ["sync", "openrouter", "--store", str(store), "--from-file", payload, "-q"]
    assert main([*base, "--now", "2026-08-20T06:00:00Z"]) == 0
    capsys.readouterr()
    before = _files(store)
    assert main([*base, "--now", "2026-08-19T06:00:00Z"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "2026-08-20T06:00:00Z" in err and "--store" in err and "--force" in err
    assert _files(store) == before  # nothing written: not even status or a run report
    # The sweep is a set job too.
    assert main(["sync", "sweep", "--store", str(store), "--now", "2026-08-19T00:00:00Z"]) == 2
    capsys.readouterr()
    assert _files(store) == before
    # --force moves it back on purpose; the same clock again is not "older".
    assert main([*base, "--now", "2026-08-19T06:00:00Z", "--force"]) == 0
    assert main([*base, "--now", "2026-08-19T06:00:00Z"]) == 0


def test_unknown_model_exits_4_everywhere_with_close_matches(
    tmp_path: Path, offline: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "data")
    assert main(["sync", "openrouter", "--store", store, "--config", offline, "-q"]) == 0
    capsys.readouterr()
    assert main(["resolve", "gpt4o", "--store", store]) == 4
    err = capsys.readouterr().err
    assert "'gpt4o' does not resolve" in err and "close matches: gpt-4o" in err
    assert main(["resolve", "gpt4o", "--store", store, "--json"]) == 4
    capsys.readouterr()
    assert main(["cost", "gpt4o", "--input", "10", "--output", "10", "--store", store]) == 4
    assert "close matches: gpt-4o" in capsys.readouterr().err
    # The same model, spelled right, resolves and prices.
    assert main(["resolve", "gpt-4o", "--store", store]) == 0
    assert main(["cost", "gpt-4o", "--input", "10", "--output", "10", "--store", store]) == 0


def test_paths_a_user_can_get_wrong_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    cases = [
        (["status", "--store", str(a_file)], 1, "is a file, not a directory"),
        (["sync", "curated", "--store", str(a_file)], 1, "is a file, not a directory"),
        (["resolve", "x", "--store", str(a_file / "sub")], 1, "which is a file"),
        (["status", "--config", str(tmp_path / "missing.yaml")], 2, "missing.yaml: cannot read"),
        (
            [
                "sync",
                "curated",
                "--store",
                str(tmp_path / "s"),
                "--overrides",
                str(tmp_path / "no"),
            ],
            2,
            "does not exist",
        ),
        (["validate", str(tmp_path / "nowhere")], 2, "nowhere"),
    ]
    for argv, code, needle in cases:
        assert main(argv) == code, argv
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err, (argv, err)
        assert len(err.strip().splitlines()) == 1, (argv, err)


def test_a_store_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /proc refuses new directories even to root; elsewhere a read-only directory does.
    store = Path("/proc/catalog-test-store") if os.geteuid() == 0 else tmp_path / "ro"
    if store.parent == tmp_path:
        store.mkdir()
        store.chmod(0o555)
    try:
        assert main(["sync", "curated", "--store", str(store), "-q"]) == 1
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if not line.startswith("{")]  # JSON logs
        assert "Traceback" not in err and len(lines) == 1 and str(store) in lines[0], err
    finally:
        if store.parent == tmp_path:
            store.chmod(0o755)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_published_files_are_readable_as_the_umask_allows(
    tmp_path: Path, umask: int, mode: int
) -> None:
    previous = os.umask(umask)
    try:
        store = LocalStore(tmp_path / "s")
        store.put("models/openrouter/current.json", b"{}")
        store.put("models/lock.json", b"{}", if_none_match=True)
    finally:
        os.umask(previous)
    for key in ("models/openrouter/current.json", "models/lock.json"):
        assert stat.S_IMODE((tmp_path / "s" / key).stat().st_mode) == mode


def test_a_named_source_without_its_key_is_skipped_not_a_failed_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "data"
    assert main(["sync", "openai", "--store", str(store), "-q"]) == 1  # it did not do it
    captured = capsys.readouterr()
    assert "openai: skipped: OPENAI_API_KEY is not set" in captured.err
    entry = read_json(LocalStore(store), keys.STATUS)["jobs"]["providers"]
    assert entry["outcome"] == "ok" and entry.get("error") is None
    assert entry["sources"]["openai"]["servedBy"] == "skipped"


def test_the_default_overrides_ship_in_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # Outside a checkout there is no repository overrides/: the packaged copies are used.
    monkeypatch.setattr(overrides_module, "REPO_OVERRIDES", REPO / "no-such-dir")
    monkeypatch.delenv("CATALOG_OVERRIDES", raising=False)
    chosen = overrides_module.resolve_dir(None)
    assert chosen == overrides_module.PACKAGED_OVERRIDES
    loaded = overrides_module.load_overrides(chosen)
    assert loaded.capabilities and (chosen / "pinned" / "xai.yaml").is_file()
    # Every file of overrides/ (including ones added later) is matched by the package-data
    # globs, so `pip install .` ships it.
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["pipeline"]
    for path in (REPO / "overrides").rglob("*"):
        if path.is_file():
            name = "defaults/" + path.relative_to(REPO / "overrides").as_posix()
            assert any(fnmatch.fnmatch(name, g) for g in globs), f"{name} is not package data"


def test_make_sync_is_lean_and_calm_while_make_test_adds_the_tools() -> None:
    makefile = (REPO / "Makefile").read_text()
    runtime = re.search(r"^\$\(STAMP\):.*?(?=^\S)", makefile, re.S | re.M).group(0)  # type: ignore[union-attr]
    assert "pip install --quiet -e ." in runtime and "[dev]" not in runtime
    assert re.search(r"^sync: \$\(STAMP\)$", makefile, re.M)
    assert re.search(r"^test: tools \$\(DEV_STAMP\)", makefile, re.M)  # tools: issue 28
    sync = re.search(r"^sync:.*?(?=^\S)", makefile, re.S | re.M).group(0)  # type: ignore[union-attr]
    assert "syncmodels all --offline-ok" in sync and "PATH" in sync
    assert re.search(r"^bench:.*\n(?:#.*\n)*\t\$\(BIN\)/python -m bench --check$", makefile, re.M)


def test_bench_closes_with_a_table_and_check_fails_on_a_miss(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(REPO))  # bench/ is beside tests/, not installed
    from bench import __main__ as bench_main
    from bench import targets

    def fast() -> None:
        targets.record("fake", "answers < 1 ms", "0.5 ms", True)

    def slow() -> None:
        targets.record("fake", "import < 100 ms", "140 ms", False)

    def broken() -> None:
        raise RuntimeError("no fixture")

    for name, fn in (("fast", fast), ("slow", slow), ("broken", broken)):
        monkeypatch.setitem(sys.modules, f"bench.{name}", types.SimpleNamespace(main=fn))
    monkeypatch.setattr(
        bench_main, "BENCHMARKS", {"bench.fast": "f", "bench.slow": "s", "bench.broken": "b"}
    )
    monkeypatch.setattr(targets, "RESULTS", [])
    monkeypatch.setattr(sys, "argv", ["bench", "--check"])
    assert bench_main.main() == 1
    out = capsys.readouterr().out
    table = out.split("### targets", 1)[1]
    assert re.search(r"answers < 1 ms +0\.5 ms +ok", table)
    assert re.search(r"import < 100 ms +140 ms +MISSED", table)
    assert re.search(r"broken +runs to the end +crashed: RuntimeError +MISSED", table)
    monkeypatch.setattr(targets, "RESULTS", [])
    monkeypatch.setattr(sys, "argv", ["bench", "fast"])
    assert bench_main.main() == 0  # without --check it reports, it does not fail
    monkeypatch.setattr(targets, "RESULTS", [])
    monkeypatch.setattr(sys, "argv", ["bench", "fast", "slow"])
    assert bench_main.main() == 0


def test_bench_reports_a_line_worse_than_its_baseline_and_records_one_on_purpose(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    from bench import __main__ as bench_main
    from bench import targets

    baseline = tmp_path / "baseline.json"
    baseline.write_text(
        json.dumps(
            {
                "recorded": "2026-01-01",
                "lines": {
                    "fake: sync < 150 ms": {"value": 100.0, "figure": "100 ms"},
                    "fake: start < 100 ms": {"value": 50.0, "figure": "50 ms"},
                    "fake: req/s > 100": {"value": 1000.0, "figure": "1000/s"},
                    "gone: kept < 1 s": {"value": 0.5, "figure": "0.5 s"},
                },
            }
        )
    )
    values = {"sync": 125.0, "start": 55.0, "rps": 700.0}

    def fake() -> None:
        targets.record(
            "fake", "sync < 150 ms", f"{values['sync']:.0f} ms", True, value=values["sync"]
        )
        targets.record(
            "fake", "start < 100 ms", f"{values['start']:.0f} ms", True, value=values["start"]
        )
        targets.record(
            "fake",
            "req/s > 100",
            f"{values['rps']:.0f}/s",
            True,
            value=values["rps"],
            higher_is_better=True,
        )
        targets.record("fake", "new line < 1 s", "0.2 s", True, value=0.2)

    monkeypatch.setitem(sys.modules, "bench.fake", types.SimpleNamespace(main=fake))
    monkeypatch.setattr(bench_main, "BENCHMARKS", {"bench.fake": "f"})
    monkeypatch.setattr(targets, "BASELINE", baseline)
    monkeypatch.setattr(targets, "RESULTS", [])
    monkeypatch.setattr(sys, "argv", ["bench", "--check"])
    assert bench_main.main() == 1  # every target met, but two lines regressed
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and " cores, Python 3." in out.splitlines()[0]
    table = out.split("### targets", 1)[1]
    assert re.search(r"sync < 150 ms +125 ms +ok +REGRESSION \+25% vs 100 ms", table)
    assert re.search(r"start < 100 ms +55 ms +ok +\+10% vs 50 ms$", table, re.M)
    assert re.search(r"req/s > 100 +700/s +ok +REGRESSION -30% vs 1000/s", table)
    assert re.search(r"new line < 1 s +0\.2 s +ok +new$", table, re.M)
    assert "2 REGRESSION(S) vs baseline: fake: sync < 150 ms, fake: req/s > 100" in out

    # Recording a new baseline keeps the lines of benches that did not run.
    monkeypatch.setattr(targets, "RESULTS", [])
    monkeypatch.setattr(sys, "argv", ["bench", "--update-baseline"])
    assert bench_main.main() == 0
    lines = json.loads(baseline.read_text())["lines"]
    assert lines["fake: sync < 150 ms"]["value"] == 125.0
    assert lines["fake: new line < 1 s"]["value"] == 0.2
    assert lines["gone: kept < 1 s"]["value"] == 0.5
    monkeypatch.setattr(targets, "RESULTS", [])
    monkeypatch.setattr(sys, "argv", ["bench", "--check"])
    assert bench_main.main() == 0  # the same figures against their own baseline


def test_the_committed_bench_baseline_names_lines_the_benches_record() -> None:
    document = json.loads((REPO / "bench" / "baseline.json").read_text())
    assert {"recorded", "machine", "lines"} <= set(document)
    for key, entry in document["lines"].items():
        bench, _, target = key.partition(": ")
        assert (REPO / "bench" / f"{bench}.py").exists() and target, key
        assert isinstance(entry["value"], int | float), key


def test_every_exit_code_is_documented_once() -> None:
    from pipeline.cli import common as cli

    jobs_doc = (REPO / "docs" / "jobs.md").read_text()
    readme = (REPO / "README.md").read_text()
    for code in cli.EXIT_CODES:
        assert re.search(rf"^\| {code} \|", jobs_doc, re.M), code
        assert re.search(rf"^\| {code} \|", readme, re.M), code
        assert re.search(rf"^    {code}  ", cli.__doc__ or "", re.M), code
    assert json.dumps(sorted(cli.EXIT_CODES)) == "[0, 1, 2, 3, 4]"
