"""The command line as operators use it: exit codes, summary, status, schemas, fallback build."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import REPO, fixture_path, read_json

from pipeline import __version__, schemagen
from pipeline.cli import main, syncmodels_main
from pipeline.publishing import keys, schemas
from pipeline.publishing.store import LocalStore
from pipeline.records.catalog import CurrentCatalog
from pipeline.runs import build_fallback, fallback


def test_syncmodels_is_catalog_sync(tmp_path, capsys):
    store = tmp_path / "s"
    path = fixture_path("openrouter-models-2026-08-19.json")
    code = syncmodels_main(
        ["all", "--store", str(store), "--from-file", str(path), "--now", "2026-08-19T06:00:00Z"]
    )
    captured = capsys.readouterr()
    assert code == 0
    summary = captured.out.strip().splitlines()[-1]
    assert summary.startswith("openrouter: 414 models (+414 added, -0 removed, 0 quarantined)")
    assert str(store) in summary
    status = read_json(LocalStore(store), keys.STATUS)
    assert status["jobs"]["full_refresh"]["outcome"] == "ok"


def test_nothing_published_exits_non_zero_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("<html>oops</html>")
    code = main(["sync", "openrouter", "--store", str(tmp_path / "s"), "--from-file", str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("error: ") and "HTML, not JSON" in err[-1]


def test_usage_and_config_errors_exit_2(tmp_path, capsys):
    assert main(["sync", "everything", "--store", str(tmp_path)]) == 2
    assert "unknown sync target 'everything'" in capsys.readouterr().err
    assert main(["sync", "openrouter", "--now", "yesterday", "--store", str(tmp_path)]) == 2
    assert "--now 'yesterday' is not an ISO-8601 time" in capsys.readouterr().err
    config = tmp_path / "catalog.yaml"
    config.write_text("lifecycle:\n  deprecated_after_dayz: 3\n")
    assert main(["sync", "openrouter", "--config", str(config), "--store", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(config) in err and "lifecycle.deprecated_after_dayz" in err


def test_status_table_and_json(tmp_path, capsys):
    store = str(tmp_path / "s")
    assert main(["status", "--store", store]) == 1
    assert "has no models/status.json: nothing published yet" in capsys.readouterr().err
    main(
        [
            "sync",
            "openrouter",
            "--store",
            store,
            "--now",
            "2026-08-19T06:00:00Z",
            "--from-file",
            str(fixture_path("openrouter-models-2026-08-19.json")),
        ]
    )
    capsys.readouterr()
    assert main(["status", "--store", store, "--now", "2026-08-19T08:00:00Z"]) == 0
    table = capsys.readouterr().out
    assert "openrouter" in table and "ok" in table and "2h ago" in table and "414" in table
    assert main(["status", "--store", store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["jobs"]["openrouter"]["counts"]["published"] == 414


def test_store_from_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CATALOG_STORE", str(tmp_path / "env-store"))
    code = main(
        [
            "sync",
            "openrouter",
            "--from-file",
            str(fixture_path("openrouter-models-2026-08-19.json")),
        ]
    )
    assert code == 0
    assert (tmp_path / "env-store" / keys.CURRENT).exists()


def test_committed_schemas_match_the_models():
    for name in schemagen.all_names():
        assert schemas.committed(name) == schemagen.render(name), (
            f"pipeline/schemas/{name}.schema.json is stale: run `catalog schemas --write`"
        )


def test_published_artifacts_validate_against_published_schemas(tmp_path, sync_file, store):
    from jsonschema import Draft202012Validator

    result = sync_file(fixture_path("openrouter-models-all-2026-08-19.json"))
    for name, key in (
        ("current", keys.CURRENT),
        ("status", keys.STATUS),
        ("run-report", keys.run_report(result.run_id)),
    ):
        schema = json.loads(store.get(keys.schema(name)).data)
        document = json.loads(store.get(key).data)
        assert not list(Draft202012Validator(schema).iter_errors(document)), name


def test_embedded_catalog_and_history_are_valid_and_rebuildable(tmp_path, capsys):
    embedded = fallback.load_embedded()
    assert embedded.count == len(embedded.models) > 500
    assert embedded.data_as_of == embedded.generated_at
    schemas.validate("current", json.loads(fallback.embedded_path().read_bytes()))
    out, history_out = tmp_path / "rebuilt.json", tmp_path / "history"
    # No --now: the payload's time is the date in its name, read as `history rebuild` reads it.
    code = main(
        [
            "build-fallback",
            "--from-file",
            str(fixture_path("openrouter-models-all-2026-08-19.json")),
            "--output",
            str(out),
            "--history-output",
            str(history_out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    rebuilt = CurrentCatalog.model_validate_json(out.read_bytes())
    assert [m.id for m in rebuilt.models] == [m.id for m in embedded.models]
    assert out.read_bytes() == fallback.embedded_path().read_bytes(), (
        "the shipped embedded catalog is stale: run `make fallback`"
    )
    # The history: the same command, every recorded snapshot up to the catalog's, replayed by
    # the history rebuild; shipped byte for byte as that job committed it.
    shipped = fallback.embedded_history_path()
    assert sorted(p.name for p in history_out.iterdir()) == sorted(
        p.name for p in shipped.iterdir()
    )
    for path in history_out.iterdir():
        assert path.read_bytes() == (shipped / path.name).read_bytes(), (
            f"the shipped embedded history is stale ({path.name}): run `make fallback`"
        )
    history = fallback.load_embedded_history()
    assert history is not None
    replayed = sorted(
        p.name
        for p in fixture_path("openrouter-models-all-2026-08-19.json").parent.glob("openrouter*")
    )
    assert f"history of {len(replayed)} payloads, {history.index.events} events" in printed
    segments = history.index.segments
    assert segments[0].first_at == "2024-02-18T01:00:00Z"
    assert segments[-1].last_at == embedded.data_as_of  # it ends where the catalog's data does
    for ref in segments:
        schemas.validate("history-segment", json.loads(history.segments[ref.key]))
    # Bounded: it ships in every install (README, "Footprint").
    size = len(history.index_bytes) + sum(len(d) for d in history.segments.values())
    assert size <= build_fallback.MAX_HISTORY_BYTES


def test_a_history_over_its_bound_is_refused_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(build_fallback, "MAX_HISTORY_BYTES", 10_000)
    payloads = tmp_path / "payloads"
    payloads.mkdir()
    for name in ("openrouter-models-2026-08-17.json", "openrouter-models-2026-08-19.json"):
        (payloads / name).symlink_to(fixture_path(name))
    code = main(
        [
            "build-fallback",
            "--from-file",
            str(payloads / "openrouter-models-2026-08-19.json"),
            "--output",
            str(tmp_path / "catalog.json"),
            "--history-output",
            str(tmp_path / "history"),
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"{payloads}: the history of 2 payloads weighs" in err and "over the 10,000" in err
    assert not (tmp_path / "catalog.json").exists() and not (tmp_path / "history").exists()


def test_console_scripts_are_installed():
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0 and "catalog" in proc.stdout


def test_exit_codes_are_the_codes_jobs_give():
    """The CLI spells out 0, 1 and 3 so that parsing arguments does not load the job machinery:
    they must stay the codes run_job's results carry."""
    from pipeline.cli import common
    from pipeline.runs import jobs

    assert (common.EXIT_OK, common.EXIT_FAILED, common.EXIT_LOCKED) == (
        jobs.EXIT_OK,
        jobs.EXIT_FAILED,
        jobs.EXIT_LOCKED,
    )


