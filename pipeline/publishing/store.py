"""Where artifacts live: a local directory or an S3-compatible bucket, behind one protocol.

``open_store(uri)`` picks the implementation: ``./dir``, ``/abs/dir`` or ``file://…`` for local
disk, ``s3://bucket/prefix`` for AWS S3, Cloudflare R2 and MinIO. Every write of one object is
atomic (readers see the old bytes or the new bytes, never a part), and both implementations
support the conditional writes the run lease and the manifest rely on.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple, Protocol, cast, runtime_checkable
from urllib.parse import urlparse

from pipeline.inputs import read_input

if TYPE_CHECKING:  # boto3 is imported lazily so that readers of local stores never load it.
    from mypy_boto3_s3 import S3Client

DEFAULT_STORE = "./catalog-data"


def _import_umask() -> int:
    # os.umask can only be read by setting it, which races with threads that create files:
    # done once, at import, as the fallback where /proc cannot tell.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_IMPORT_UMASK = _import_umask()


def file_mode() -> int:
    """The mode of a published file: 0666 minus the process's current umask (0644 by
    default) — for web servers and other users to read — not mkstemp's private 0600. The
    umask is read from /proc (no race with other threads), else the one at import."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:  # noqa: PTH123
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o666 & ~_IMPORT_UMASK


class StoreError(Exception):
    """A store could not be read or written; the message names the store and the key."""


class PreconditionFailed(StoreError):
    """A conditional write lost: the object exists (create-only) or changed (if-match)."""


class Blob(NamedTuple):
    """An object's bytes and the opaque version tag to make conditional writes against.

    A named tuple, as the reader's other records: ``dataclasses`` (with ``inspect``) was a
    third of the reader's import time (issue 29)."""

    data: bytes
    etag: str


@runtime_checkable
class Store(Protocol):
    """The operations the pipeline and the reader need from storage."""

    uri: str

    def get(self, key: str) -> Blob | None:
        """The object at ``key``, or None when there is none."""
        ...

    def head(self, key: str) -> str | None:
        """The object's etag without reading it, or None when there is none."""
        ...

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/json",
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        """Write atomically and return the new etag.

        ``if_none_match`` makes it create-only; ``if_match`` requires the current etag to be
        the given one. Either raises PreconditionFailed when the condition does not hold.
        """
        ...

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Remove the object (no error if it is already gone)."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix``, sorted."""
        ...


def put_all(store: Store, items: Mapping[str, bytes | Spooled]) -> None:
    """Write every ``{key: bytes}`` of ``items`` unconditionally, each atomically (old or new
    bytes, never torn), in no promised order: a caller that needs one object to land after
    the others (a manifest) writes that one apart, afterwards.

    A local store overlaps the writes' fsyncs (``LocalStore.put_many``); any other store
    (S3, a test's wrapper) gets one ``put`` after the other, as before. A :class:`Spooled`
    value is copied from its file: by the kernel into a local store, streamed to S3; another
    store is handed its bytes."""
    if isinstance(store, LocalStore):
        store.put_many(items)
        return
    for key, data in items.items():
        if isinstance(data, Spooled) and isinstance(store, S3Store):
            store.put_spooled(key, data)
        else:
            store.put(key, data.read() if isinstance(data, Spooled) else data)


class Spooled:
    """An object's bytes in an unnamed temporary file, written piece by piece (issue 30).

    A 100k-model ``current.json`` is ~220 MB: a run that encodes it into a spool never holds
    it in memory whole, and ``put_all`` copies it into place. Its SHA-256 and size are taken
    as it is written. Close it (or use it as a context manager) when it is published; the
    file has no name, so nothing is left behind even by a killed run.
    """

    def __init__(self, directory: Path | None, label: str) -> None:
        import hashlib
        import tempfile  # imported on use: the reader imports this module (issue 29)

        self.label = label
        """What the spool is for, in errors (the store's URI)."""
        self.size = 0
        self._hash = hashlib.sha256()
        try:
            # Closed by close(), however the run ends (it has no name to leave behind).
            self._file = tempfile.TemporaryFile(dir=directory, prefix=".spool-")  # noqa: SIM115
        except OSError as exc:
            raise StoreError(f"cannot make a temporary file for {label}: {exc.strerror}") from exc

    def __enter__(self) -> Spooled:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            raise StoreError(
                f"cannot write a temporary file for {self.label}: {exc.strerror}"
            ) from exc
        self._hash.update(data)
        self.size += len(data)

    def sha256(self) -> str:
        """Hex SHA-256 of everything written."""
        return self._hash.hexdigest()

    def fileno(self) -> int:
        """The file's descriptor, everything written flushed to it."""
        self._file.flush()
        return self._file.fileno()

    def reader(self) -> IO[bytes]:
        """The file, flushed and rewound, to be read from the start (an S3 upload)."""
        self._file.flush()
        self._file.seek(0)
        return self._file

    def read(self) -> bytes:
        """Every byte written, in memory (for stores that take only bytes)."""
        return self.reader().read()

    def close(self) -> None:
        self._file.close()


