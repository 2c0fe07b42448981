"""Issue 25: the explorer's pages and Atom feed come from Jinja2 templates that escape every
value by default — checked on real records with hostile text put where upstream text goes —
and the templates are shipped, and loaded only when a page is rendered."""

from __future__ import annotations

import html
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, Replay

from pipeline.web import pages

HOSTILE = "\"><script>alert('x')</script>&amp;"
SHOWN = html.escape(HOSTILE, quote=True)
ATOM = "{http://www.w3.org/2005/Atom}"


def _real_model(replay: Replay) -> dict[str, Any]:
    """A real published record that has evidence for its flags."""
    models = replay.steps[-1].models
    return dict(next(m for m in models.values() if m.get("evidence") and m.get("sources")))


def _page(model: dict[str, Any], **extra: Any) -> str:
    arguments: dict[str, Any] = {
        "timeline": [],
        "redirects_in": [],
        "redirect_out": None,
        "old_aliases": [],
        "curated": None,
        "links": pages.Links(),
        "end": "2026-08-19T00:00:00Z",
        "subtitle": "",
    }
    return pages.model_page(model, **{**arguments, **extra})


def test_upstream_text_is_escaped_everywhere_on_a_model_page(replay: Replay) -> None:
    model = _real_model(replay)
    flag = next(iter(model["evidence"]))
    model.update(
        name=HOSTILE,
        alias=HOSTILE,
        evidence={**model["evidence"], flag: HOSTILE},
        sources=[{"source": HOSTILE, "nativeId": HOSTILE}],
        offers=[{"provider": HOSTILE, "tag": HOSTILE, "pricing": {}}],
        verification={"status": HOSTILE, "verifiedCapabilities": [HOSTILE]},
    )
    event = {"at": "2026-08-01T00:00:00Z", "event": "changed", "id": model["id"]}
    page = _page(
        model,
        timeline=[{**event, "changes": {"name": ["before", HOSTILE]}}],
        old_aliases=[HOSTILE],
        redirects_in=[{"from": "acme/old", "reason": HOSTILE}],
        curated={"rank": 0.5, "buckets": ["coding"], "scores": {"quality": {"detail": HOSTILE}}},
    )
    assert "<script>" not in page and "alert('x')" not in page
    assert f"<h1>{SHOWN} " in page and f"<td><code>{SHOWN}</code> (formerly {SHOWN})" in page
    assert f'<tr data-flag="{flag}">' in page and f"<td>{SHOWN}</td></tr>" in page
    assert f"<li>{SHOWN}: <code>{SHOWN}</code></li>" in page
    assert f"<td>{SHOWN}</td><td><code>{SHOWN}</code></td>" in page  # the offer
    assert f"<tr><th>Status</th><td>{SHOWN}</td></tr>" in page
    assert f"name: before → {SHOWN}</td>" in page
    assert f"({SHOWN})</td>" in page  # the redirect's reason
    # Quotes read as Python's html.escape writes them (the pages' bytes before the templates).
    assert "&quot;&gt;&lt;script&gt;alert(&#x27;x&#x27;)" in page and "&#39;" not in page


def test_absent_fields_read_as_nothing_not_none(replay: Replay) -> None:
    page = _page({"id": "acme/m1", "name": None, "pricing": {}, "lifecycle": {"state": None}})
    assert "None" not in page
    assert "<tr><th>Name</th><td></td></tr>" in page and "<tr><th>state</th><td></td></tr>" in page
    assert "<tr><th>Knowledge cutoff</th><td>—</td></tr>" in page


def test_pages_listing_many_models_escape_ids_and_names(replay: Replay) -> None:
    row = {**replay.steps[-1].current["models"][0], "id": f"acme/{HOSTILE}", "name": HOSTILE}
    core = [{"id": row["id"], "alias": HOSTILE, "summary": HOSTILE, "defaults": {"k": HOSTILE}}]
    curated = pages.curated_page(
        {"coding": [{"id": row["id"], "scores": {"quality": {"value": 1, "source": HOSTILE}}}]},
        pages.Links(),
        subtitle=HOSTILE,
        core=core,
    )
    compare = pages.compare_page(
        [{"id": row["id"], "name": HOSTILE}] * 2, pages.Links(), subtitle="", missing=[HOSTILE]
    )
    for page in (curated, compare):
        assert "<script>" not in page and SHOWN in page
    assert f'<td class="defaults">k={SHOWN}</td>' in curated
    assert f'title="{SHOWN}: ">1.00 <span class="layer">{SHOWN}</span>' in curated
    assert f'<input type="text" name="ids" value="acme/{SHOWN},acme/{SHOWN}"' in compare


def test_atom_feed_is_well_formed_xml_that_gives_back_the_text() -> None:
    events = [
        {
            "id": f"acme/{HOSTILE}",
            "event": "changed",
            "at": "2026-08-19T06:00:00Z",
            "runId": "run&1",
            "changes": {"name": ["a<b", "c&d"], "pricing.input": [1.5, 2]},
        }
    ]
    feed = pages.atom(
        events, base="https://models.example/", updated="2026-08-19T07:00:00Z", links=pages.Links()
    )
    root = ET.fromstring(feed)
    (entry,) = root.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == f"acme/{HOSTILE} changed"
    assert entry.findtext(f"{ATOM}id") == f"urn:model-catalog:run&1:acme/{HOSTILE}"
    assert entry.findtext(f"{ATOM}summary") == "name: a<b → c&d; pricing.input: $1.5 → $2"
    link = entry.find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == "https://models.example" + pages.Links().model(f"acme/{HOSTILE}")
    assert root.findtext(f"{ATOM}updated") == "2026-08-19T07:00:00Z"


def test_every_template_is_shipped_in_the_package() -> None:
    """``pip install .`` outside the checkout needs each template listed as package data."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["pipeline"]
    package = REPO / "pipeline"
    shipped = {path.relative_to(package).as_posix() for p in patterns for path in package.glob(p)}
    templates = [t for t in (package / "web" / "templates").rglob("*") if t.is_file()]
    assert {t.suffix for t in templates} == {".html", ".atom"}
    for template in templates:
        relative = template.relative_to(package).as_posix()
        assert relative in shipped, f"{relative} is not in [tool.setuptools.package-data]"


@pytest.mark.parametrize("module", ["pipeline.service.app", "pipeline.web.site"])
def test_jinja2_loads_only_when_a_page_is_rendered(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "from pipeline.web import pages\n"
        "print('jinja2' in sys.modules)\n"
        "pages.compare_page([], pages.Links(), subtitle='')\n"
        "print('jinja2' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(REPO)
    )
    assert out.stdout.split() == ["False", "True"]