# What a command needs is imported when it runs: printing the version or a help page loads the
# CLI's own modules and nothing of the pipeline (no pydantic, no config, no store, no jobs).
_LOADED = (
    "import sys\n"
    "from pipeline.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(*sorted(sys.modules), file=sys.stderr)\n"
)


@pytest.mark.parametrize(
    "argv", [["--version"], ["--help"], ["list", "--help"], ["status", "--help"]]
)
def test_version_and_help_load_only_the_cli(argv):
    proc = subprocess.run(
        [sys.executable, "-c", _LOADED, *argv], capture_output=True, text=True, cwd=REPO, check=True
    )
    loaded = set(proc.stderr.split())
    pipeline = {m for m in loaded if m.startswith("pipeline.") and not m.startswith("pipeline.cli")}
    assert pipeline <= {"pipeline.timeutil"}
    assert not loaded & {"pydantic", "yaml", "httpx", "simplejson", "jsonschema_rs"}
    printed = f"catalog {__version__}\n" if argv == ["--version"] else "usage: catalog"
    assert proc.stdout.startswith(printed)


def test_a_parser_built_for_one_command_prints_and_parses_as_the_whole_one(capsys):
    """`catalog X` builds only X's options: every help, usage error and parse is the same as
    with every command's options built."""
    from pipeline.cli.parser import build_parser

    whole = build_parser()
    listed = re.search(r"\{([a-z,-]+)\}", whole.format_usage())
    assert listed is not None
    names = listed.group(1).split(",")
    assert len(names) == 21
    failing = [[name, "--help"] for name in names] + [
        ["--help"],
        ["--version"],
        [],
        ["bogus"],
        ["list", "--bogus"],
        ["list", "extra"],
        ["-h", "list"],
        ["cost", "gpt-4o", "--input", "x"],
    ]
    for argv in failing:
        printed = []
        for parser in (whole, build_parser(argv)):
            with pytest.raises(SystemExit) as exited:
                parser.parse_args(argv)
            printed.append((exited.value.code, capsys.readouterr()))
        assert printed[0] == printed[1], argv
    for argv in (["list", "--limit", "20", "--sort", "rank", "--desc"], ["status", "--json"]):
        one, every = vars(build_parser(argv).parse_args(argv)), vars(whole.parse_args(argv))
        assert one.pop("func").__name__ == every.pop("func").__name__
        assert one == every


def test_sync_help_lists_the_job_targets(capsys):
    from pipeline.runs.jobs import TARGETS

    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"TARGET {' | '.join(TARGETS)} | a provider source (openai, ...)" in help_text
