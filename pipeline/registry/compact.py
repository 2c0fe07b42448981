"""The compact index beside ``current.json``: a large catalog loaded without parsing every record.

At 100k models ``current.json`` is about 220 MB, and parsing it into dicts takes seconds
(issue 29 asks a load under 1.5 s). What a load needs before any lookup is much smaller: the
ids in id order, where each record's bytes are in ``current.json``, the names that resolve to
a model (aliases, provider-native ids) and the search columns (``search.Columns``). The compact
index holds exactly that, so a load reads the JSON's bytes, checks that the index belongs to
exactly those bytes, and parses a record only when it is first asked for (``Records``).

The index is a cache, never the contract: ``current.json`` stays what is published, served
and checked. The reader writes the index next to a JSON it has just parsed in full and
validated (a local store, a catalog of ``loader.INDEX_MIN_MODELS`` models or more: below
that a full load is already fast), and reads it on later loads of the same bytes (a restarted
service, every CLI command). It is used only when everything checks out: format and version,
the size and SHA-256 of the exact JSON bytes, the digest of the schema the records were
validated against, the SHA-256 of its own body, and the bounds of every column. Anything else
(missing, stale, another version, truncated, hostile) falls back to the full load: never wrong
data. The index is JSON (never pickle or marshal: its bytes come from a store, and reading
them runs no code).

Layout: one header line (JSON: ``format``, ``version``, the JSON's ``size`` and ``sha256``,
``schema``, the body's ``sections`` and ``sha256``), a newline, then the body: the sections
(``SECTIONS``) one after the other, raw: nothing in them is unescaped or decoded field by field.
"""

from __future__ import annotations

import array
import base64
import functools
import hashlib
import itertools
import json
import operator
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, overload

from pipeline.publishing.store import LocalStore, Store
from pipeline.registry.filters import RegistryError
from pipeline.registry.search import Columns

FORMAT = "model-catalog-sync/current-index"
VERSION = 1
SUFFIX = ".idx"
"""The index of ``…/current.json`` is ``…/current.json.idx`` (not ``*.json``: it is no
published artifact, and tools that list the artifacts pass it by)."""
HEADER_LIMIT = 4096
SEP = "\x00"
"""Joins the ids and names in the body; a catalog whose ids or names hold it gets no index."""
SECTIONS = (
    "head",
    "bits",
    "ids",
    "spans",
    "aliasNames",
    "aliasTargets",
    "nativeNames",
    "nativeTargets",
    "nativeSources",
    "text",
    "textLengths",
)
"""The body's parts, in this order: JSON (``head``, ``bits``: [filter, value, base64 bitset]),
NUL-joined UTF-8 strings, or little-endian integer arrays (``spans``: start and end byte of
each record; ``…Targets``: positions; ``textLengths``: characters)."""
BIT_KINDS = frozenset({"state", "tier", "kind", "provider", "family", "capability", "open-weights"})

_SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "current.schema.json"


class IndexUnusable(Exception):
    """Why the index beside a ``current.json`` is not used (the load reads the JSON instead)."""


class IndexMismatch(RegistryError):
    """A record's bytes, where the index says they are, hold another record (a hand-made or
    damaged index whose checksums still hold): the message says what to delete."""


def index_key(key: str) -> str:
    """The store key of the compact index of the JSON at ``key``."""
    return key + SUFFIX


@functools.cache
def schema_digest() -> str:
    """SHA-256 of the ``current`` schema this reader validates with: an index built under
    another schema is stale (its records were not checked against this one)."""
    try:
        return hashlib.sha256(_SCHEMA.read_bytes()).hexdigest()
    except OSError:
        return "none"


# -- the records, parsed on first use ---------------------------------------------------------