def spool(store: Store, label: str) -> Spooled:
    """A :class:`Spooled` for an object of ``store``: in a local store's directory (the same
    file system, where copying it into place can share its blocks), else in the temp dir."""
    directory: Path | None = None
    if isinstance(store, LocalStore):
        directory = store.root
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot write to {store.uri}: {exc.strerror or exc}") from exc
    return Spooled(directory, f"{label} in {store.uri}")


class PendingPut:
    """One unconditional ``put`` on a thread of its own, started at once (issue 30): a write
    mostly waits on the disk or the network with the GIL released, so the caller works on
    meanwhile (a sync's raw snapshot, written while the stages run). ``wait`` returns when it
    is done and raises its error; leaving the ``with`` block waits for it in any case (and
    raises its error unless another is on its way out). The thread holds the only reference
    to the bytes the caller may drop: they are let go as soon as they are written."""

    def __init__(self, store: Store, key: str, data: bytes) -> None:
        import threading  # imported on use: the reader imports this module (issue 29)

        self.key = key
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._put, args=(store, key, data), name=f"put {key}", daemon=False
        )
        self._thread.start()

    def _put(self, store: Store, key: str, data: bytes) -> None:
        try:
            store.put(key, data)
        except BaseException as exc:  # handed to wait(), in the caller's thread
            self._error = exc

    def wait(self) -> None:
        """Wait for the write; raise what it raised (a StoreError naming the key)."""
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def __enter__(self) -> PendingPut:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self._thread.join()
        if kind is None:  # an error of the caller's on its way out wins over the write's
            self.wait()


def read_bytes(store: Store, key: str) -> bytes | None:
    """The object's bytes, or None (on local disk without the etag ``get`` would hash them
    for: a 100k-model current.json is ~220 MB)."""
    if isinstance(store, LocalStore):
        return store.read(key)
    blob = store.get(key)
    return None if blob is None else blob.data


def open_store(uri: str | None, *, endpoint_url: str | None = None, **s3_options: Any) -> Store:
    """Open the store named by ``uri`` (default ``./catalog-data``)."""
    uri = uri or DEFAULT_STORE
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StoreError(f"store URI {uri!r} names no bucket (expected s3://bucket/prefix)")
        return S3Store(
            parsed.netloc, parsed.path.strip("/"), endpoint_url=endpoint_url, **s3_options
        )
    if parsed.scheme == "file":
        return LocalStore(_local_root(Path(parsed.path), uri))
    if parsed.scheme in ("", None) or len(parsed.scheme) == 1:  # bare paths (and C:\ on Windows)
        return LocalStore(_local_root(Path(uri), uri), uri)
    raise StoreError(f"unsupported store URI {uri!r}: use a directory, file://… or s3://…")


def _local_root(root: Path, uri: str) -> Path:
    """``root`` when it can be a store directory; a StoreError naming the problem otherwise
    (a regular file in the way, a parent that is a file), never a traceback later."""
    for part in (root, *root.parents):
        if part.exists():
            if not part.is_dir():
                what = "is" if part == root else f"is under {part}, which is"
                raise StoreError(f"store {uri} {what} a file, not a directory")
            break
    return root


def _etag(data: bytes) -> str:
    import hashlib  # imported on use: the reader imports this module (issue 29)

    return hashlib.sha256(data).hexdigest()[:32]


def _check_key(key: str) -> None:
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise StoreError(f"invalid store key {key!r}")


