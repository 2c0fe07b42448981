"""Stores: local disk and S3 (moto in-process, and moto's HTTP server as a real S3 endpoint)."""

from __future__ import annotations

import hashlib
import threading

import boto3
import pytest
from conftest import fixture_path, read_json
from moto import mock_aws
from storewrap import moto_server

from pipeline.cli import main
from pipeline.publishing import keys
from pipeline.publishing.store import (
    LocalStore,
    PreconditionFailed,
    S3Store,
    Spooled,
    Store,
    StoreError,
    open_store,
    put_all,
    spool,
)

BUCKET = "catalog-test"


def exercise(store: Store) -> None:
    """The contract every store implements."""
    assert store.get("models/a.json") is None
    etag = store.put("models/a.json", b"one")
    blob = store.get("models/a.json")
    assert blob is not None and blob.data == b"one" and blob.etag == etag
    assert store.head("models/a.json") == etag
    with pytest.raises(PreconditionFailed):
        store.put("models/a.json", b"two", if_none_match=True)
    with pytest.raises(PreconditionFailed):
        store.put("models/a.json", b"two", if_match="not-the-etag")
    new = store.put("models/a.json", b"two", if_match=etag)
    assert store.get("models/a.json").data == b"two" and new != etag
    assert store.put("models/b/c.json", b"x", if_none_match=True)
    assert store.list("models/") == ["models/a.json", "models/b/c.json"]
    store.delete("models/a.json")
    store.delete("models/a.json")  # already gone: no error
    assert store.list("models/") == ["models/b/c.json"]
    with pytest.raises(StoreError, match="invalid store key"):
        store.put("../escape.json", b"x")


def test_local_store_contract(tmp_path):
    exercise(LocalStore(tmp_path))


def test_local_writes_leave_no_temp_files(tmp_path):
    store = LocalStore(tmp_path)
    for i in range(20):
        store.put("models/x.json", str(i).encode())
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["x.json"]


def test_put_all_writes_every_file_and_leaves_no_temp_files(tmp_path):
    """LocalStore.put_many (fsyncs overlapped, issue 29) writes what put would write."""
    store = LocalStore(tmp_path)
    store.put("models/b.json", b"old b")
    items = {f"models/{name}.json": f"new {name}".encode() * 1000 for name in "abcd"}
    items["models/deep/e.json"] = b"e"
    put_all(store, items)
    for key, data in items.items():
        assert store.get(key).data == data
    assert store.list("models/") == sorted(items)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_put_all_failing_renames_nothing_and_cleans_up(tmp_path):
    """A key that cannot be written (its folder is a file) fails the batch before any file is
    renamed into place: every key keeps its old bytes, and no temp file is left."""
    store = LocalStore(tmp_path)
    store.put("models/a.json", b"old a")
    store.put("models/blocked", b"a file where a folder would be")
    with pytest.raises(StoreError, match=r"models/blocked/c\.json"):
        put_all(store, {"models/a.json": b"new a", "models/blocked/c.json": b"c"})
    assert store.get("models/a.json").data == b"old a"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def _spooled(store: Store, data: bytes) -> Spooled:
    spooled = spool(store, "test artifact")
    for at in range(0, len(data), 1000):
        spooled.write(data[at : at + 1000])
    return spooled


BIG = b"".join(b"%06d spooled line\n" % n for n in range(100_000))  # ~2 MB


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_put_all_copies_a_spool_into_place(tmp_path, monkeypatch, kernel_copy):
    """A spooled artifact (issue 30) lands as its bytes would, beside plain ones, under two keys,
    whether the kernel copies it or it goes through a buffer; the spool leaves no file."""
    if not kernel_copy:
        monkeypatch.delattr("os.copy_file_range", raising=False)
    store = LocalStore(tmp_path)
    with _spooled(store, BIG) as big:
        assert big.size == len(BIG) and big.sha256() == hashlib.sha256(BIG).hexdigest()
        put_all(store, {"models/run/current.json": big, "models/current.json": big})
        put_all(store, {"models/alone.json": big})
        put_all(store, {"models/a.json": b"a", "models/b.json": big})
    for key in ("models/run/current.json", "models/current.json", "models/alone.json"):
        assert store.get(key).data == BIG
    assert store.get("models/b.json").data == BIG and store.get("models/a.json").data == b"a"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and p.name != "a.json") == [
        "alone.json",
        "b.json",
        "current.json",
        "current.json",
    ]


