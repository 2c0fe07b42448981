"""Reading one consistent published set from a store, and polling it cheaply for changes.

A set is ``current.json`` (required) plus ``deprecations.json`` and ``curated.json`` (optional:
the stages that write them may not have run yet). When ``manifest.json`` exists it is the commit
point: every artifact is read from the immutable per-run key it names and its SHA-256 checked,
so the three documents always come from one publish. Without a manifest the well-known keys are
read as they are.

Nothing here imports pydantic, boto3 or the web stack: documents are parsed with the stdlib
``json`` into plain dicts and checked against the JSON Schemas committed in the package
(generated from ``pipeline/records/``), so importing the reader stays cheap.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pipeline.publishing import keys
from pipeline.publishing.jsonpath import json_path
from pipeline.publishing.store import LocalStore, Store, StoreError

if TYPE_CHECKING:  # compact.py is imported by the first load, not with the library
    from pipeline.registry.compact import CompactIndex, PendingIndex

# Schema versions this reader understands (records.SCHEMA_VERSION; not imported, to keep the
# library free of pydantic).
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})

ARTIFACT_KEYS = {
    "current": keys.CURRENT,
    "deprecations": keys.DEPRECATIONS,
    "curated": keys.CURATED,
    "history": keys.HISTORY,
}

_SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"

INDEX_MIN_MODELS = 5_000
"""The reader writes a compact index (``compact.py``) beside a local ``current.json`` of at
least this many models. A full load of the real 549-model catalog takes tens of milliseconds;
from a few thousand models on it takes tenths of a second, and reading the index pays for the
file it adds. Only bytes of at least ``INDEX_MIN_BYTES_PER_MODEL`` × this are parsed with the
record spans an index needs (a published record is 2 kB or more)."""
INDEX_MIN_BYTES_PER_MODEL = 800

PollToken = tuple[Any, ...]
"""What a poll saw: changes whenever the published set may have changed."""


class LoadError(Exception):
    """The published set could not be loaded; the message names the store, key and problem."""


class CatalogSet(NamedTuple):
    """One published set, as plain dicts exactly as published."""

    current: dict[str, Any]
    deprecations: dict[str, Any]
    curated: dict[str, Any] | None
    manifest: dict[str, Any] | None
    version: str
    """Short digest of the artifacts' bytes: changes exactly when the content changes."""
    history: dict[str, Any] | None = None
    """The history index (``history.json``); its segments are read on first use."""
    compact: CompactIndex | None = None
    """The verified compact index of ``current.json`` when the set was loaded through it:
    then ``current`` is the document without ``models``, whose records are parsed on first
    use (``compact.Records``)."""
    pending_index: PendingIndex | None = None
    """What writing the compact index of a fully parsed ``current.json`` needs, when the
    registry should write one (a large catalog on a local store without a usable index)."""

    @property
    def run_id(self) -> str:
        """The run that committed the set (the manifest's, else current.json's)."""
        source = self.manifest if self.manifest is not None else self.current
        return str(source.get("runId", ""))

    @property
    def generated_at(self) -> str:
        """When the catalog was built (current.json ``generatedAt``)."""
        return str(self.current.get("generatedAt", ""))

    @property
    def data_as_of(self) -> str:
        """When the catalog's data was observed upstream (``dataAsOf``; before that field
        existed, ``generatedAt``): what every age the reader reports is measured from."""
        return str(self.current.get("dataAsOf") or self.generated_at)


# -- polling ---------------------------------------------------------------------------------


def _stat(store: Store, key: str) -> Any:
    """A cheap change marker for one key: stat for local disk, the etag (HEAD) elsewhere."""
    if isinstance(store, LocalStore):
        path = store.root / key
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot stat {key} in {store.uri}: {exc.strerror}") from exc
        return (st.st_mtime_ns, st.st_size, st.st_ino)
    return store.head(key)


def marker(store: Store, key: str) -> Any:
    """A cheap change marker for ``key`` (None when absent): what a reader polls before
    reading a document again."""
    return _stat(store, key)


def poll(store: Store) -> PollToken:
    """The current poll token: the manifest's marker when one exists, else the artifacts'."""
    manifest = _stat(store, keys.MANIFEST)
    if manifest is not None:
        return ("manifest", manifest)
    return ("files", *(_stat(store, key) for key in ARTIFACT_KEYS.values()))


# -- validation ------------------------------------------------------------------------------


@functools.cache
def _validator(name: str) -> Callable[[Any], str | None] | None:
    """A function returning the first violation of schema ``name``, or None when the package
    ships no schema of that name (an artifact owned by a stage not built yet)."""
    path = _SCHEMA_DIR / f"{name}.schema.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_bytes())
    # jsonschema-rs validates a 100k-model catalog in about a second; the pure-Python
    # jsonschema package takes minutes for the same document.
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(schema)

    def check(document: Any) -> str | None:
        for error in validator.iter_errors(document):
            return f"{json_path(error.instance_path)}: {_short(error.message)}"
        return None

    return check