class LocalStore:
    """A directory on local disk. Writes go to a temp file in the same directory, then rename."""

    def __init__(self, root: Path, uri: str | None = None) -> None:
        self.root = root
        self.uri = uri or str(root)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize conditional writes across processes on this machine."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = (self.root / ".store.lock").open("a+")
        except OSError as exc:
            raise StoreError(f"cannot write to {self.uri}: {exc.strerror or exc}") from exc
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def get(self, key: str) -> Blob | None:
        data = self.read(key)
        return None if data is None else Blob(data, _etag(data))

    def read(self, key: str) -> bytes | None:
        """The bytes at ``key`` (None when absent), without the etag ``get`` hashes them for:
        the reader hashes a 200 MB catalog once, not twice (issue 29)."""
        path = self._path(key)
        try:
            # A FIFO or a device planted in the store is refused, never read (issue 27).
            return read_input(path, None)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {key} from {self.uri}: {exc.strerror}") from exc

    def head(self, key: str) -> str | None:
        blob = self.get(key)
        return None if blob is None else blob.etag

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/json",
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        path = self._path(key)
        if if_match is None and not if_none_match:
            self._write_atomic(path, key, data)
            return _etag(data)
        with self._locked():
            current = self.get(key)
            if if_none_match and current is not None:
                raise PreconditionFailed(f"{key} already exists in {self.uri}")
            if if_match is not None and (current is None or current.etag != if_match):
                raise PreconditionFailed(f"{key} in {self.uri} changed since it was read")
            self._write_atomic(path, key, data)
        return _etag(data)

    def put_many(self, items: Mapping[str, bytes | Spooled]) -> None:
        """Write several objects unconditionally, each as ``put`` would, with the fsyncs
        overlapped (issue 29).

        A published set is a dozen files, and one fsync after another cost 3-15 ms each on
        the ext4 disks measured (most of a 549-model sync's publish stage). Here every file is
        first written to its temp file, then all are fsynced at once from a few threads (fsync
        releases the GIL, and the file system can commit them in fewer journal flushes), and
        only then renamed over their keys, in the order given. Durability is the same as
        ``put``'s: no file is renamed before its bytes are on disk, so a crash at any point
        leaves each key with its old bytes or its new ones, never a torn file; the temp files
        a crash leaves behind are dot-files, which ``list`` never shows. On a failure the temp
        files not yet renamed are removed and StoreError names the key."""
        if len(items) < 2 and not any(isinstance(data, Spooled) for data in items.values()):
            for key, data in items.items():
                self.put(key, cast("bytes", data))
            return
        from concurrent.futures import ThreadPoolExecutor  # on use: the reader imports this

        staged: list[tuple[str, Path, int, Path]] = []  # key, path, open temp fd, temp path
        key = ""
        try:
            try:
                for key, data in items.items():
                    path = self._path(key)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    fd, temp = _temp_file(path)
                    staged.append((key, path, fd, Path(temp)))
                    os.fchmod(fd, file_mode())
                    if isinstance(data, Spooled):
                        _copy_into(fd, data)
                    else:
                        _write_all(fd, data)
                key = ", ".join(k for k, _, _, _ in staged)  # which one failed is not told
                with ThreadPoolExecutor(max_workers=min(8, len(staged))) as pool:
                    list(pool.map(os.fsync, [fd for _, _, fd, _ in staged]))
            finally:
                for _, _, fd, _ in staged:
                    os.close(fd)
            while staged:
                key, path, _, tmp = staged[0]
                tmp.replace(path)
                staged.pop(0)
        except OSError as exc:
            raise StoreError(f"cannot write {key} to {self.uri}: {exc.strerror}") from exc
        finally:
            for _, _, _, tmp in staged:  # not renamed: a failure, or an interrupt
                tmp.unlink(missing_ok=True)

    def _write_atomic(self, path: Path, key: str, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            import tempfile  # imported on use: the reader imports this module (issue 29)

            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    os.fchmod(fd, file_mode())
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                Path(tmp).replace(path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write {key} to {self.uri}: {exc.strerror}") from exc

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        path = self._path(key)
        with self._locked():
            if if_match is not None:
                current = self.get(key)
                if current is None or current.etag != if_match:
                    raise PreconditionFailed(f"{key} in {self.uri} changed since it was read")
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot delete {key} from {self.uri}: {exc.strerror}") from exc

    def list(self, prefix: str) -> list[str]:
        if not self.root.exists():
            return []
        keys = []
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)


def _temp_file(path: Path) -> tuple[int, str]:
    """A new temp file beside ``path`` (same directory, so the rename is atomic)."""
    import tempfile  # imported on use: the reader imports this module (issue 29)

    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)


