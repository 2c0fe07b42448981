"""Test helpers for the publishing and lease suites: a store wrapper that fails (or blocks) a
chosen write, S3 stores on moto, and a checker of the published set's invariants."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from pipeline.publishing import jsonio, keys, schemas
from pipeline.publishing.publish import well_known
from pipeline.publishing.store import Blob, S3Store, Store, StoreError
from pipeline.records.catalog import CurrentCatalog
from pipeline.records.runs import Manifest

WriteHook = Callable[[str, str], None]


class FaultyStore:
    """Wraps a store; the ``fail_at``-th write (put or delete, counting from 1) raises
    StoreError before reaching the store. ``hook(op, key)`` runs before every write."""

    def __init__(
        self, inner: Store, fail_at: int | None = None, hook: WriteHook | None = None
    ) -> None:
        self.inner = inner
        self.uri = inner.uri
        self.fail_at = fail_at
        self.hook = hook
        self.writes: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def _write(self, op: str, key: str) -> None:
        if self.hook is not None:
            self.hook(op, key)
        with self._lock:
            self.writes.append((op, key))
            count = len(self.writes)
        if count == self.fail_at:
            raise StoreError(f"injected failure of write #{count} ({op} {key}) in {self.uri}")

    def get(self, key: str) -> Blob | None:
        return self.inner.get(key)

    def head(self, key: str) -> str | None:
        return self.inner.head(key)

    def list(self, prefix: str) -> list[str]:
        return self.inner.list(prefix)

    def put(self, key: str, data: bytes, **kw: Any) -> str:
        self._write("put", key)
        return self.inner.put(key, data, **kw)

    def delete(self, key: str, **kw: Any) -> None:
        self._write("delete", key)
        self.inner.delete(key, **kw)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_published(store: Store, validated: set[str] | None = None) -> Manifest | None:
    """DESIGN §7 on the store as readers see it: the manifest names one complete set, every
    well-known artifact has the manifest's hash (and its per-run copy too), every artifact is
    schema-valid, and current.json is from the run the manifest says. ``validated`` caches
    the hashes already schema-checked (the check is slow on a full catalog)."""
    validated = set() if validated is None else validated
    blob = store.get(keys.MANIFEST)
    if blob is None:
        assert store.get(keys.CURRENT) is None, "current.json published without a manifest"
        return None
    schemas.validate("manifest", jsonio.loads_plain(blob.data))
    manifest = Manifest.model_validate_json(blob.data)
    for name, entry in manifest.artifacts.items():
        known = store.get(well_known(name))
        assert known is not None, f"{well_known(name)} missing but in the manifest"
        assert sha256(known.data) == entry.sha256, f"{well_known(name)} differs from manifest"
        copy = store.get(entry.key)
        assert copy is not None and copy.data == known.data, f"{entry.key} differs"
        if name in schemas.ARTIFACTS and entry.sha256 not in validated:
            schemas.validate(name, jsonio.loads_plain(known.data))
            validated.add(entry.sha256)
    current = store.get(keys.CURRENT)
    assert current is not None
    catalog = CurrentCatalog.model_validate_json(current.data)
    assert catalog.run_id == manifest.artifacts["current"].run_id
    status = store.get(keys.STATUS)
    if status is not None:
        schemas.validate("status", jsonio.loads_plain(status.data))
    return manifest


@contextmanager
def moto_bucket(bucket: str = "catalog-test") -> Iterator[Any]:
    """An in-process moto S3 with ``bucket``; yields the client."""
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=bucket)
        yield client


@contextmanager
def moto_server(bucket: str = "catalog-test") -> Iterator[str]:
    """moto's HTTP server on 127.0.0.1 with ``bucket``; yields the endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint).create_bucket(
            Bucket=bucket
        )
        yield endpoint
    finally:
        server.stop()


def s3_store(client: Any, prefix: str, bucket: str = "catalog-test") -> S3Store:
    return S3Store(bucket, prefix, client=client)


def rewrite_artifact(store: Store, name: str, edit: Callable[[Any], None]) -> None:
    """Edit a published artifact in place as another writer (an older release, a person)
    would have left it: ``edit`` changes the parsed document; the well-known copy, the run's
    copy and the manifest's sha256 are rewritten so the store reads as consistently published."""
    blob = store.get(keys.MANIFEST)
    assert blob is not None, f"no manifest in {store.uri}"
    manifest = Manifest.model_validate_json(blob.data)
    document = jsonio.loads(store.get(well_known(name)).data)  # type: ignore[union-attr]
    edit(document)
    data = jsonio.dumps(document)
    entry = manifest.artifacts[name]
    store.put(well_known(name), data)
    store.put(entry.key, data)
    entry.sha256 = hashlib.sha256(data).hexdigest()
    store.put(keys.MANIFEST, jsonio.dump_model(manifest))
