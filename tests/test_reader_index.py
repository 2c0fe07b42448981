"""The compact index beside a large current.json (issue 29: a 100k-model load under 1.5 s).

The reader writes it after a full load of a large local catalog and reads it on the next load
of the same bytes; every answer through it equals the full load's, and an index that is
missing, stale, of another version, damaged or hand-made falls back to the JSON (or, for a
record whose bytes are not where a well-signed index says, raises a clear error).
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import fixture_path, read_json
from test_search_index import random_query

from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.registry import Registry, compact
from pipeline.registry.compact import IndexMismatch

PAYLOAD = "openrouter-models-2026-08-19.json"


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> LocalStore:
    """A store holding a real sync (manifest, per-run keys, curated, deprecations)."""
    from pipeline.config import CatalogConfig
    from pipeline.runs.sync import SyncRequest, sync_openrouter
    from pipeline.timeutil import parse_iso

    store = LocalStore(tmp_path_factory.mktemp("index") / "store")
    request = SyncRequest(now=parse_iso("2026-08-19T06:00:00Z"), from_file=fixture_path(PAYLOAD))
    result = sync_openrouter(store, CatalogConfig(), request)
    assert result.published, result.error
    return store


def copy_store(source: LocalStore, target: Path) -> LocalStore:
    for path in source.root.rglob("*"):
        if path.is_file():
            (target / path.relative_to(source.root)).parent.mkdir(parents=True, exist_ok=True)
            (target / path.relative_to(source.root)).write_bytes(path.read_bytes())
    return LocalStore(target)


def published_current(store: LocalStore) -> dict[str, Any]:
    """current.json as plain JSON (floats, not conftest's Decimals)."""
    blob = store.get(keys.CURRENT)
    assert blob is not None
    document: dict[str, Any] = json.loads(blob.data)
    return document


def current_key(store: LocalStore) -> str:
    if store.get(keys.MANIFEST) is None:
        return keys.CURRENT
    return str(read_json(store, keys.MANIFEST)["artifacts"]["current"]["key"])


def index_path(store: LocalStore) -> Path:
    return store.root / compact.index_key(current_key(store))


def open_indexed(store: LocalStore) -> tuple[Registry, Registry]:
    """(a registry loaded in full that writes the index, one loaded through that index)."""
    full = Registry.open(store, index_min_models=0)
    assert full.snapshot.set.compact is None
    assert index_path(store).exists()
    fast = Registry.open(store, index_min_models=0)
    assert fast.snapshot.set.compact is not None, "the index was not used"
    return full, fast


def assert_same_answers(full: Registry, fast: Registry, seed: int = 29) -> None:
    one, other = full.snapshot, fast.snapshot
    assert len(other.models) == len(one.models)
    assert other.state_counts == one.state_counts
    assert other.version == one.version and other.run_id == one.run_id
    assert other.data_as_of == one.data_as_of
    for key in ("schemaVersion", "generatedAt", "runId", "dataAsOf", "count", "degraded"):
        assert other.set.current.get(key) == one.set.current.get(key), key
    refs = [m["id"] for m in one.models] + [m.get("alias") or "" for m in one.models]
    refs += [*list(one.index.native_ids)[:300], "nobody/nothing", "gpt-4o-2024-08-06"]
    for ref in refs:
        assert fast.get(ref) == full.get(ref), ref
        mine, theirs = fast.resolve(ref), full.resolve(ref)
        assert mine.model_id == theirs.model_id, ref
        assert [h.step for h in mine.hops] == [h.step for h in theirs.hops], ref
    rng = random.Random(seed)
    for _ in range(300):
        query = random_query(rng, one)
        query.pop("served", None)
        assert [m["id"] for m in fast.search(**query)] == [m["id"] for m in full.search(**query)]
        assert other.select(**query).total == one.select(**query).total
    assert fast.curated() == full.curated()
    assert fast.core() == full.core()
    assert list(other.models) == list(one.models)
    model_id = next(m["id"] for m in one.models if (m.get("pricing") or {}).get("input"))
    assert fast.cost(model_id, 12_000, 800, 4_000) == full.cost(model_id, 12_000, 800, 4_000)


def test_the_index_is_written_beside_the_manifest_key_and_answers_as_the_json(published, tmp_path):
    store = copy_store(published, tmp_path / "store")
    full, fast = open_indexed(store)
    assert index_path(store).name == "current.json.idx"
    assert index_path(store).parent.name == full.snapshot.run_id  # runs/<run id>/
    assert_same_answers(full, fast)
    # Records are parsed on first use, and once.
    snapshot = fast.snapshot
    assert snapshot.set.compact is not None
    model_id = snapshot.set.compact.records.ids[7]
    assert fast.get(model_id) is fast.get(model_id)


def test_a_small_catalog_gets_no_index_and_a_store_without_one_loads_as_before(published, tmp_path):
    store = copy_store(published, tmp_path / "store")
    before = sorted(p.name for p in store.root.rglob("*"))
    registry = Registry.open(store)  # 549 models: below INDEX_MIN_MODELS
    assert registry.snapshot.set.compact is None
    assert sorted(p.name for p in store.root.rglob("*")) == before


def test_non_ascii_records_without_a_manifest(published, tmp_path):
    """Byte spans of records with non-ASCII text (the JSON written without escapes)."""
    current = published_current(published)
    models = []
    for i, real in enumerate(current["models"] * 2):
        record = copy.deepcopy(real)
        record["id"] = f"{record['id']}-v{i}"
        record["alias"] = f"{record['alias']}-v{i}"
        record["name"] = ["GPT Vision Ω", "claude-β", "Ünïcode"][i % 3] + f" {i}"
        models.append(record)
    document = {**current, "count": len(models), "models": sorted(models, key=lambda m: m["id"])}
    store = LocalStore(tmp_path / "store")
    data = json.dumps(document, ensure_ascii=False, indent=1).encode()
    assert not data.isascii()
    store.put(keys.CURRENT, data)
    full, fast = open_indexed(store)
    assert_same_answers(full, fast, seed=5)
    assert fast.search(q="vision ω", limit=3) == full.search(q="vision ω", limit=3) != []


def test_a_stale_index_is_not_used_and_is_rewritten(published, tmp_path):
    store = LocalStore(tmp_path / "store")
    current = published_current(published)
    store.put(keys.CURRENT, json.dumps(current).encode())
    Registry.open(store, index_min_models=0)
    old_index = index_path(store).read_bytes()
    current["models"][0]["name"] = "Renamed"
    store.put(keys.CURRENT, json.dumps(current).encode())
    registry = Registry.open(store, index_min_models=0)
    assert registry.snapshot.set.compact is None  # the index was of other bytes
    assert registry.get(current["models"][0]["id"])["name"] == "Renamed"
    assert index_path(store).read_bytes() != old_index
    again = Registry.open(store, index_min_models=0)
    assert again.snapshot.set.compact is not None
    assert again.get(current["models"][0]["id"])["name"] == "Renamed"


def test_a_refresh_to_a_new_set_reads_the_new_json(published, tmp_path):
    store = LocalStore(tmp_path / "store")
    current = published_current(published)
    store.put(keys.CURRENT, json.dumps(current).encode())
    Registry.open(store, index_min_models=0)
    registry = Registry.open(store, index_min_models=0)
    assert registry.snapshot.set.compact is not None
    current["models"] = current["models"][1:]
    store.put(keys.CURRENT, json.dumps(current).encode())
    assert registry.refresh().changed
    assert len(registry.snapshot.models) == len(current["models"])


# -- damaged and hostile indexes ----------------------------------------------------------------


def split(blob: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    newline = blob.index(b"\n")
    header = json.loads(blob[:newline])
    sections, offset = {}, newline + 1
    for name, length in header["sections"]:
        sections[name] = blob[offset : offset + length]
        offset += length
    return header, sections


def signed(header: dict[str, Any], sections: dict[str, bytes]) -> bytes:
    """An index whose checksums hold over ``sections``: what a hand-made index looks like."""
    body = b"".join(sections.values())
    header = {
        **header,
        "sections": [[n, len(p)] for n, p in sections.items()],
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    return json.dumps(header).encode() + b"\n" + body


def swap_spans(sections: dict[str, bytes]) -> None:
    spans = sections["spans"]
    sections["spans"] = spans[16:32] + spans[:16] + spans[32:]


def edit_section(name: str, value: bytes) -> Any:
    def edit(sections: dict[str, bytes]) -> None:
        sections[name] = value

    return edit


def bad_bits(sections: dict[str, bytes]) -> None:
    bits = json.loads(sections["bits"])
    bits[0][2] = "////" * 10_000  # 240 kbit for a catalog of a few hundred models
    sections["bits"] = json.dumps(bits).encode()


HOSTILE_SECTIONS = {
    "spans past the JSON": edit_section("spans", b"\xff" * 8 * 2 * 549),
    "spans of the wrong length": edit_section("spans", b"\x00" * 7),
    "ids out of order": lambda s: s.__setitem__(
        "ids", b"\x00".join(sorted(s["ids"].split(b"\x00"), reverse=True))
    ),
    "ids not UTF-8": edit_section("ids", b"\xff\xfe"),
    "alias targets past the last model": lambda s: s.__setitem__(
        "aliasTargets", b"\xff\xff\xff\x7f" * (len(s["aliasTargets"]) // 4)
    ),
    "bits past the last model": bad_bits,
    "bits not JSON": edit_section("bits", b"[" * 100_000),
    "head with models": edit_section("head", b'{"models": []}'),
    "text lengths that do not add up": edit_section("textLengths", b"\x01\x00\x00\x00" * 549),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_SECTIONS))
def test_a_hand_made_index_that_breaks_a_bound_falls_back_to_the_json(published, tmp_path, case):
    store = copy_store(published, tmp_path / "store")
    full = Registry.open(store, index_min_models=0)
    header, sections = split(index_path(store).read_bytes())
    HOSTILE_SECTIONS[case](sections)
    index_path(store).write_bytes(signed(header, sections))
    registry = Registry.open(store, index_min_models=10**9)  # reads; never rewrites
    assert registry.snapshot.set.compact is None, case
    assert registry.get("openai/gpt-4o") == full.get("openai/gpt-4o")


DAMAGE = {
    "truncated": lambda b: b[: len(b) // 2],
    "empty": lambda b: b"",
    "not an index": lambda b: b"{}\n" + b[100:],
    "no header line": lambda b: b"x" * 5000,
    "a deep header": lambda b: b"[" * 4000 + b"\n",
    "another version": lambda b: b.replace(b'"version":1', b'"version":2', 1),
    "a flipped body byte": lambda b: b[:-10] + bytes([b[-10] ^ 1]) + b[-9:],
    "another schema": lambda b: b.replace(b'"schema":"', b'"schema":"0', 1),
    "larger than the JSON": lambda b: b + b"\x00" * (3 << 20),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_or_foreign_index_falls_back_to_the_json(published, tmp_path, case):
    store = copy_store(published, tmp_path / "store")
    full = Registry.open(store, index_min_models=0)
    path = index_path(store)
    path.write_bytes(DAMAGE[case](path.read_bytes()))
    registry = Registry.open(store, index_min_models=10**9)
    assert registry.snapshot.set.compact is None, case
    assert registry.snapshot.version == full.snapshot.version
    assert [m["id"] for m in registry.snapshot.models] == [m["id"] for m in full.snapshot.models]


def test_well_signed_spans_of_another_record_raise_a_clear_error(published, tmp_path):
    """Spans that pass every bound but point at another record: the record read is checked
    against the id the index gives it, and never served in its place."""
    store = copy_store(published, tmp_path / "store")
    Registry.open(store, index_min_models=0)
    header, sections = split(index_path(store).read_bytes())
    swap_spans(sections)
    index_path(store).write_bytes(signed(header, sections))
    registry = Registry.open(store, index_min_models=0)
    assert registry.snapshot.set.compact is not None
    first = registry.snapshot.set.compact.records.ids[0]
    with pytest.raises(IndexMismatch, match=r"current\.json\.idx.*delete"):
        registry.get(first)


# -- the parser that finds each record's bytes --------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"models": [{"id": "a"}, {"id": "b"}], "count": 2}',
        ' \n{ "count" : 1 , "models" : [ {"id": "a"} ] }\n',
        '{"models": [{"id": "x"}], "models": [{"id": "a"}, {"id": "é"}]}',
        '{"models": [], "x": [1, 2.5, null, true, "\\u00e9"]}',
        '{"models": {"id": "a"}}',
        "{}",
    ],
)
def test_parse_with_spans_reads_as_json_loads(text):
    data = text.encode()
    parsed = compact.parse_with_spans(data)
    assert parsed is not None
    document, spans = parsed
    assert document == json.loads(data)
    models = document.get("models")
    if isinstance(models, list):
        assert [json.loads(data[a:b]) for a, b in spans] == models


@pytest.mark.parametrize(
    "data", [b"[]", b'{"models": [1,]}', b'{"a": 1} x', b"\xff{}", b"", b'{"a" 1}', b"{" * 5000]
)
def test_parse_with_spans_leaves_anything_else_to_json_loads(data):
    assert compact.parse_with_spans(data) is None


def test_warm_parses_every_record_once_and_a_server_warms_in_the_background(published, tmp_path):
    store = copy_store(published, tmp_path / "store")
    full = Registry.open(store, index_min_models=0)
    fast = Registry.open(store, index_min_models=0)
    compact_index = fast.snapshot.set.compact
    assert compact_index is not None
    fast.get(compact_index.records.ids[3])
    assert fast.snapshot.warm() == len(compact_index.records) - 1
    assert fast.snapshot.warm() == 0
    assert compact_index.records.data == b""  # all parsed: the JSON's bytes are let go
    assert list(fast.snapshot.models) == list(full.snapshot.models)
    assert full.snapshot.warm() == 0  # loaded in full: nothing to parse

    server = Registry(store, index_min_models=0, warm=True)
    assert server.refresh().changed
    records = server.snapshot.set.compact.records
    for thread in threading.enumerate():
        if thread.name == "catalog-warm":
            thread.join(60)
    assert len(records.parsed) == len(records)


class RemoteStore:
    """A store that is not a LocalStore (what an S3 store looks like to the reader)."""

    def __init__(self, local: LocalStore) -> None:
        self.local = local
        self.uri = "s3://bucket/prefix"
        self.writes: list[str] = []

    def get(self, key: str) -> Any:
        return self.local.get(key)

    def head(self, key: str) -> str | None:
        return self.local.head(key)

    def put(self, key: str, data: bytes, **kw: Any) -> str:
        self.writes.append(key)
        return self.local.put(key, data, **kw)


def test_a_bucket_is_never_written_but_an_index_in_it_is_read(published, tmp_path):
    local = copy_store(published, tmp_path / "store")
    remote = RemoteStore(local)
    registry = Registry.open(remote, index_min_models=0)  # type: ignore[arg-type]
    assert registry.snapshot.set.compact is None
    assert remote.writes == [] and not index_path(local).exists()
    full = Registry.open(local, index_min_models=0)  # writes it (as a publisher could)
    fast = Registry.open(remote, index_min_models=0)  # type: ignore[arg-type]
    assert fast.snapshot.set.compact is not None
    assert remote.writes == []
    assert_same_answers(full, fast, seed=7)