def test_put_all_hands_a_spool_to_another_store_as_bytes(tmp_path):
    from storewrap import FaultyStore

    store = FaultyStore(LocalStore(tmp_path))
    with _spooled(store.inner, BIG) as big:
        put_all(store, {"models/current.json": big})
    assert store.writes == [("put", "models/current.json")]
    assert store.get("models/current.json").data == BIG


def test_a_spool_that_cannot_be_made_names_the_store(tmp_path):
    (tmp_path / "file").write_bytes(b"not a folder")
    with pytest.raises(StoreError, match="cannot write to"):
        spool(LocalStore(tmp_path / "file" / "store"), "current.json")


def test_local_create_only_has_exactly_one_winner(tmp_path):
    store = LocalStore(tmp_path)
    wins: list[int] = []

    def claim(n: int) -> None:
        try:
            store.put("models/lock.json", str(n).encode(), if_none_match=True)
            wins.append(n)
        except PreconditionFailed:
            pass

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert store.get("models/lock.json").data == str(wins[0]).encode()


def test_open_store_picks_the_implementation(tmp_path, monkeypatch):
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    assert isinstance(open_store(f"file://{tmp_path}"), LocalStore)
    assert open_store(None).uri == "./catalog-data"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = open_store("s3://bucket/some/prefix")
    assert isinstance(s3, S3Store) and s3.prefix == "some/prefix/"
    with pytest.raises(StoreError, match="unsupported store URI"):
        open_store("ftp://x/y")
    with pytest.raises(StoreError, match="names no bucket"):
        open_store("s3://")


def test_s3_store_contract_in_process(aws_env):
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        exercise(S3Store(BUCKET, "prefix"))


def test_s3_store_streams_a_spool(aws_env, tmp_path):
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        store = S3Store(BUCKET, "prefix")
        with _spooled(store, BIG) as big:
            put_all(store, {"models/a.json": big, "models/b.json": b"b"})
        assert store.get("models/a.json").data == BIG
        assert store.get("models/b.json").data == b"b"


def test_sync_into_s3_in_process(aws_env, sync_file):
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        store = open_store(f"s3://{BUCKET}/catalog")
        path = fixture_path("openrouter-models-2026-08-19.json")
        result = sync_file(path, store=store)
        assert result.published, result.error
        current = read_json(store, keys.CURRENT)
        assert current["count"] == 414
        assert store.get(current["rawKey"]).data == path.read_bytes()
        listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]
        assert all(item["Key"].startswith("catalog/models/") for item in listed)


@pytest.fixture
def s3_endpoint(aws_env, monkeypatch):
    """moto's HTTP server on 127.0.0.1, wired in the way an operator points at R2 or MinIO."""
    with moto_server(BUCKET) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        monkeypatch.setenv("CATALOG_S3_ADDRESSING", "path")
        yield endpoint


def test_end_to_end_through_a_real_s3_endpoint(s3_endpoint, capsys):
    """The CLI against moto's HTTP server on 127.0.0.1, as it would talk to R2 or MinIO."""
    uri = f"s3://{BUCKET}/e2e"
    path = fixture_path("openrouter-models-all-2026-08-19.json")
    code = main(
        [
            "sync",
            "openrouter",
            "--store",
            uri,
            "--from-file",
            str(path),
            "--now",
            "2026-08-19T06:00:00Z",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "openrouter: 549 models (+549 added" in out
    store = open_store(uri)
    exercise_keys = store.list("models/")
    assert "models/openrouter/raw-2026081906.json" in exercise_keys
    assert "models/schemas/current.schema.json" in exercise_keys
    assert store.get("models/openrouter/raw-2026081906.json").data == path.read_bytes()
    assert main(["status", "--store", uri, "--json"]) == 0
    assert '"outcome": "ok"' in capsys.readouterr().out
    # conditional writes work on the wire too (the lease and manifest rely on them)
    store.put("models/lock.json", b"{}", if_none_match=True)
    with pytest.raises(PreconditionFailed):
        store.put("models/lock.json", b"{}", if_none_match=True)