class Records(Mapping[str, dict[str, Any]]):
    """id → published record, each parsed from its bytes in ``current.json`` when first asked
    for and kept (``parsed``). Iterates in id order."""

    def __init__(self, data: bytes, ids: list[str], spans: array.array[int], where: str) -> None:
        self.ids = ids
        self.parsed: dict[str, dict[str, Any]] = {}
        """The records parsed so far: a plain dict, what ``Snapshot.get`` reads first."""
        self.data = data
        """current.json's bytes; let go (empty) once every record is parsed."""
        self.spans = spans
        """Start and end byte of each record in ``current.json``, by position."""
        self.slots = {model_id: i for i, model_id in enumerate(ids)}
        """id → position (the search index's ``position``)."""
        self._where = where

    def __getitem__(self, model_id: str) -> dict[str, Any]:
        record = self.parsed.get(model_id)
        if record is None:
            record = self.at(self.slots[model_id])
        return record

    def get(self, model_id: str, default: Any = None) -> Any:  # faster than Mapping's
        record = self.parsed.get(model_id)
        if record is not None:
            return record
        i = self.slots.get(model_id)
        return default if i is None else self.at(i)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self.slots

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def at(self, i: int) -> dict[str, Any]:
        """The record at position ``i`` (id order)."""
        model_id = self.ids[i]
        known = self.parsed.get(model_id)
        if known is not None:
            return known
        start, end = self.spans[2 * i], self.spans[2 * i + 1]
        try:
            found = json.loads(self.data[start:end])
        except (ValueError, RecursionError):
            found = None
        if not isinstance(found, dict) or found.get("id") != model_id:
            known = self.parsed.get(model_id)  # parsed meanwhile, the bytes let go since
            if known is not None:
                return known
            raise IndexMismatch(
                f"{self._where}{SUFFIX}: bytes {start}-{end} of {self._where} do not hold "
                f"{model_id!r}; delete {self._where}{SUFFIX} (the reader rebuilds it)"
            )
        # Two threads may parse the same record at once: the first one kept is everyone's.
        record: dict[str, Any] = self.parsed.setdefault(model_id, found)
        if len(self.parsed) == len(self.ids):
            self.data = b""  # every record parsed: the JSON's bytes are no longer needed
        return record


class ModelList(Sequence[dict[str, Any]]):
    """The records in id order (``Snapshot.models``), parsed as they are read."""

    def __init__(self, records: Records) -> None:
        self.records = records

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [self.records.at(j) for j in range(len(self.records))[i]]
        if i < 0:
            i += len(self.records)
        if not 0 <= i < len(self.records):
            raise IndexError("model position out of range")
        return self.records.at(i)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self.records.at(i) for i in range(len(self.records)))


class CompactIndex(NamedTuple):
    """A verified index with the JSON bytes it belongs to: what ``Snapshot`` is built from."""

    head: dict[str, Any]
    """``current.json`` without ``models`` (schemaVersion, generatedAt, runId, dataAsOf, …)."""
    records: Records
    by_alias: dict[str, str]
    native_ids: dict[str, tuple[str, str]]
    columns: Columns

    @property
    def models(self) -> ModelList:
        return ModelList(self.records)

    def state_counts(self) -> dict[str, int]:
        """Models by lifecycle state, from the state bitsets."""
        return {
            str(value): bits.bit_count()
            for (kind, value), bits in self.columns.bits.items()
            if kind == "state" and bits
        }


# -- parsing current.json with each record's span -----------------------------------------------


