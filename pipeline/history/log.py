"""The history in the store: bounded, immutable segments behind a small committed index.

``models/openrouter/history.json`` (artifact ``history``) lists the segments with their
SHA-256; it is committed with the rest of the set through the manifest, so a reader never sees
a segment the set does not vouch for. Segments hold at most ``SEGMENT_EVENTS`` events. A run
appends by rewriting only the last segment, under a new key (``<seq>-<run_id>.json``), before
the set is committed: a run that dies half-way leaves an unreferenced object and nothing
else. Segments no index references are pruned by the sweep.

Sizing (see ``bench/history.py``): an event is about 150-400 bytes; a 6-hourly run over 10k
models adds tens of events, so a year is a few MB and a run rewrites at most one segment
(≤ ``SEGMENT_EVENTS`` events, a few MB) whatever the history's age.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

import simplejson

from pipeline.history import track
from pipeline.publishing import jsonio, keys, publish, schemas
from pipeline.publishing.store import Store
from pipeline.records.base import SCHEMA_VERSION
from pipeline.records.catalog import CurrentCatalog, Redirect
from pipeline.records.history import HistoryEvent, HistoryIndex, HistorySegmentRef
from pipeline.records.model import ModelRecord

log = logging.getLogger("pipeline.history")

SEGMENT_EVENTS = 20_000
"""Events per segment: bounds what one run rewrites (and a reader parses per segment)."""


def read_index(store: Store, key: str = keys.HISTORY) -> HistoryIndex | None:
    """The committed index (the catalog's; ``keys.PROVIDERS_HISTORY`` for the provider
    lists'), or None when the store has no history there yet."""
    what = "the catalog's history index" if key == keys.HISTORY else f"the history index {key}"
    return publish.read_published(store, key, HistoryIndex, would_lose=what)


def _events_bytes(events: Iterable[HistoryEvent]) -> list[bytes]:
    """Each event as a compact JSON line, validated against the segment schema's definition.

    Each event is validated as built, not parsed back from its line (a first merge of the
    provider lists records thousands of events): the encoder writes exactly those values, and
    jsonschema-rs reads their Decimal prices as the numbers they are."""
    lines: list[bytes] = []
    for event in events:
        # What model_dump(by_alias=True) gives, without its cost per event.
        document = {
            "at": event.at,
            "runId": event.run_id,
            "id": event.id,
            "event": event.event,
            "changes": event.changes,
        }
        schemas.validate_definition("history-segment", "HistoryEvent", document)
        lines.append(jsonio.dumps_compact(document))
    return lines


def encode_segment(segment_run: str, generated_at: str, seq: int, events: Sequence[bytes]) -> bytes:
    """A segment's bytes: a header, then one compact event per line. Each event was validated
    when it was first written (``_events_bytes``), and carried events are verified against the
    index's SHA-256, so appending never re-parses or re-validates what a segment already
    holds; the envelope is checked here."""
    head = {
        "schemaVersion": SCHEMA_VERSION,
        "generatedAt": generated_at,
        "runId": segment_run,
        "seq": seq,
    }
    schemas.validate("history-segment", {**head, "events": []})
    text = simplejson.dumps(head, separators=(",", ":"))[:-1]
    return (text + ',"events":[\n').encode() + b",\n".join(events) + b"\n]}\n"


def _segment_events(store: Store, ref: HistorySegmentRef) -> list[bytes]:
    """The event lines of a committed segment, as bytes (checked against the index)."""
    blob = store.get(ref.key)
    if blob is None or hashlib.sha256(blob.data).hexdigest() != ref.sha256:
        raise publish.UnreadableArtifact(
            f"history segment {ref.key} in {store.uri} is missing or does not match the index; "
            "refusing to rewrite it and lose its events — run `catalog history rebuild`"
        )
    lines = blob.data.split(b"\n")[1:-2]  # header line; then events; then "]}" and ""
    events = [line.removesuffix(b",") for line in lines]
    if len(events) != ref.events:
        raise publish.UnreadableArtifact(
            f"history segment {ref.key} in {store.uri} holds {len(events)} events where the "
            f"index says {ref.events}; run `catalog history rebuild`"
        )
    return events


def append(
    store: Store,
    new_events: Iterable[HistoryEvent],
    *,
    run_id: str,
    generated_at: str,
    index: HistoryIndex | None,
    segment_key: Callable[[int, str], str] = keys.history_segment,
) -> bytes | None:
    """Write this run's segment(s) and return the new index's bytes for the set, or None when
    the run changed nothing. The segments are written now (new keys, invisible
    until the set is committed); the index is committed by ``publish.publish_set`` (the
    provider lists' index, ``segment_key=keys.providers_history_segment``, by the providers
    run once its lists are written)."""
    fresh = _events_bytes(new_events)
    if not fresh:
        return None
    refs = list(index.segments) if index else []
    pending: list[bytes] = []
    seq = len(refs)
    if refs and refs[-1].events < SEGMENT_EVENTS:
        last = refs.pop()
        pending = _segment_events(store, last)
        seq = last.seq
    pending.extend(fresh)
    total = sum(r.events for r in refs)
    for start in range(0, len(pending), SEGMENT_EVENTS):
        chunk = pending[start : start + SEGMENT_EVENTS]
        data = encode_segment(run_id, generated_at, seq, chunk)
        key = segment_key(seq, run_id)
        store.put(key, data)
        first = simplejson.loads(chunk[0])["at"]
        last_at = simplejson.loads(chunk[-1])["at"]
        refs.append(
            HistorySegmentRef(
                seq=seq,
                key=key,
                sha256=hashlib.sha256(data).hexdigest(),
                events=len(chunk),
                first_at=first,
                last_at=last_at,
            )
        )
        total += len(chunk)
        seq += 1
    document = HistoryIndex(
        generated_at=generated_at,
        run_id=run_id,
        fields=list(track.FIELDS),
        events=total,
        segments=refs,
    )
    return publish.encode("history", document)


def record_run(
    store: Store,
    *,
    previous: CurrentCatalog | None,
    previous_redirects: Mapping[str, track.Redirect],
    records: Sequence[ModelRecord],
    redirects: Mapping[str, track.Redirect],
    removed: Sequence[str],
    run_id: str,
    observed_at: str,
    generated_at: str,
) -> bytes | None:
    """This run's ``history`` artifact, its events appended (None when nothing changed).

    When the store has a catalog but no history yet, the previous catalog is first recorded as
    ``tracked`` events at its own time, so the history starts where the published data does.
    """
    index = read_index(store)
    prev_models = {m.id: m for m in previous.models} if previous else None
    found: list[HistoryEvent] = []
    if index is None and previous is not None and prev_models:
        found.extend(
            track.baseline_events(
                prev_models,
                previous_redirects,
                at=previous.data_as_of or previous.generated_at,
                run_id=previous.run_id,
            )
        )
    found.extend(
        track.events(
            prev_models,
            previous_redirects,
            records,
            redirects,
            removed,
            at=observed_at,
            run_id=run_id,
        )
    )
    return append(store, found, run_id=run_id, generated_at=generated_at, index=index)


def redirect_map(redirects: Iterable[Redirect]) -> dict[str, track.Redirect]:
    """``from`` → (``to``, reason) of a deprecations document's redirects."""
    return {r.from_id: (r.to, r.reason) for r in redirects}


def prune(
    store: Store, index_key: str = keys.HISTORY, prefix: str = keys.HISTORY_SEGMENTS
) -> list[str]:
    """Delete segments the committed index does not reference (rewritten or orphaned ones)."""
    index = read_index(store, index_key)
    keep = {ref.key for ref in index.segments} if index else set()
    gone = [key for key in store.list(prefix) if key not in keep]
    for key in gone:
        store.delete(key)
    if gone:
        log.info("pruned history segments", extra={"count": len(gone)})
    return gone
