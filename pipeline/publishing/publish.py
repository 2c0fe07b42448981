"""Validate artifacts against their schemas and write them to a store, atomically as a set.

Nothing is written unless it validates: an artifact is encoded once, parsed back, checked
against the committed JSON Schema, and only then handed to the store.

A published set (``current``, ``curated``, ``deprecations``) is committed by a small
transaction, ``publish_set``:

1. immutable per-run copies ``models/openrouter/runs/<run_id>/<name>.json``;
2. the well-known ``models/openrouter/<name>.json``;
3. ``manifest.json`` last, with a conditional write on the previous manifest's etag.

A failure at any step puts the well-known files back as they were, so the store keeps the old
set; a lost race on the manifest aborts loudly instead of overwriting the winner. A run killed
half-way (no chance to roll back) is repaired by ``repair`` at the start of the next run, which
copies the per-run copies the manifest names back over the well-known files.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from pipeline.logs import redact
from pipeline.publishing import jsonio, keys, schemas
from pipeline.publishing.store import (
    PreconditionFailed,
    Spooled,
    Store,
    StoreError,
    put_all,
    read_bytes,
)
from pipeline.records.runs import JobStatus, Manifest, ManifestEntry, Status

log = logging.getLogger("pipeline.publishing.publish")

# Artifacts rewritten only when their content apart from run metadata changed: readers that
# poll them (and caches keyed on their hash) should see a change only when there is one.
REWRITE_ONLY_ON_CHANGE = frozenset({"curated", "deprecations"})
# Run metadata every artifact carries; ignored when deciding whether content changed.
RUN_METADATA = ("generatedAt", "runId")
# Conditional read-modify-write of status.json: attempts before giving up on a busy store.
STATUS_ATTEMPTS = 5


class PublishError(StoreError):
    """The set could not be committed; the message names the store, the key and the run."""


class PublishConflict(PublishError):
    """Another publisher committed a manifest while this run was publishing."""


def encode(name: str, artifact: BaseModel) -> bytes:
    """Published bytes of ``artifact``, validated against schema ``name``.

    The bytes are parsed back and validated, so what is checked is exactly what is written.
    """
    data = jsonio.dump_model(artifact)
    document = jsonio.loads_plain(data)
    schemas.validate(name, document)
    # Status, run reports and artifacts carry error texts: no secret leaves (docs/hardening.md).
    return redact.redact_bytes(data)


def encode_plain(name: str, document: Mapping[str, Any]) -> bytes:
    """Like :func:`encode`, for a document already in its published shape (plain mappings,
    prices as Decimal): the merged provider lists, which are assembled as mappings because
    validating thousands of records field by field twice would cost seconds. The schema is
    the check, as for every artifact. They carry upstream data and texts scrubbed where they
    were made (the provider's own list is published through :func:`encode`), so, like the
    items of :func:`encode_listing`, only remembered secrets are scrubbed here: the key-shape
    patterns would mangle upstream text (``deepseek-r1-basic supports_response_schema`` reads
    as HTTP Basic credentials).

    The document itself is validated, not the bytes parsed back (a merge writes ~26 MB of
    lists: parsing them again cost a third of a second). It is the same check: the encoder
    writes JSON types only (a Decimal as its exact text, anything else not JSON refused) and
    jsonschema-rs reads Decimals as the numbers they are."""
    data = jsonio.dumps(document)
    schemas.validate(name, document)
    return redact.redact_bytes(data, shapes=False)


LISTING_CHUNK = 256
"""Items encoded (and written to a spool) together: one orjson call and one check of its output
per chunk, not per model; a chunk of models is a few MB while it lives."""


def encode_listing(name: str, artifact: BaseModel, field: str, item_def: str) -> bytes:
    """Like :func:`encode`, for documents dominated by one large list (``current.json``).

    The items are validated and encoded a chunk at a time and spliced into the envelope
    (:func:`listing_pieces`); the bytes are identical to :func:`encode`'s. A 100k-model
    publish writes the pieces to a file instead (:func:`spool_listing`).
    """
    out = bytearray()
    for piece in listing_pieces(name, artifact, field, item_def):
        out += piece
    # The bytearray itself, not bytes(out): a copy would hold the whole document twice.
    # Nothing mutates it after this, and every consumer (hashing, file and S3 writes,
    # comparisons) takes any bytes-like object.
    return cast("bytes", out)


def spool_listing(
    name: str, artifact: BaseModel, field: str, item_def: str, into: Spooled
) -> Spooled:
    """:func:`encode_listing`'s bytes written to ``into`` piece by piece (issue 30): the
    encoded document, ~220 MB at 100k models, is never in memory whole."""
    for piece in listing_pieces(name, artifact, field, item_def):
        into.write(piece)
    return into


def listing_pieces(name: str, artifact: BaseModel, field: str, item_def: str) -> Iterator[bytes]:
    """:func:`encode`'s bytes of ``artifact`` in pieces: the envelope up to its ``field`` list,
    the list's items a chunk at a time, the rest of the envelope.

    Every item is validated against the schema's ``item_def`` definition as dumped, before it
    is encoded: what is checked is what is written (the encoder writes exactly those values,
    a Decimal as its exact text, and jsonschema-rs reads Decimals as the numbers they are), as
    in :func:`encode_plain`. Only one chunk's intermediate copies exist at a time.
    """
    pieces = _listing_pieces(name, artifact, field, item_def)
    values = redact.remembered()
    if not values or not getattr(artifact, field):  # an empty list: the envelope, scrubbed
        yield from pieces
        return
    # The items carry only upstream data, so only remembered secrets are scrubbed (the
    # envelope, which carries error texts, had the full scrub). Every piece ends with a
    # newline: a secret without one never spans two pieces, so scrubbing piece by piece is
    # scrubbing the whole. One with a newline (a raw value read with its trailing newline)
    # is scrubbed from the document in one piece.
    if any("\n" in value for value in values):
        yield redact.redact_bytes(b"".join(pieces), shapes=False)
        return
    for piece in pieces:
        yield redact.redact_bytes(piece, shapes=False)


def _listing_pieces(name: str, artifact: BaseModel, field: str, item_def: str) -> Iterator[bytes]:
    items = getattr(artifact, field)
    envelope = artifact.model_copy(update={field: []})
    head = jsonio.dump_model(envelope)
    schemas.validate(name, jsonio.loads_plain(head))
    # The envelope carries error texts (degradedReason); the items only upstream data.
    head = redact.redact_bytes(head)
    if not items:
        yield head
        return
    key = f'"{to_camel(field)}": []'.encode()
    before, found, after = head.partition(key)
    if not found:
        raise schemas.SchemaViolation(f"{name}: cannot find the {field!r} list to fill in")
    yield before + key[:-2] + b"[\n"
    for start in range(0, len(items), LISTING_CHUNK):
        documents = [
            item.model_dump(mode="python", by_alias=True, exclude_none=True)
            for item in items[start : start + LISTING_CHUNK]
        ]
        for document in documents:
            _validate_item(name, item_def, document)
        last = start + LISTING_CHUNK >= len(items)
        yield jsonio.dumps_items(documents) + (b"\n" if last else b",\n")
        del documents
    yield b"  ]" + after


def _validate_item(name: str, item_def: str, document: Mapping[str, Any]) -> None:
    """Validate one item as dumped; a violation is reported as before, from its published
    bytes parsed back (the message then quotes the values as a reader would see them)."""
    try:
        schemas.validate_definition(name, item_def, document)
    except schemas.SchemaViolation:
        schemas.validate_definition(name, item_def, jsonio.loads_plain(jsonio.dumps(document)))
        raise


class UnreadableArtifact(Exception):
    """A published artifact a run depends on does not parse; overwriting it would lose data."""


M = TypeVar("M", bound=BaseModel)


def read_published(store: Store, key: str, model: type[M], *, would_lose: str) -> M | None:
    """The artifact at ``key`` as ``model``; None when the store has none yet.

    A run builds on what it reads (lifecycle history, redirects, tombstones), so an unreadable
    artifact stops it rather than being replaced: UnreadableArtifact says what would be lost.
    """
    blob = store.get(key)
    if blob is None:
        return None
    try:
        return model.model_validate_json(blob.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UnreadableArtifact(
            f"the published {key} in {store.uri} is unreadable ({where}: {first['msg']}); "
            f"refusing to overwrite it and lose {would_lose} — restore it or delete it"
        ) from exc


def publish_schemas(store: Store, also: Mapping[str, bytes] | None = None) -> None:
    """Publish every artifact schema (rewritten only when it changed), together with the
    unconditional writes ``also``: one batch, so a local store waits for their fsyncs once
    (``put_all``)."""
    put_all(store, {**(also or {}), **changed_schemas(store)})


def changed_schemas(store: Store) -> dict[str, bytes]:
    """``{key: bytes}`` of every artifact schema the store does not hold as committed."""
    writes: dict[str, bytes] = {}
    for name in schemas.ARTIFACTS:
        key = keys.schema(name)
        data = schemas.committed(name)
        if read_bytes(store, key) != data:
            writes[key] = data
    return writes


def read_status(store: Store) -> Status | None:
    """The published status.json, or None when there is none (or it is unreadable)."""
    blob = store.get(keys.STATUS)
    if blob is None:
        return None
    try:
        return Status.model_validate_json(blob.data)
    except ValueError:
        return None


def record_status(store: Store, job: str, entry: JobStatus, generated_at: str) -> None:
    """Update one job's entry in status.json, keeping the others.

    A conditional read-modify-write: jobs of several schedulers (and a locked run reporting
    `locked`) may update status.json at once, and none may drop another job's entry.
    """
    for _ in range(STATUS_ATTEMPTS):
        blob = store.get(keys.STATUS)
        status: Status | None = None
        if blob is not None:
            try:
                status = Status.model_validate_json(blob.data)
            except ValueError as exc:
                # Unreadable: start afresh rather than block every job, and say so.
                log.warning(
                    "status unreadable; starting it afresh",
                    extra={"key": keys.STATUS, "problem": str(exc).splitlines()[0][:200]},
                )
                status = None
        status = status or Status(generated_at=generated_at)
        previous = status.jobs.get(job)
        if entry.last_success is None and previous is not None:
            entry.last_success = previous.last_success
        status.jobs[job] = entry
        status.generated_at = generated_at
        data = encode("status", status)
        try:
            if blob is None:
                store.put(keys.STATUS, data, if_none_match=True)
            else:
                store.put(keys.STATUS, data, if_match=blob.etag)
            return
        except PreconditionFailed:
            continue
    raise StoreError(
        f"{keys.STATUS} in {store.uri}: gave up after {STATUS_ATTEMPTS} conflicting updates"
    )


def well_known(name: str) -> str:
    """``models/openrouter/<name>.json``: where readers find artifact ``name``."""
    return f"{keys.OPENROUTER}/{name}.json"


def artifact_name(key: str) -> str:
    """The set's name for a well-known key (``models/openrouter/curated.json`` → ``curated``)."""
    name = key.removeprefix(f"{keys.OPENROUTER}/").removesuffix(".json")
    if well_known(name) != key or "/" in name:
        raise PublishError(f"{key} is not a well-known artifact key of {keys.OPENROUTER}/")
    return name


def sha256(data: bytes | Spooled) -> str:
    """Hex SHA-256, as recorded in the manifest."""
    if isinstance(data, Spooled):
        return data.sha256()
    return hashlib.sha256(data).hexdigest()


def read_manifest(store: Store) -> tuple[Manifest, str] | None:
    """The committed manifest and its etag, or None on a store that has none yet."""
    blob = store.get(keys.MANIFEST)
    if blob is None:
        return None
    try:
        return Manifest.model_validate_json(blob.data), blob.etag
    except ValidationError as exc:
        raise PublishError(
            f"{keys.MANIFEST} in {store.uri} is unreadable ({exc.errors()[0]['msg']}); "
            "refusing to publish over it: restore it from models/openrouter/runs/ or delete it"
        ) from exc


def _content(data: bytes) -> Any:
    document = jsonio.loads(data)
    if isinstance(document, dict):
        for key in RUN_METADATA:
            document.pop(key, None)
    return document


@dataclass
class Published:
    """What a committed transaction wrote."""

    manifest: Manifest
    written: list[str] = field(default_factory=list)
    """Artifact names whose well-known copy was rewritten."""
    unchanged: list[str] = field(default_factory=list)
    """Artifact names kept as they were (content apart from run metadata unchanged)."""


class LatestMarker:
    """Marker: build on whatever manifest is committed when publishing starts."""


LATEST = LatestMarker()


def publish_set(
    store: Store,
    run_id: str,
    generated_at: str,
    artifacts: Mapping[str, bytes | Spooled],
    *,
    based_on: str | LatestMarker | None = LATEST,
    also: Mapping[str, bytes] | None = None,
) -> Published:
    """Commit ``artifacts`` ({name: validated bytes, or a spool of them}) as run ``run_id``'s
    published set.

    ``based_on`` is the etag of the manifest the run read its previous state under (None: the
    store had none); when another set was committed since, the run built on stale state and
    PublishConflict is raised before anything is written. Artifacts this run did not produce
    keep their manifest entry (and the run that produced them). Raises PublishConflict when
    another manifest was committed meanwhile, PublishError or StoreError when a write failed;
    either way the well-known files are put back.

    ``also`` ({key: bytes}: the schemas that changed) is written unconditionally with the
    set's files, in the same batch, even when the set itself is unchanged.
    """
    before = read_manifest(store)
    if not isinstance(based_on, LatestMarker) and (before[1] if before else None) != based_on:
        raise PublishConflict(
            f"{keys.MANIFEST} in {store.uri} was committed by another run "
            f"({before[0].run_id if before else 'none: it was deleted'}) after run {run_id} "
            "read its previous state; nothing of this run was written"
        )
    entries: dict[str, ManifestEntry] = dict(before[0].artifacts) if before else {}
    changed: dict[str, bytes | Spooled] = {}
    unchanged: list[str] = []
    for name, data in sorted(artifacts.items()):
        if name in REWRITE_ONLY_ON_CHANGE and name in entries:
            old = read_bytes(store, well_known(name))
            new = data.read() if isinstance(data, Spooled) else data
            if old is not None and _content(old) == _content(new):
                unchanged.append(name)
                continue
        changed[name] = data

    if not changed and before is not None:
        put_all(store, also or {})
        return Published(before[0], [], unchanged)  # nothing new: the committed set stands

    # 1. Immutable per-run copies, then 2. the well-known copies (remembering what they
    # replace), in one batch: ``put_all`` renames a local store's files in this order once
    # every one of them is durable (their fsyncs overlapped, issue 29), so nothing a reader
    # looks at changes before the per-run copies are in place; 3. the manifest, written last
    # and on its own, so it never lands before the files it vouches for. Until it lands the
    # committed manifest names the previous run's copies, which ``repair`` puts back over
    # well-known files a killed run left.
    saved: dict[str, bytes | None] = {}
    try:
        for name in changed:
            saved[name] = read_bytes(store, well_known(name))
        put_all(
            store,
            {
                **(also or {}),
                **{keys.openrouter_run_copy(run_id, name): data for name, data in changed.items()},
                **{well_known(name): data for name, data in changed.items()},
            },
        )
        for name, data in changed.items():
            entries[name] = ManifestEntry(
                key=keys.openrouter_run_copy(run_id, name), sha256=sha256(data), run_id=run_id
            )
        manifest = Manifest(generated_at=generated_at, run_id=run_id, artifacts=entries)
        body = encode("manifest", manifest)
        if before is None:
            store.put(keys.MANIFEST, body, if_none_match=True)
        else:
            store.put(keys.MANIFEST, body, if_match=before[1])
    except PreconditionFailed as exc:
        _roll_back(store, run_id, saved)
        repair(store)
        raise PublishConflict(
            f"{keys.MANIFEST} in {store.uri} changed while run {run_id} was publishing "
            "(another publisher without the lease?); nothing of this run was committed"
        ) from exc
    except BaseException:
        _roll_back(store, run_id, saved)
        raise
    log.info(
        "published set committed",
        extra={"run_id": run_id, "written": sorted(changed), "unchanged": unchanged},
    )
    return Published(manifest, sorted(changed), unchanged)


def _roll_back(store: Store, run_id: str, saved: Mapping[str, bytes | None]) -> None:
    """Put back the well-known files this run replaced (best effort; ``repair`` finishes)."""
    for name, data in reversed(list(saved.items())):
        try:
            if data is None:
                store.delete(well_known(name))
            else:
                store.put(well_known(name), data)
        except StoreError as exc:
            log.error(
                "rollback failed; the next run repairs it from the manifest",
                extra={"run_id": run_id, "key": well_known(name), "error": str(exc)},
            )


def repair(store: Store) -> list[str]:
    """Make every well-known artifact match the committed manifest again (after a run was
    killed mid-publish). Returns the names restored from their per-run copies."""
    committed = read_manifest(store)
    if committed is None:
        return []
    restored: list[str] = []
    for name, entry in sorted(committed[0].artifacts.items()):
        current = store.get(well_known(name))
        if current is not None and sha256(current.data) == entry.sha256:
            continue
        copy = store.get(entry.key)
        if copy is None or sha256(copy.data) != entry.sha256:
            raise PublishError(
                f"{keys.MANIFEST} in {store.uri} names {entry.key} (run {entry.run_id}) but "
                "that copy is missing or does not match its hash; cannot repair "
                f"{well_known(name)}"
            )
        store.put(well_known(name), copy.data)
        restored.append(name)
    if restored:
        log.warning(
            "repaired well-known artifacts from the manifest",
            extra={"store": store.uri, "restored": restored, "run_id": committed[0].run_id},
        )
    return restored


def well_known_mismatches(store: Store) -> list[str]:
    """The well-known artifacts that do not belong to the committed set, or [] when they all
    do (issue 12: the post-kill window).

    A run killed between writing the well-known files and the manifest leaves them from two
    runs until the next run's :func:`repair`. A reader that goes through the manifest never
    sees that; a reader of the well-known files checks each file's ``runId`` against
    ``manifest.artifacts.<name>.runId`` (what this does, with the sha256 as well), and on a
    mismatch reads the per-run copies the manifest names (docs/hardening.md).
    """
    committed = read_manifest(store)
    if committed is None:
        return []
    problems: list[str] = []
    for name, entry in sorted(committed[0].artifacts.items()):
        blob = store.get(well_known(name))
        if blob is None:
            problems.append(f"{well_known(name)}: missing (manifest names run {entry.run_id})")
        elif sha256(blob.data) != entry.sha256:
            problems.append(
                f"{well_known(name)}: not the bytes of run {entry.run_id} the manifest names"
            )
    return problems
