"""Stores: local disk and S3 (moto in-process, and moto's HTTP server as a real S3 endpoint)."""

from __future__ import annotations

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
    Store,
    StoreError,
    open_store,
    put_all,
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