def _copy_into(fd: int, source: Spooled) -> None:
    """``source``'s bytes written to ``fd``: copied by the kernel (``copy_file_range``, which a
    file system with reflinks does without copying), else through a buffer."""
    src = source.fileno()
    offset = 0
    copy = getattr(os, "copy_file_range", None)
    while copy is not None and offset < source.size:
        try:
            copied = copy(src, fd, source.size - offset, offset)
        except OSError:  # across file systems on an older kernel, or not supported: buffer
            break
        if not copied:
            break
        offset += copied
    while offset < source.size:
        chunk = os.pread(src, min(COPY_BUFFER, source.size - offset), offset)
        if not chunk:
            raise OSError(errno.EIO, f"{source.label}: the temporary file ended early")
        _write_all(fd, chunk)
        offset += len(chunk)


COPY_BUFFER = 1 << 20
"""Bytes copied at a time where the kernel cannot copy a spool by itself."""


def _write_all(fd: int, data: bytes) -> None:
    """``data`` written to ``fd`` in full (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class S3Store:
    """A bucket (and optional prefix) on S3, R2 or MinIO through boto3.

    The endpoint comes from ``endpoint_url`` (config), else ``AWS_ENDPOINT_URL_S3`` or
    ``AWS_ENDPOINT_URL``; credentials and region from the standard boto3 chain. R2 wants
    region ``auto``; MinIO usually wants path-style addressing (``addressing_style="path"``
    or ``CATALOG_S3_ADDRESSING=path``).
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str | None = None,
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.uri = f"s3://{bucket}/{prefix}".rstrip("/")
        self._client = client or self._make_client(endpoint_url, region, addressing_style)

    @staticmethod
    def _make_client(
        endpoint_url: str | None, region: str | None, addressing_style: str | None
    ) -> S3Client:
        import boto3
        from botocore.config import Config

        endpoint = (
            endpoint_url
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
            or None
        )
        style = addressing_style or os.environ.get("CATALOG_S3_ADDRESSING") or "auto"
        config = Config(
            s3={"addressing_style": style},  # type: ignore[arg-type]
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        )
        return boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)

    def _key(self, key: str) -> str:
        _check_key(key)
        return self.prefix + key

    def _fail(self, action: str, key: str, exc: Exception) -> StoreError:
        code = _error_code(exc)
        if code in ("PreconditionFailed", "ConditionalRequestConflict"):
            return PreconditionFailed(f"{key} in {self.uri}: the conditional {action} lost")
        return StoreError(f"cannot {action} {key} in {self.uri}: {code or exc}")

    def get(self, key: str) -> Blob | None:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            data = response["Body"].read()
        except Exception as exc:
            if _error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise self._fail("read", key, exc) from exc
        return Blob(data, response["ETag"].strip('"'))

    def head(self, key: str) -> str | None:
        try:
            response = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if _error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise self._fail("stat", key, exc) from exc
        return response["ETag"].strip('"')

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/json",
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        extra: dict[str, Any] = {}
        if if_none_match:
            extra["IfNoneMatch"] = "*"
        if if_match is not None:
            extra["IfMatch"] = f'"{if_match}"'
        try:
            response = self._client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=data,
                ContentType=content_type,
                **extra,
            )
        except Exception as exc:
            raise self._fail("write", key, exc) from exc
        return str(response["ETag"]).strip('"')

    def put_spooled(
        self, key: str, data: Spooled, *, content_type: str = "application/json"
    ) -> str:
        """``put`` of a spool's bytes, streamed from its file (one PUT, atomic as ``put``)."""
        try:
            response = self._client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data.reader(), ContentType=content_type
            )
        except Exception as exc:
            raise self._fail("write", key, exc) from exc
        return str(response["ETag"]).strip('"')

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        extra: dict[str, Any] = {}
        if if_match is not None:
            extra["IfMatch"] = f'"{if_match}"'
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key), **extra)
        except Exception as exc:
            if _error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return
            raise self._fail("delete", key, exc) from exc

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    keys.append(item["Key"][len(self.prefix) :])
        except Exception as exc:
            raise self._fail("list", prefix, exc) from exc
        return sorted(keys)


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code = error.get("Code")
        return str(code) if code is not None else None
    return None
