"""JSON in and out, byte-stable and exact for prices.

Published artifacts are written with sorted-free, model-ordered keys, two-space indentation and
a trailing newline, so the same records always give the same bytes. Decimal values (prices)
are written as exact JSON numbers through simplejson's ``use_decimal``: the stdlib encoder would
go through float and could print 0.30000000000000004 for a price the feed gave as 0.3.

simplejson is the reference, but with ``indent`` it encodes in pure Python (its C encoder only
does compact output), about 70 ms of every 549-model sync. orjson writes the same bytes in C
(issue 29): Decimals go in as their ``str`` through ``orjson.Fragment``, exactly what
``use_decimal`` writes. Where the two could differ, the output is redone with simplejson, so
the published bytes (and the errors) stay simplejson's:

- floats below 1e-4: Python writes ``1e-05``, orjson ``0.00001`` or ``1e-5``;
- NaN and infinities: simplejson refuses them (``allow_nan`` is off), orjson writes a float's
  as ``null`` (a Decimal's is refused by the hook that writes Decimals);
- anything orjson does not take as simplejson does (integers past 64 bits, non-string keys,
  subclasses of str/int/dict, dataclasses, dates): orjson raises, simplejson decides.

The first two are found by a C-speed search of the output for ``0.0000``, ``null`` and a number
ending in ``e-<digits>``; a string that merely contains one of them only costs the slower
encoding. tests/test_jsonio.py checks the two encoders agree, floats included. A listing's items
are encoded a chunk at a time (:func:`dumps_items`), the history's lines compact
(:func:`dumps_compact`), both with the same checks (issue 30).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal
from itertools import accumulate
from typing import Any

import orjson
import simplejson
from pydantic import BaseModel

# orjson's options for simplejson's ``indent=2, ensure_ascii=False``; the pass-through ones hand
# subclasses, dataclasses and dates to the hook in dumps, which refuses them (simplejson decides).
_ORJSON_OPTIONS = (
    orjson.OPT_INDENT_2
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
_COMPACT_OPTIONS = _ORJSON_OPTIONS & ~orjson.OPT_INDENT_2
# Output orjson may have written differently from simplejson (see the module docstring) is
# looked for with ``in`` and ``count`` (memmem, GB/s): a regex alternation scans at a few MB/s,
# a third of the encoding's time.
_UNWALKED = object()
"""No source to look for NaN and infinities in: any ``null`` may be one."""
# A number below 1e-4 in decimal form comes after one of these: ": " or an indent, or in
# compact output ``:``, ``,`` or ``[``.
_AFTER_INDENTED = b" "
_AFTER_COMPACT = b":,["
_SMALL_NUMBERS = (b"0.0000", b"-0.0000")
_SMALL_TEXTS = ("0.0000", "-0.0000")
_DIGITS = frozenset(b"0123456789")


def _may_differ(
    data: bytes, decimals: list[str], after: bytes = _AFTER_INDENTED, source: Any = _UNWALKED
) -> bool:
    """Whether orjson's ``data`` may differ from simplejson's bytes (then they are redone).

    Prices below 1e-4 are common (``perImage: 0.000002``) and are Decimals, written exactly:
    numbers written as `` 0.0000…`` are harmless when the Decimals account for every one (a
    float below 1e-4, or a string quoting such a number, makes one more). ``str(Decimal)``
    writes a capital ``E``, so a lower-case ``e-`` is only ever a float's (or a string's).

    ``null`` is orjson's NaN or infinity as well as None: given the ``source`` it encoded (the
    history's small event lines, whose changes are ``[null, value]`` pairs), it is looked
    for there instead. A Decimal NaN or infinity never gets here (the hook refuses it: its
    text would be written as it is, and simplejson refuses it), so ``NaN`` and ``Infinity``
    in ``data`` are only ever inside strings, written alike by both."""
    if b"null" in data and (source is _UNWALKED or _holds_nonfinite(source)):
        return True
    if b"0.0000" in data:
        small = sum(
            data.count(bytes((lead,)) + number) for lead in after for number in _SMALL_NUMBERS
        )
        small += data.startswith(_SMALL_NUMBERS)  # a bare number at the start counts too
        if small != sum(1 for text in decimals if text.startswith(_SMALL_TEXTS)):
            return True
    at = data.find(b"e-")
    while at > 0:  # ``<digit>e-<digit>``: a float's exponent (model ids have ``17b-16e-inst``)
        if data[at - 1] in _DIGITS and data[at + 2 : at + 3].isdigit():
            return True
        at = data.find(b"e-", at + 2)
    return False


# The stdlib's C encoder refuses NaN and infinities (``allow_nan=False``) at C speed, a third
# of a walk in Python; it only looks at a Decimal (as its text: orjson took it as a fragment).
_FINITE_ONLY = json.JSONEncoder(allow_nan=False, default=str, check_circular=False)


def _holds_nonfinite(obj: Any) -> bool:
    """Whether a NaN or an infinite float is anywhere in ``obj`` (orjson writes them as null).
    ``obj`` is one orjson encoded: standard types and Decimals, less than 255 levels deep."""
    try:
        _FINITE_ONLY.encode(obj)
    except ValueError:
        return True
    return False


def dumps(obj: Any) -> bytes:
    """Serialize plain data (dicts, lists, Decimals) to canonical published bytes."""
    data = _fast(obj)
    return _dumps_reference(obj) if data is None else data + b"\n"


def dumps_compact(obj: Any) -> bytes:
    """Compact published bytes (no newline): simplejson's with ``separators=(",", ":")``,
    ``ensure_ascii=True`` and ``use_decimal`` (the history's event lines), written by orjson
    where the two agree, as :func:`dumps` does (issue 30: a first sync of 549 models spent
    ~20 ms in simplejson's Python encoder on them). orjson writes UTF-8 and DEL as they are
    where simplejson escapes them: output with any byte past ``~`` is redone by simplejson."""
    data = _fast(obj, compact=True)
    if data is None or not data.isascii() or b"\x7f" in data:
        return simplejson.dumps(obj, use_decimal=True, separators=(",", ":")).encode()
    # A copy of its exact size: orjson's own bytes object is its write buffer shrunk in place,
    # and a small one kept leaves most of that buffer unusable (100k history lines of ~500
    # bytes held 790 MB of RSS, the copies 80 MB). dumps' ``data + b"\n"`` is such a copy.
    return bytes(memoryview(data))


def _fast(obj: Any, *, compact: bool = False) -> bytes | None:
    """orjson's bytes for ``obj`` (no trailing newline) where they are simplejson's, else None."""
    decimals: list[str] = []

    def fragment(value: Any) -> orjson.Fragment:
        # orjson's hook for the types it does not encode itself: a Decimal as its exact digits
        # (a NaN or an infinity is left to simplejson, which refuses it).
        if type(value) is Decimal and value.is_finite():
            text = str(value)
            decimals.append(text)
            return orjson.Fragment(text)
        raise TypeError(f"{type(value).__name__} is left to simplejson")

    try:
        data = orjson.dumps(
            obj, default=fragment, option=_COMPACT_OPTIONS if compact else _ORJSON_OPTIONS
        )
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
    if compact:
        return None if _may_differ(data, decimals, _AFTER_COMPACT, obj) else data
    return None if _may_differ(data, decimals) else data


# orjson's bytes for ``{"": [items]}``: the items sit at the depth of a list that is a value of
# the document's top object (``current.json``'s models), already indented for it.
_ITEMS_HEAD = b'{\n  "": [\n'
_ITEMS_TAIL = b"\n  ]\n}"
_ITEM_INDENT = b"    "


def dumps_items(documents: Sequence[Any]) -> bytes:
    """The items of a list that is a value of a published document's top object, as
    :func:`dumps` writes them inside that document: each indented by four spaces, separated
    by ``,\\n``, with nothing before the first or after the last (``b""`` for none).

    One orjson call for the lot, not one per item (issue 30: a 549-model ``current.json`` paid
    the call, the check for output that may differ and the re-indentation per model). Where
    the lot's output may differ from simplejson's, every item is redone on its own by
    :func:`dumps` (itself simplejson's bytes) and indented, so the bytes are always those of
    the document written by :func:`dumps` in one piece."""
    if not documents:
        return b""
    data = _fast({"": documents})
    if data is not None:
        return data[len(_ITEMS_HEAD) : -len(_ITEMS_TAIL)]
    return b",\n".join(_ITEM_INDENT + _indented(dumps(document)) for document in documents)


def _indented(text: bytes) -> bytes:
    """One item's :func:`dumps` bytes (trailing newline dropped) indented one level deeper."""
    return text[:-1].replace(b"\n", b"\n" + _ITEM_INDENT)


def _dumps_reference(obj: Any) -> bytes:
    """simplejson's bytes, which :func:`dumps` reproduces faster where it can."""
    text = simplejson.dumps(obj, use_decimal=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def dump_model(model: BaseModel) -> bytes:
    """Serialize a record: camelCase keys, unknown values (None) left out."""
    return dumps(model.model_dump(mode="python", by_alias=True, exclude_none=True))


def loads(data: bytes | str) -> Any:
    """Parse JSON, reading numbers with a fraction as Decimal so prices stay exact."""
    return simplejson.loads(data, use_decimal=True)


def _digit_runs() -> bytes:
    """A ``bytes.translate`` table for finding long integer literals: the digits to ``0``, the
    bytes a JSON number can follow (``[``, ``,``, ``:``, whitespace) and its sign to ``x``,
    every other byte to ``a``. An integer literal of 19 or more digits then reads as ``x`` and
    19 zeros; digits inside a string after a letter, a slash or a point (a price's decimals,
    an URL's status id) do not."""
    table = bytearray(b"a" * 256)
    table[ord("0") : ord("9") + 1] = b"0" * 10
    for before in b"[,: \t\n\r-":
        table[before] = ord("x")
    return bytes(table)


_DIGIT_RUNS = _digit_runs()
_LONG_INTEGER = b"x" + b"0" * 19


def has_long_integer(raw: bytes) -> bool:
    """Whether ``raw`` may hold an integer literal past 64 bits, which orjson reads as a float
    where simplejson and ijson keep it whole (it errs towards True: a string holding 19 digits
    after a space counts too)."""
    return _LONG_INTEGER in raw.translate(_DIGIT_RUNS)


def loads_plain(data: bytes | str) -> Any:
    """Parse JSON with floats (for schema validation and readers that do not need exactness).

    orjson parses in C what simplejson parses in Python for the published documents; what it
    refuses (NaN, nesting past 1024 levels...) is parsed, or refused with its error, by
    simplejson as before, and so is a document that may hold an integer past 64 bits (orjson
    would read it as a float)."""
    raw = data.encode() if isinstance(data, str) else data
    if has_long_integer(raw):
        return simplejson.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return simplejson.loads(data)


def to_decimal_number(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (2.500 → 2.5, 1E+1 → 10)."""
    normalized = value.normalize()
    if normalized.as_tuple().exponent > 0:  # type: ignore[operator]
        return normalized.quantize(Decimal(1))
    return normalized


# -- bounded reading of files anyone can write (issue 12) ----------------------------------

_QUOTED = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def nesting_exceeds(raw: bytes, limit: int) -> bool:
    """True when the JSON in ``raw`` provably nests deeper than ``limit``.

    Parsers recurse (simplejson: RecursionError) or keep state per level (ijson: memory
    quadratic in depth), so depth is measured on the bytes first, in linear time with C-speed
    passes only: escapes are dropped, everything but quotes and brackets deleted, strings (now
    bare quote pairs around the brackets they held) cut out, and the running depth of the
    brackets left taken. Mismatched brackets are left for the parser to report.
    """
    # `\\` first, so the `\"` left afterwards are exactly the escaped quotes.
    plain = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Nearly every string holds no bracket and is now `""`: dropping those pairs first leaves
    # the regex only the rare strings with brackets inside. (A `""` that is a closing quote
    # and the next opening one only merges two adjacent strings: nothing structural lies
    # between them.)
    brackets = _QUOTED.sub(b"", plain.translate(None, _NOT_STRUCTURE).replace(b'""', b""))
    del plain
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False  # too few brackets to nest deeper than the limit
    # The depth is the largest running sum of +1 (opening) and -1 (closing); map and
    # accumulate run in C, about 30 ns a bracket. Unclosed brackets count as deep as they go.
    return max(accumulate(map(_STEP.__getitem__, brackets))) > limit


def loads_bounded(data: bytes, *, max_bytes: int, max_depth: int = 32) -> Any:
    """:func:`loads_plain` for a file a third party writes (bindings, status, lock): too big
    or too deep is a ValueError saying so, before any parsing."""
    if len(data) > max_bytes:
        raise ValueError(f"{len(data)} bytes, over the {max_bytes}-byte limit")
    if nesting_exceeds(data, max_depth):
        raise ValueError(f"nests deeper than {max_depth} levels")
    try:
        return loads_plain(data)
    except RecursionError as exc:  # belt and braces: the depth check should have caught it
        raise ValueError("nests too deep to parse") from exc