def _short(message: str) -> str:
    return message if len(message) <= 200 else message[:197] + "..."


# -- verdicts kept -----------------------------------------------------------------------------
# A command (`catalog list`, `status`, `show`) loads the same published bytes run after run, and
# checking them was a sixth of such a command's work: importing jsonschema-rs, compiling
# the schemas, then the check. A document whose exact bytes (SHA-256) passed the same schema
# under the same validator is not checked again: the pass is kept in the user's cache
# directory, never in the store (whoever can write a store could then vouch for what they
# wrote). Only passes are kept, one per artifact name; anything else is checked as before.

CACHE_DIR_ENV = "CATALOG_CACHE_DIR"
"""Where the reader keeps what it has checked (default ``$XDG_CACHE_HOME/model-catalog-sync``,
else ``~/.cache/model-catalog-sync``); set to an empty value, nothing is kept."""


def _verdicts_dir() -> Path | None:
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured is not None:
        return Path(configured) / "verdicts" if configured else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    try:
        base = Path(xdg) if xdg else Path("~").expanduser() / ".cache"
    except RuntimeError:  # no home directory
        return None
    if not base.is_absolute():
        return None
    return base / "model-catalog-sync" / "verdicts"


@functools.cache
def _schema_stamp(name: str) -> str | None:
    """What a pass against schema ``name`` holds for: the schema's bytes and the installed
    validator (its module's size and time), so a new schema or a new jsonschema-rs checks
    again. None without a schema."""
    import hashlib
    from importlib.util import find_spec

    try:
        schema = (_SCHEMA_DIR / f"{name}.schema.json").read_bytes()
        spec = find_spec("jsonschema_rs")
        validator = Path(spec.origin).stat() if spec is not None and spec.origin else None
    except OSError:
        return None
    if validator is None:
        return None
    stamp = f"{validator.st_size}:{validator.st_mtime_ns}:".encode() + schema
    return hashlib.sha256(stamp).hexdigest()


def _verdict_path(name: str) -> Path | None:
    directory = _verdicts_dir()
    return None if directory is None else directory / f"{name}.pass"


def _passed_before(name: str, digest: str) -> bool:
    """True when the bytes of SHA-256 ``digest`` passed schema ``name`` as it is now."""
    path = _verdict_path(name)
    stamp = _schema_stamp(name)
    if path is None or stamp is None:
        return False
    try:
        return path.read_text(encoding="ascii") == f"{stamp} {digest}\n"
    except (OSError, ValueError):
        return False


def _remember_pass(name: str, digest: str) -> None:
    """Keep the pass (atomically: a reader sees the old verdict or the new one); a cache that
    cannot be written only means the next load checks again."""
    path = _verdict_path(name)
    stamp = _schema_stamp(name)
    if path is None or stamp is None:
        return
    import threading

    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(f"{stamp} {digest}\n", encoding="ascii")
        temp.replace(path)
    except OSError:
        temp.unlink(missing_ok=True)


def check_document(name: str, document: Any, where: str, digest: str | None = None) -> None:
    """Raise LoadError unless ``document`` is a supported, schema-valid artifact ``name``.
    ``digest``: the SHA-256 of the bytes it was parsed from, when a pass of the same bytes
    may be taken from the cache (see above) and a new pass kept there."""
    if not isinstance(document, dict):
        raise LoadError(f"{where}: expected a JSON object, got {type(document).__name__}")
    version = document.get("schemaVersion", 1)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise LoadError(
            f"{where}: schemaVersion {version!r} is not supported by this reader "
            f"(supports {sorted(SUPPORTED_SCHEMA_VERSIONS)}); upgrade the reader"
        )
    if digest is not None and _passed_before(name, digest):
        return
    validator = _validator(name)
    if validator is not None:
        problem = validator(document)
        if problem is not None:
            raise LoadError(f"{where}: not valid against {name}.schema.json: {problem}")
        if digest is not None:
            _remember_pass(name, digest)
    elif name == "curated" and not (
        # No committed schema yet (the curation stage ships it): check what the reader uses.
        isinstance(document.get("buckets", {}), dict)
        and isinstance(document.get("models", []), list)
    ):
        raise LoadError(f"{where}: expected `buckets` (object) and `models` (array)")


# -- loading ---------------------------------------------------------------------------------


def read_bytes(store: Store, key: str) -> bytes | None:
    """The bytes at ``key``, or None. On local disk without the etag a ``get`` computes: the
    loader hashes what it reads itself."""
    if isinstance(store, LocalStore):
        return store.read(key)
    blob = store.get(key)
    return None if blob is None else blob.data


