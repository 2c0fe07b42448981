"""Issue 27, case 7: ``catalog export-site`` writes into a staging folder and swaps it in; a
model id it cannot name as a file (``p`` beside ``p.html/x``, a 70-emoji id over the file-name
limit, NUL) is skipped and reported, never an abort that leaves a partial site. Static pages
state the explorer's Content-Security-Policy in a ``<meta>``."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from html import escape
from pathlib import Path

import pytest
from conftest import commit, fixture_path, read_json

from pipeline.cli import main
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.web import site as site_module
from pipeline.web.pages import CSP_META

PAYLOAD = "openrouter-models-2026-08-19.json"
NOW = "2026-08-19T06:00:00Z"
EMOJI_ID = "🦙" * 70  # 70 characters, 280 bytes: a fine id, too long for a file name
AWKWARD = ["p", "p.html/x", EMOJI_ID]


@pytest.fixture
def awkward_store(tmp_path, sync_file, store) -> LocalStore:
    """The real payload plus models whose ids a file system cannot all hold as pages."""
    document = json.loads(fixture_path(PAYLOAD).read_bytes())
    template = document["data"][0]
    for model_id in AWKWARD:
        document["data"].append({**template, "id": model_id, "canonical_slug": None})
    path = tmp_path / PAYLOAD
    path.write_text(json.dumps(document), encoding="utf-8")
    assert sync_file(path, NOW).published
    return store


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _export(store: LocalStore, target: Path) -> int:
    return main(["export-site", str(target), "--store", str(store.root)])


def test_ids_that_cannot_be_file_names_are_skipped_and_reported(awkward_store, tmp_path, capsys):
    target = tmp_path / "site"
    assert _export(awkward_store, target) == 0
    captured = capsys.readouterr()
    assert "2 model(s) without a page" in captured.out
    assert "no page for model 'p.html/x': its file name clashes with another" in captured.err
    assert "its file name is longer than the file system allows" in captured.err
    assert (target / "models" / "p.html").is_file()
    assert not (target / "models" / "p.html" / "x.html").exists()
    # Every other model has its page: the export went on after each skip.
    models = [m["id"] for m in read_json(awkward_store, keys.CURRENT)["models"]]
    page = os.path.isfile  # Path.is_file raises on a name over the limit
    missing = [m for m in models if not page(target / "models" / f"{m}.html")]
    assert sorted(missing) == sorted(["p.html/x", EMOJI_ID])
    assert (target / "index.html").is_file() and (target / "feeds" / "changes.atom").is_file()
    assert not list(tmp_path.glob(".site.*"))  # no staging folder left


def test_a_nul_in_an_id_is_skipped_and_named_escaped(tmp_path, sync_file, store, capsys):
    assert sync_file(fixture_path(PAYLOAD), NOW).published
    current = read_json(store, keys.CURRENT)
    current["models"].append({**current["models"][0], "id": "evil/nul\x00byte"})
    commit(store, {"current": current})  # a store written before ids were checked
    target = tmp_path / "site"
    assert _export(store, target) == 0
    captured = capsys.readouterr()
    assert "no page for model 'evil/nul\\\\u0000byte': its id holds NUL" in captured.err
    assert "\x00" not in captured.err
    assert (target / "models" / f"{current['models'][0]['id']}.html").is_file()


def test_a_failed_export_leaves_the_previous_site_as_it_was(
    awkward_store, tmp_path, monkeypatch, capsys
):
    target = tmp_path / "site"
    assert _export(awkward_store, target) == 0
    before = _tree(target)
    calls = 0
    real = site_module.model_html

    def disk_full_midway(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 71:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(site_module, "model_html", disk_full_midway)
    assert _export(awkward_store, target) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert _tree(target) == before  # not 71 new pages over the old ones: the old site, whole
    assert not list(tmp_path.glob(".site.*"))  # the staging folder is gone too


def test_a_new_export_replaces_the_old_site_whole(awkward_store, tmp_path, capsys):
    target = tmp_path / "site"
    assert _export(awkward_store, target) == 0
    stray = target / "models" / "gone" / "model.html"
    stray.parent.mkdir(parents=True)
    stray.write_text("a page of a model the catalog no longer has")
    assert _export(awkward_store, target) == 0
    assert not stray.exists()
    assert (target / "index.html").is_file()
    assert not list(tmp_path.glob(".site.*"))
    capsys.readouterr()


def test_a_folder_holding_other_files_is_refused_untouched(awkward_store, tmp_path, capsys):
    target = tmp_path / "home"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert _export(awkward_store, target) == 2
    assert "holds notes.txt, which export-site did not write" in capsys.readouterr().err
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert not list(tmp_path.glob(".home.*"))


def test_static_pages_state_the_content_security_policy(awkward_store, tmp_path, capsys):
    target = tmp_path / "site"
    assert _export(awkward_store, target) == 0
    capsys.readouterr()
    meta = f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP_META)}">'
    for page in ("index.html", "curated.html", "changes.html", "compare.html"):
        html = (target / page).read_text()
        assert meta in html
        assert '<meta name="referrer" content="no-referrer">' in html
        # Compatible with the page: no inline script or style for the policy to block.
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert " style=" not in html and "<style" not in html
    nested = (target / "models" / "openai" / "gpt-4o.html").read_text()
    assert "Content-Security-Policy" in nested
    assert "frame-ancestors" not in CSP_META  # ignored in a <meta>; the served header has it