def parse_with_spans(data: bytes) -> tuple[dict[str, Any], list[tuple[int, int]]] | None:
    """``json.loads(data)`` of a ``current.json``, with the byte span of each element of its
    ``models`` array (in document order). None when the bytes are anything but a UTF-8 JSON
    object: the caller parses them the usual way (and reports what is wrong with them)."""
    import json.decoder

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # The stdlib's own scanner (the C one json.loads runs), one element at a time.
    scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
    skip = json.decoder.WHITESPACE.match  # type: ignore[attr-defined]
    document: dict[str, Any] = {}
    spans: list[tuple[int, int]] = []
    try:
        i = skip(text, 0).end()
        if text[i : i + 1] != "{":
            return None
        i = skip(text, i + 1).end()
        closed = text[i : i + 1] == "}"
        if closed:
            i += 1
        while not closed:
            if text[i : i + 1] != '"':
                return None
            key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            i = skip(text, i).end()
            if text[i : i + 1] != ":":
                return None
            i = skip(text, i + 1).end()
            if key == "models":
                spans = []  # a repeated key: the last one counts, as for json.loads
            if key == "models" and text[i : i + 1] == "[":
                models: list[Any] = []
                i = skip(text, i + 1).end()
                if text[i : i + 1] == "]":
                    i += 1
                else:
                    while True:
                        start = i
                        value, i = scan(text, i)
                        models.append(value)
                        spans.append((start, i))
                        i = skip(text, i).end()
                        if text[i : i + 1] == ",":
                            i = skip(text, i + 1).end()
                        elif text[i : i + 1] == "]":
                            i += 1
                            break
                        else:
                            return None
                document[key] = models
            else:
                document[key], i = scan(text, i)
            i = skip(text, i).end()
            if text[i : i + 1] == ",":
                i = skip(text, i + 1).end()
            elif text[i : i + 1] == "}":
                i += 1
                closed = True
            else:
                return None
        if skip(text, i).end() != len(text):
            return None
    except (ValueError, StopIteration, RecursionError):
        return None
    if not data.isascii():  # character positions → byte positions (in document order)
        byte_spans = []
        chars = byte = 0
        for start, end in spans:
            byte += len(text[chars:start].encode())
            length = len(text[start:end].encode())
            byte_spans.append((byte, byte + length))
            byte, chars = byte + length, end
        spans = byte_spans
    return document, spans


# -- writing ------------------------------------------------------------------------------------


class PendingIndex:
    """What the loader keeps of a fully parsed ``current.json`` so the registry can write its
    index once the snapshot is built: the bytes and each record's span, by id."""

    def __init__(self, key: str, data: bytes, sha256: str, spans: dict[str, tuple[int, int]]):
        self.key = key
        self.data: bytes | None = data
        self.sha256 = sha256
        self.spans = spans

    def release(self) -> None:
        """Drop the bytes (the full load keeps the parsed records, not the JSON)."""
        self.data = None
        self.spans = {}


def _packed(values: Iterable[int], typecode: str) -> bytes:
    column = array.array(typecode, values)
    if sys.byteorder != "little":
        column.byteswap()
    return column.tobytes()