def _parse(data: bytes, where: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # a hostile file may nest 100k levels deep
        raise LoadError(f"{where}: not valid JSON ({str(exc)[:200]})") from exc


def _load_current(
    store: Store, key: str, data: bytes, digest: str, index_min_models: int
) -> tuple[dict[str, Any], CompactIndex | None, PendingIndex | None]:
    """(current.json's document, its compact index, what writing one needs) from its bytes.

    Through the compact index when one beside the JSON checks out (then the document has no
    ``models``: they are read on first use); else parsed and validated in full, with the span
    of each record when a local catalog is large enough for an index to be written."""
    from pipeline.registry import compact

    where = f"{store.uri}/{key}"
    try:
        found = compact.read(store, key, data, digest)
    except compact.IndexUnusable as exc:
        found = None
        if str(exc) != "missing":
            log().info("compact index not used; reading the JSON", extra={"reason": str(exc)})
    if found is not None:
        check_document("current", {**found.head, "models": []}, where)
        return found.head, found, None
    large = len(data) >= index_min_models * INDEX_MIN_BYTES_PER_MODEL
    parsed = compact.parse_with_spans(data) if large and isinstance(store, LocalStore) else None
    document = parsed[0] if parsed is not None else _parse(data, where)
    check_document("current", document, where, digest)
    if parsed is None or len(document.get("models") or ()) < index_min_models:
        return document, None, None
    spans = {str(m["id"]): span for m, span in zip(document["models"], parsed[1], strict=True)}
    return document, None, compact.PendingIndex(key, data, digest, spans)


def log() -> Any:
    import logging  # on use (issue 29)

    return logging.getLogger("pipeline.registry")


def load_set(
    store: Store, token: PollToken | None = None, *, index_min_models: int = INDEX_MIN_MODELS
) -> CatalogSet:
    """Read, verify and validate one published set. Raises LoadError or StoreError.
    ``index_min_models``: the smallest local catalog a compact index is written for."""
    import hashlib  # on the first load, not at import (issue 29)

    compact_index: CompactIndex | None = None
    pending: PendingIndex | None = None

    if token is None:
        token = poll(store)
    manifest_bytes = read_bytes(store, keys.MANIFEST) if token[0] == "manifest" else None
    documents: dict[str, Any] = {}
    digests: list[str] = []
    manifest: dict[str, Any] | None = None
    found: list[tuple[str, str, bytes, str]] = []  # name, key, bytes, sha256 of each artifact
    if manifest_bytes is not None:
        where = f"{store.uri}/{keys.MANIFEST}"
        manifest = _parse(manifest_bytes, where)
        check_document("manifest", manifest, where, hashlib.sha256(manifest_bytes).hexdigest())
        assert manifest is not None
        artifacts = manifest.get("artifacts", {})
        if "current" not in artifacts:
            raise LoadError(f"{where}: lists no `current` artifact")
        for name, entry in sorted(artifacts.items()):
            if name not in ARTIFACT_KEYS:
                continue  # an artifact a newer pipeline publishes; not the reader's business
            key = entry["key"]
            data = read_bytes(store, key)
            if data is None:
                raise LoadError(
                    f"{store.uri}/{key}: missing, but manifest run {manifest.get('runId')} "
                    f"lists it as `{name}`"
                )
            digest = hashlib.sha256(data).hexdigest()
            if digest != entry["sha256"]:
                raise LoadError(
                    f"{store.uri}/{key}: sha256 {digest[:12]}… does not match the manifest's "
                    f"{str(entry['sha256'])[:12]}… (run {manifest.get('runId')})"
                )
            found.append((name, key, data, digest))
    else:
        for name, key in ARTIFACT_KEYS.items():
            data = read_bytes(store, key)
            if data is None:
                if name == "current":
                    raise LoadError(
                        f"{store.uri} has no {key}: nothing published yet "
                        "(run `syncmodels all` against this store)"
                    )
                continue
            digest = hashlib.sha256(data).hexdigest()
            found.append((name, key, data, digest))
    for name, key, data, digest in found:
        if name == "current":
            document, compact_index, pending = _load_current(
                store, key, data, digest, index_min_models
            )
        else:
            document = _parse(data, f"{store.uri}/{key}")
            check_document(name, document, f"{store.uri}/{key}", digest)
        documents[name] = document
        digests.append(f"{name}:{digest}")
    version = hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16]
    return CatalogSet(
        current=documents["current"],
        deprecations=documents.get("deprecations") or {},
        curated=documents.get("curated"),
        manifest=manifest,
        version=version,
        history=documents.get("history"),
        compact=compact_index,
        pending_index=pending,
    )


def read_json(store: Store, key: str) -> Any | None:
    """A published JSON document (status, run reports), or None when absent."""
    data = read_bytes(store, key)
    if data is None:
        return None
    return _parse(data, f"{store.uri}/{key}")
