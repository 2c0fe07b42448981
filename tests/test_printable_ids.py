"""Issue 27, case 6: printable identities. Real payloads edited to carry hostile ids and names
(5,000 characters, NUL, U+0001, ESC, ``\\x0b``, bidi overrides) are quarantined in every source
— OpenRouter, each provider adapter, pinned manifests, the endpoints data — and whatever the
CLI, the explorer and the feed print is escaped for its medium."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import commit, fixture_path, read_json
from provider_server import KEY, ProviderServer

from pipeline.cli import main
from pipeline.config import CatalogConfig
from pipeline.offers.parse import parse_offers
from pipeline.printable import MAX_ID_CHARS, escaped, for_terminal, for_xml, identity_problem
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.runs.providers import ProvidersRequest, sync_providers
from pipeline.timeutil import parse_iso
from pipeline.web import pages

NOW = parse_iso("2026-08-19T06:00:00Z")
PAYLOAD = "openrouter-models-2026-08-19.json"
REPO = Path(__file__).resolve().parent.parent

# id (or name) → what the quarantine reason must say.
HOSTILE_IDS = {
    "evil/\u202egpt-4o": "bidi control (U+202E)",
    "evil/" + "x" * 5000: "characters long (at most 256)",
    "evil/nul\x00byte": "unprintable character (U+0000)",
    "evil/soh\x01": "unprintable character (U+0001)",
    "evil/isolate\u2066x\u2069": "bidi control (U+2066)",
    "evil/line\u2028break": "id contains whitespace",  # the payload model refuses it first
}
HOSTILE_NAMES = {
    "Vertical\x0btab": "unprintable character (U+000B)",
    "\x1b[2J\x1b[31mRed": "unprintable character (U+001B)",
    "n" * (MAX_ID_CHARS + 1): "characters long",
}
RAW = ("\u202e", "\x00", "\x01", "\x0b", "\x1b", "\u2066", "\u2028")


def _hostile_openrouter(tmp_path: Path) -> Path:
    """The real 2026-08-19 payload with copies of a real record carrying each hostile id and
    name appended."""
    document = json.loads(fixture_path(PAYLOAD).read_bytes())
    template = document["data"][0]
    for model_id in HOSTILE_IDS:
        document["data"].append({**template, "id": model_id, "canonical_slug": None})
    for number, name in enumerate(HOSTILE_NAMES):
        document["data"].append({**template, "id": f"evil/named-{number}", "name": name})
    path = tmp_path / PAYLOAD
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _assert_no_raw(data: bytes | str, where: str) -> None:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    for char in RAW:
        assert char not in text, f"{where} carries U+{ord(char):04X} as it is"


def test_hostile_ids_and_names_in_the_openrouter_feed_are_quarantined(tmp_path, sync_file, store):
    result = sync_file(_hostile_openrouter(tmp_path), NOW)
    assert result.published, result.error
    current = read_json(store, keys.CURRENT)
    published = {m["id"] for m in current["models"]}
    assert not published & set(HOSTILE_IDS)
    assert not {f"evil/named-{n}" for n in range(len(HOSTILE_NAMES))} & published
    assert all(identity_problem(m["id"]) is None for m in current["models"])
    assert all(identity_problem(m["name"], "name") is None for m in current["models"])

    report = read_json(store, keys.run_report(result.run_id))
    reasons = {q["id"]: q["reason"] for q in report["quarantined"]}
    for model_id, why in HOSTILE_IDS.items():
        assert why in reasons[escaped(model_id)], reasons
    for number, why in enumerate(HOSTILE_NAMES.values()):
        assert why in reasons[f"evil/named-{number}"]
    assert report["counts"]["quarantined"] == len(HOSTILE_IDS) + len(HOSTILE_NAMES)
    # The report names them escaped; no hostile character is written anywhere in the store.
    for path in store.root.rglob("*.json"):
        if not path.name.startswith("raw-"):  # the raw snapshot keeps upstream's bytes
            _assert_no_raw(path.read_bytes(), str(path))


def _with_hostile_entry(payload: bytes, model_id: str) -> tuple[bytes, str]:
    """A provider list with a copy of its first entry under ``model_id`` appended, and the id
    as the list gives it (Gemini's carry `models/`)."""
    document = json.loads(payload)
    items = (
        document
        if isinstance(document, list)
        else document["data"]
        if "data" in document
        else document["models"]
    )
    entry = dict(items[0])
    field = "id" if "id" in entry else "name"
    prefix = "models/" if str(entry[field]).startswith("models/") else ""
    entry[field] = prefix + model_id
    items.append(entry)
    return json.dumps(document).encode(), entry[field]


@pytest.mark.parametrize(
    ("fixture", "source_type"),
    [
        ("provider-openai-models-2026-08-17.json", "openai"),
        ("provider-anthropic-models-2026-08-17.json", "anthropic"),
        ("provider-gemini-models-2026-08-17.json", "gemini"),
        ("provider-mistral-models-2026-08-17.json", "mistral"),
        ("provider-together-models-2026-08-17.json", "together"),
        ("provider-cohere-models-2026-08-17.json", "cohere"),
        ("provider-groq-models-2026-08-17.json", "groq"),
    ],
)
@pytest.mark.parametrize("hostile", ["evil\u202ex", "evil\x1b[31mx", "e" * 300])
def test_every_provider_adapter_quarantines_hostile_ids(fixture, source_type, hostile, tmp_path):
    from test_providers import make_config, only_source

    store = LocalStore(tmp_path / "store")
    payload, raw_id = _with_hostile_entry(fixture_path(fixture).read_bytes(), hostile)
    with ProviderServer() as server:
        base = server.mount(source_type, source_type, payload)
        config = make_config(only_source(source_type, source_type, base))
        result = sync_providers(
            store,
            config,
            ProvidersRequest(now=NOW, only=[source_type]),
            env={"TEST_KEY": KEY},
            sleep=lambda _s: None,
        )
    outcome = result.results[source_type]
    assert outcome.tier == "api", outcome.reason
    assert [q.id for q in outcome.quarantined] == [escaped(raw_id)]
    current = read_json(store, keys.provider_current(source_type))
    assert current["count"] == len(current["models"]) > 0
    assert all(identity_problem(m["id"]) is None for m in current["models"])
    _assert_no_raw(store.get(keys.provider_current(source_type)).data, "provider current.json")


def test_a_pinned_manifest_entry_with_a_hostile_id_or_name_is_quarantined(tmp_path):
    pinned = REPO / "overrides" / "pinned"
    for path in pinned.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    manifest: dict[str, Any] = yaml.safe_load((pinned / "xai.yaml").read_text())
    good = manifest["models"][0]
    manifest["models"] += [
        {**good, "model_id": "grok\u202e-4"},
        {**good, "model_id": "grok-named", "name": "Grok \x1b[31m"},
    ]
    (tmp_path / "xai.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True))
    store = LocalStore(tmp_path / "store")
    result = sync_providers(
        store,
        CatalogConfig(),
        ProvidersRequest(now=NOW, only=["xai"]),
        env={},
        manifest_dir=str(tmp_path),
    )
    outcome = result.results["xai"]
    assert outcome.tier == "api", outcome.reason
    assert sorted(q.reason.split(" (")[0] for q in outcome.quarantined) == [
        "id holds a bidi control",
        "name holds an unprintable character",
    ]
    ids = {m["id"] for m in read_json(store, keys.provider_current("xai"))["models"]}
    assert len(ids) == len(manifest["models"]) - 2 and "grok-named" not in ids


def test_endpoints_with_hostile_provider_names_or_tags_are_dropped():
    good = {"provider_name": "DeepInfra", "tag": "deepinfra/fp8", "pricing": {"prompt": "0.000001"}}
    document = {
        "data": {
            "id": "x/y",
            "endpoints": [
                good,
                {**good, "provider_name": "Deep\u202eInfra"},
                {**good, "tag": "tag\x00nul"},
                {**good, "provider_name": "p" * 5000},
                {**good, "quantization": "fp\x1b8"},
            ],
        }
    }
    parsed = parse_offers(document, "x/y")
    assert [o.provider for o in parsed.offers] == ["DeepInfra"]
    assert len(parsed.dropped) == 4
    assert "provider_name holds a bidi control (U+202E)" in parsed.dropped[0]
    assert "tag holds an unprintable character (U+0000)" in parsed.dropped[1]
    _assert_no_raw("\n".join(parsed.dropped), "dropped lines")


# -- output escaping ----------------------------------------------------------------------------


def _store_with_hostile_record(tmp_path: Path) -> LocalStore:
    """A store published before this check existed: its catalog holds a hostile name and a
    description with ESC sequences (the reader serves what is there)."""
    store = LocalStore(tmp_path / "store")
    source = LocalStore(tmp_path / "source")
    from pipeline.runs.sync import SyncRequest, sync_openrouter

    assert sync_openrouter(
        source, CatalogConfig(), SyncRequest(now=NOW, from_file=fixture_path(PAYLOAD))
    ).published
    current = read_json(source, keys.CURRENT)
    model = next(m for m in current["models"] if m["id"] == "openai/gpt-4o")
    model["name"] = "GPT\u202e-4o \x1b[2J\x1b[31mred\x0b"
    model["description"] = "clears \x1b[2J the screen\u0085"
    commit(store, {"current": current})
    return store


def test_the_cli_escapes_what_it_prints(tmp_path, capsys):
    store = _store_with_hostile_record(tmp_path)
    assert main(["show", "openai/gpt-4o", "--table", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    _assert_no_raw(out, "catalog show")
    assert "GPT\\u202e-4o \\u001b[2J\\u001b[31mred\\u000b" in out
    assert main(["list", "-q", "gpt-4o", "--table", "--store", str(store.root)]) == 0
    _assert_no_raw(capsys.readouterr().out, "catalog list")
    # JSON output stays valid JSON and decodes to the very name.
    assert main(["show", "openai/gpt-4o", "--json", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    _assert_no_raw(out, "catalog show --json")
    assert "\u0085" not in out
    assert json.loads(out)["model"]["name"] == "GPT\u202e-4o \x1b[2J\x1b[31mred\x0b"


def test_the_atom_feed_is_well_formed_whatever_the_history_holds():
    events = [
        {
            "id": "evil/\x01soh\x0bvt\ufffe",
            "runId": "r1",
            "event": "added",
            "at": "2026-08-19T06:00:00Z",
            "changes": {"name": [None, "Name \x00 with NUL & <tags>"]},
        }
    ]
    feed = pages.atom(events, base="", updated="2026-08-19T06:00:00Z", links=pages.Links())
    root = ET.fromstring(feed.encode("utf-8"))  # raises on a character XML 1.0 forbids
    entry = root.find("{http://www.w3.org/2005/Atom}entry")
    assert entry is not None
    title = entry.find("{http://www.w3.org/2005/Atom}title")
    assert title is not None and title.text == "evil/sohvt added"
    summary = entry.find("{http://www.w3.org/2005/Atom}summary")
    assert summary is not None and "with NUL & <tags>" in str(summary.text)


def test_the_explorer_escapes_a_hostile_name_as_html(tmp_path):
    from fastapi.testclient import TestClient

    from pipeline.registry.core import Registry
    from pipeline.service.app import create_app

    store = _store_with_hostile_record(tmp_path)
    current = read_json(store, keys.CURRENT)
    model = next(m for m in current["models"] if m["id"] == "openai/gpt-4o")
    model["name"] = '<script>alert(1)</script>"><img src=x>'
    commit(store, {"current": current})
    with TestClient(create_app(Registry(store), refresh_seconds=0)) as client:
        page = client.get("/models/openai/gpt-4o").text
    assert "<script>alert(1)</script>" not in page and "<img src=x>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x&gt;" in page


@pytest.mark.parametrize(
    ("text", "terminal", "xml"),
    [
        ("plain text", "plain text", "plain text"),
        ("a\tb\nc", "a\tb\nc", "a\tb\nc"),
        ("esc\x1b[31m", "esc\\u001b[31m", "esc[31m"),
        ("bidi\u202eok", "bidi\\u202eok", "bidi\u202eok"),
        ("cr\rnul\x00", "cr\\u000dnul\\u0000", "cr\rnul"),
        ("c1\x85", "c1\\u0085", "c1\x85"),
        ("nonchar\uffff", "nonchar\\uffff", "nonchar"),
    ],
)
def test_escaping_for_each_medium(text, terminal, xml):
    assert for_terminal(text) == terminal
    assert for_xml(text) == xml


def test_identity_rule():
    assert identity_problem("openai/gpt-4o") is None
    assert identity_problem("🦙" * 70) is None  # long in bytes, fine as an id
    assert identity_problem("x" * MAX_ID_CHARS) is None
    assert identity_problem("x" * (MAX_ID_CHARS + 1)) == "id is 257 characters long (at most 256)"
    assert identity_problem("a\u200fb", "name") == (
        "name holds a bidi control (U+200F) at position 1"
    )