def encode(
    *,
    head: Mapping[str, Any],
    ids: Sequence[str],
    spans: Mapping[str, tuple[int, int]],
    by_alias: Mapping[str, str],
    native_ids: Mapping[str, tuple[str, str]],
    columns: Columns,
    json_size: int,
    json_sha256: str,
) -> bytes | None:
    """The index file of a catalog (ids in id order); None when it cannot hold it (a NUL in
    an id or a name, an alias of no listed model)."""
    names = [*ids, *by_alias, *native_ids, *(source for _, source in native_ids.values())]
    position = {model_id: i for i, model_id in enumerate(ids)}
    targets = [*by_alias.values(), *(model_id for model_id, _ in native_ids.values())]
    if any(SEP in name for name in names) or not position.keys() >= set(targets):
        return None
    text_lengths = [b - a for a, b in itertools.pairwise([*columns.starts, len(columns.text)])]
    size = (len(ids) + 7) // 8
    bits = [
        [kind, value, base64.b64encode(found.to_bytes(size, "little")).decode()]
        for (kind, value), found in columns.bits.items()
    ]
    sections = {
        "head": json.dumps({k: v for k, v in head.items() if k != "models"}).encode(),
        "bits": json.dumps(bits).encode(),
        "ids": SEP.join(ids).encode(),
        "spans": _packed((p for model_id in ids for p in spans[model_id]), "Q"),
        "aliasNames": SEP.join(by_alias).encode(),
        "aliasTargets": _packed((position[t] for t in by_alias.values()), "I"),
        "nativeNames": SEP.join(native_ids).encode(),
        "nativeTargets": _packed((position[t] for t, _ in native_ids.values()), "I"),
        "nativeSources": SEP.join(source for _, source in native_ids.values()).encode(),
        "text": columns.text.encode(),
        "textLengths": _packed(text_lengths, "I"),
    }
    body = b"".join(sections.values())
    header = {
        "format": FORMAT,
        "version": VERSION,
        "json": {"size": json_size, "sha256": json_sha256},
        "schema": schema_digest(),
        "models": len(ids),
        "sections": [[name, len(part)] for name, part in sections.items()],
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + body


def write(store: Store, pending: PendingIndex, snapshot: Any) -> bool:
    """Write the index of ``snapshot`` (just built from the JSON ``pending`` holds) beside that
    JSON on a local store; True when written. ``snapshot``: a ``core.Snapshot``."""
    if pending.data is None or not isinstance(store, LocalStore):
        return False
    search = snapshot.search_index()  # its columns are the index's, and the first search's
    blob = encode(
        head=snapshot.set.current,
        ids=search.ids,
        spans=pending.spans,
        by_alias=snapshot.index.by_alias,
        native_ids=snapshot.index.native_ids,
        columns=Columns(search.bits, search.text, search.starts),
        json_size=len(pending.data),
        json_sha256=pending.sha256,
    )
    if blob is None:
        return False
    store.put(index_key(pending.key), blob, content_type="application/octet-stream")
    return True


# -- reading ------------------------------------------------------------------------------------


def _read_index(store: Store, key: str, limit: int) -> bytes:
    if isinstance(store, LocalStore):
        try:
            size = (store.root / key).stat().st_size
        except OSError:
            raise IndexUnusable("missing") from None
        if size > limit:
            raise IndexUnusable(f"{size} bytes, larger than the JSON it indexes")
    from pipeline.registry.loader import read_bytes

    data = read_bytes(store, key)
    if data is None:
        raise IndexUnusable("missing")
    if len(data) > limit:
        raise IndexUnusable(f"{len(data)} bytes, larger than the JSON it indexes")
    return data


def _strings(part: bytes, name: str, count: int | None) -> list[str]:
    try:
        found = part.decode("utf-8").split(SEP) if part else []
    except UnicodeDecodeError:
        raise IndexUnusable(f"`{name}` is not UTF-8") from None
    if count is not None and len(found) != count:
        raise IndexUnusable(f"`{name}` holds {len(found)} names, not {count}")
    return found


def _unpacked(part: bytes, name: str, typecode: str, count: int) -> array.array[int]:
    column = array.array(typecode)
    if len(part) != count * column.itemsize:
        raise IndexUnusable(f"`{name}` holds {len(part)} bytes, not {count} values")
    column.frombytes(part)
    if sys.byteorder != "little":
        column.byteswap()
    return column


def _json(part: bytes, name: str, kind: type) -> Any:
    try:
        value = json.loads(part)
    except (ValueError, RecursionError):
        raise IndexUnusable(f"`{name}` is not JSON") from None
    if not isinstance(value, kind):
        raise IndexUnusable(f"`{name}` is not a JSON {kind.__name__}")
    return value


def read(store: Store, key: str, data: bytes, sha256: str) -> CompactIndex:
    """The verified index of the JSON ``data`` (read from ``key``, SHA-256 ``sha256``).
    Raises IndexUnusable saying why it cannot be used; never returns an index of other bytes."""
    blob = _read_index(store, index_key(key), max(len(data), 1 << 20))
    newline = blob.find(b"\n", 0, HEADER_LIMIT)
    if newline < 0:
        raise IndexUnusable("no header line")
    header = _json(blob[:newline], "header", dict)
    if header.get("format") != FORMAT:
        raise IndexUnusable("not a compact index")
    if header.get("version") != VERSION:
        raise IndexUnusable(f"version {header.get('version')!r}, this reader reads {VERSION}")
    if header.get("json") != {"size": len(data), "sha256": sha256}:
        raise IndexUnusable("stale: made for other bytes than the JSON's")
    if header.get("schema") != schema_digest():
        raise IndexUnusable("stale: its records were validated against another schema")
    body = memoryview(blob)[newline + 1 :]
    if header.get("sha256") != hashlib.sha256(body).hexdigest():
        raise IndexUnusable("damaged: its body does not match its header")
    layout = header.get("sections")
    if not (
        isinstance(layout, list)
        and [entry[0] if isinstance(entry, list) and entry else None for entry in layout]
        == list(SECTIONS)
        and all(len(e) == 2 and isinstance(e[1], int) and e[1] >= 0 for e in layout)
        and sum(e[1] for e in layout) == len(body)
    ):
        raise IndexUnusable(f"its sections are not {', '.join(SECTIONS)}")
    sections: dict[str, bytes] = {}
    offset = 0
    for name, length in layout:
        sections[name] = bytes(body[offset : offset + length])
        offset += length
    return _columns(sections, data, f"{store.uri}/{key}")


def _columns(sections: Mapping[str, bytes], data: bytes, where: str) -> CompactIndex:
    """The index's columns, each checked against its bounds (its checksum only says that it
    is what some writer wrote)."""
    head = _json(sections["head"], "head", dict)
    if "models" in head:
        raise IndexUnusable("`head` holds models")
    ids = _strings(sections["ids"], "ids", None)
    size = len(ids)
    if ids != sorted(ids):
        raise IndexUnusable("`ids` are not in id order")
    records = Records(data, ids, _unpacked(sections["spans"], "spans", "Q", 2 * size), where)
    if len(records.slots) != size:
        raise IndexUnusable("`ids` repeat an id")
    spans = records.spans
    if size:
        # Every span inside the JSON, its first and last byte braces (checked in C).
        starts, ends = spans[0::2], spans[1::2]
        firsts = operator.itemgetter(*starts)(data) if max(ends) <= len(data) else b""
        lasts = operator.itemgetter(*map(operator.sub, ends, itertools.repeat(1)))(data)
        if (
            not all(map(operator.lt, starts, ends))
            or set(firsts if size > 1 else [firsts]) != {0x7B}
            or set(lasts if size > 1 else [lasts]) != {0x7D}
        ):
            raise IndexUnusable("a span is not an object of the JSON")
    alias_names = _strings(sections["aliasNames"], "aliasNames", None)
    alias_ids = _targets(sections["aliasTargets"], "aliasTargets", len(alias_names), ids)
    native_names = _strings(sections["nativeNames"], "nativeNames", None)
    native_ids = _targets(sections["nativeTargets"], "nativeTargets", len(native_names), ids)
    native_sources = _strings(sections["nativeSources"], "nativeSources", len(native_names))
    bits: dict[tuple[str, Any], int] = {}
    for entry in _json(sections["bits"], "bits", list):
        if not (
            isinstance(entry, list)
            and len(entry) == 3
            and entry[0] in BIT_KINDS
            and (entry[1] is None or isinstance(entry[1], str | bool))
            and isinstance(entry[2], str)
        ):
            raise IndexUnusable("`bits` holds an entry that is not [filter, value, bitset]")
        try:
            packed = base64.b64decode(entry[2], validate=True)
        except ValueError:
            raise IndexUnusable("`bits` holds a bitset that is not base64") from None
        value = int.from_bytes(packed, "little")
        if len(packed) > (size + 7) // 8 or value.bit_length() > size:
            raise IndexUnusable("`bits` holds a bitset past the last model")
        bits[(entry[0], entry[1])] = value
    try:
        text = sections["text"].decode("utf-8")
    except UnicodeDecodeError:
        raise IndexUnusable("`text` is not UTF-8") from None
    lengths = _unpacked(sections["textLengths"], "textLengths", "I", size)
    if sum(lengths) != len(text):
        raise IndexUnusable("`textLengths` do not add up to `text`")
    text_starts = list(itertools.accumulate(lengths, initial=0))[:-1] if size else []
    return CompactIndex(
        head=head,
        records=records,
        by_alias=dict(zip(alias_names, alias_ids, strict=True)),
        native_ids=dict(
            zip(native_names, zip(native_ids, native_sources, strict=True), strict=True)
        ),
        columns=Columns(bits, text, text_starts),
    )


def _targets(part: bytes, name: str, count: int, ids: list[str]) -> Sequence[str]:
    """The ids at the positions a column names (checked: each names a listed model)."""
    positions = _unpacked(part, name, "I", count)
    if not count:
        return ()
    if max(positions) >= len(ids):
        raise IndexUnusable(f"`{name}` names a model past the last one")
    found = operator.itemgetter(*positions)(ids)
    return found if count > 1 else (found,)
