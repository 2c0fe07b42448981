"""Override files: the shipped ones are valid and real; a bad one stops the run, names the file,
the JSON path and the problem, and leaves the published store exactly as it was."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO, fixture_path

from pipeline import schemagen
from pipeline.cli import main
from pipeline.overrides.files import (
    OVERRIDE_FILES,
    AliasOverrides,
    load_overrides,
    validate_directory,
)
from pipeline.publishing import schemas
from pipeline.sources import openrouter
from pipeline.stages.normalize import family_of

ALL = "openrouter-models-all-2026-08-19.json"
SHIPPED = REPO / "overrides"


def snapshot_ids() -> set[str]:
    return {item["id"] for item in openrouter.extract_items(fixture_path(ALL).read_bytes())}


# -- the shipped files ------------------------------------------------------------------------


def test_shipped_files_are_valid(capsys):
    assert validate_directory(SHIPPED) == []
    assert main(["validate", str(SHIPPED)]) == 0
    out = capsys.readouterr().out
    assert f"{len(OVERRIDE_FILES)} override file(s) valid" in out
    loaded = load_overrides(SHIPPED)
    assert set(loaded.files) == set(OVERRIDE_FILES)
    assert loaded.capabilities and loaded.aliases and loaded.deprecations


def test_shipped_entries_are_real_for_the_2026_catalog():
    ids = snapshot_ids()
    loaded = load_overrides(SHIPPED)
    for entry in loaded.capabilities:
        if entry.match is not None:
            assert entry.match in ids, entry.match
        else:
            assert entry.pattern is not None
            assert any(re.search(entry.pattern, i) for i in ids), entry.pattern
    assert set(loaded.aliases) <= ids
    for dep in loaded.deprecations:
        assert dep.id in ids, dep.id
        assert dep.redirect_to in ids, dep.redirect_to
        assert family_of(dep.redirect_to) == family_of(dep.id)
    notes = [e.note for e in loaded.capabilities] + [d.note for d in loaded.deprecations]
    alias_file = loaded.files["alias-overrides.json"]
    assert isinstance(alias_file, AliasOverrides)
    notes += [a.note for a in alias_file.aliases]
    for note in notes:  # why, and since when
        assert re.search(r"\d{4}-\d{2}-\d{2}", note), note


def test_committed_schemas_match_the_models(capsys):
    assert main(["schemas"]) == 0, capsys.readouterr().err
    for file_name in OVERRIDE_FILES:
        name = file_name.removesuffix(".json")
        assert schemas.committed(name) == schemagen.render(name)


def test_shipped_capability_override_applies_in_a_sync(tmp_path, capsys):
    code = sync(tmp_path / "store", SHIPPED)
    assert code == 0, capsys.readouterr().err
    current = json.loads((tmp_path / "store/models/openrouter/current.json").read_bytes())
    lyria = {m["id"]: m for m in current["models"]}["google/lyria-3-clip-preview"]
    assert (lyria["kind"], lyria["detectionSource"]["kind"]) == ("speech", "override")
    report_key = f"models/runs/{current['runId']}.json"
    report = json.loads((tmp_path / "store" / report_key).read_bytes())
    assert report["details"]["capabilities"]["kind"]["override"] == 2
    assert {(c["id"], c["decidedBy"]) for c in report["details"]["conflicts"]} == {
        ("google/lyria-3-clip-preview", "override"),
        ("google/lyria-3-pro-preview", "override"),
    }


# -- bad files --------------------------------------------------------------------------------

BAD = {
    "invalid-json": (
        "capability-overrides.json",
        '{"overrides": [\n  {"match": "openai/gpt-4o", "set": {"supportsTools": true},'
        ' "note": "since 2026-08"}\n',
        "$: invalid JSON at line 3 column 1: Expecting ',' delimiter",
    ),
    "schema-violation": (
        "capability-overrides.json",
        '{"overrides": [{"match": "openai/gpt-4o", "set": {"supportsTools": "yes"},'
        ' "note": "since 2026-08"}]}',
        '$.overrides[0].set.supportsTools: "yes" is not of type "boolean"',
    ),
    "schema-violation-missing-note": (
        "capability-overrides.json",
        '{"overrides": [{"match": "openai/gpt-4o", "set": {"supportsTools": true}}]}',
        '$.overrides[0]: "note" is a required property',
    ),
    "duplicate-key": (
        "capability-overrides.json",
        '{"overrides": [{"match": "openai/gpt-4o", "match": "openai/gpt-4.1",'
        ' "set": {"supportsTools": true}, "note": "since 2026-08"}]}',
        "$.overrides[0]: duplicate key 'match'",
    ),
    "unknown-flag": (
        "capability-overrides.json",
        '{"overrides": [{"match": "openai/gpt-4o", "set": {"supportsVideo": true},'
        ' "note": "since 2026-08"}]}',
        "$.overrides[0].set.supportsVideo: unknown flag 'supportsVideo' (known flags: kind, "
        "supportsVision, supportsTools, reasoning, structuredOutput, isImageGen, isFree)",
    ),
    "pattern-does-not-compile": (
        "capability-overrides.json",
        '{"overrides": [{"pattern": "^acme/(vl", "set": {"supportsVision": true},'
        ' "note": "since 2026-08"}]}',
        "$.overrides[0].pattern: does not compile: RE2 refuses it (missing ): ^acme/(vl); "
        "use a plain regular expression without backreferences or lookaround",
    ),
    "alias-schema-violation": (
        "alias-overrides.json",
        '{"aliases": [{"id": "openai/gpt-4o", "alias": "GPT 4o", "note": "since 2026-08"}]}',
        '$.aliases[0].alias: "GPT 4o" does not match "^[a-z0-9][a-z0-9.\\-]*$"',
    ),
    "alias-reserved-twice": (
        "alias-overrides.json",
        '{"aliases": [{"id": "a/x", "alias": "x", "note": "since 2026-08"},'
        ' {"id": "a/y", "alias": "x", "note": "since 2026-08"}]}',
        "$.aliases[1].alias: 'x' is already reserved at $.aliases[0]",
    ),
    "deprecation-duplicate-key": (
        "deprecation-overrides.json",
        '{"deprecations": [], "deprecations": []}',
        "$: duplicate key 'deprecations'",
    ),
    "deprecation-redirects-to-itself": (
        "deprecation-overrides.json",
        '{"deprecations": [{"id": "a/x", "redirectTo": "a/x", "note": "since 2026-08"}]}',
        "$.deprecations[0].redirectTo: redirects to itself",
    ),
}


def sync(store: Path, overrides: Path | None, *extra: str) -> int:
    args = ["sync", "all", "--store", str(store), "--from-file", str(fixture_path(ALL))]
    args += ["--now", "2026-08-19T06:00:00Z", "-q", *extra]
    if overrides is not None:
        args += ["--overrides", str(overrides)]
    return main(args)


def store_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def published(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A store holding a good sync (with the shipped overrides)."""
    store = tmp_path / "store"
    assert sync(store, SHIPPED) == 0, capsys.readouterr().err
    capsys.readouterr()
    return store


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_override_file_stops_the_run_and_changes_nothing(case, published, tmp_path, capsys):
    file_name, text, problem = BAD[case]
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    (bad_dir / file_name).write_text(text, encoding="utf-8")
    current = (published / "models/openrouter/current.json").read_bytes()
    before = store_bytes(published)

    code = sync(published, bad_dir, "--now", "2026-08-20T06:00:00Z")

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == f"error: overrides: {bad_dir / file_name}: {problem}\n"
    assert captured.out == ""
    assert (published / "models/openrouter/current.json").read_bytes() == current
    assert store_bytes(published) == before  # no report, no status, no raw snapshot either

    assert main(["validate", str(bad_dir)]) == 2  # as a sync with these files (issue 13)
    assert capsys.readouterr().err == f"error: {bad_dir / file_name}: {problem}\n"


def test_catalog_overrides_env_points_at_another_directory(
    published, tmp_path, capsys, monkeypatch
):
    file_name, text, problem = BAD["unknown-flag"]
    bad_dir = tmp_path / "env-bad"
    bad_dir.mkdir()
    (bad_dir / file_name).write_text(text, encoding="utf-8")
    before = store_bytes(published)
    monkeypatch.setenv("CATALOG_OVERRIDES", str(bad_dir))
    assert sync(published, None) == 2
    assert capsys.readouterr().err == f"error: overrides: {bad_dir / file_name}: {problem}\n"
    assert store_bytes(published) == before


def test_missing_overrides_directory_is_an_error(published, tmp_path, capsys):
    before = store_bytes(published)
    assert sync(published, tmp_path / "nowhere") == 2
    err = capsys.readouterr().err
    assert (
        err == f"error: overrides: {tmp_path / 'nowhere'}: $: overrides directory does not exist\n"
    )
    assert store_bytes(published) == before


def test_every_published_schema_has_a_model_and_the_other_way_round():
    # The validator (schemas.ARTIFACTS, names only) and the generator (schemagen.ARTIFACTS,
    # name → model) keep separate lists so that reading one artifact builds no other model.
    assert set(schemas.ARTIFACTS) == set(schemagen.ARTIFACTS)
    for name in schemas.ARTIFACTS:
        assert schemas.committed(name) == schemagen.render(name)
