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
- NaN and infinities: simplejson refuses them (``allow_nan`` is off), orjson writes ``null``;
- anything orjson does not take as simplejson does (integers past 64 bits, non-string keys,
  subclasses of str/int/dict, dataclasses, dates): orjson raises, simplejson decides.

The first two are found by a C-speed search of the output for ``0.0000``, ``<digit>e-``,
``null``, ``NaN`` and ``Infinity``; a string that merely contains one of them only costs the
slower encoding. tests/test_jsonio.py checks the two encoders agree, floats included.
"""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import accumulate
from typing import Any

import orjson
import simplejson
from pydantic import BaseModel

# orjson's options for simplejson's ``indent=2, ensure_ascii=False``; the pass-through ones hand
# subclasses, dataclasses and dates to _fragment, which refuses them (simplejson decides).
_ORJSON_OPTIONS = (
    orjson.OPT_INDENT_2
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
# Output orjson may have written differently from simplejson (see the module docstring).
_SUSPECT = re.compile(rb"0\.0000|[0-9]e-|null|NaN|Infinity")


def _fragment(value: Any) -> orjson.Fragment:
    """orjson's hook for types it does not encode itself: a Decimal as its exact digits."""
    if type(value) is Decimal:
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is left to simplejson")


def dumps(obj: Any) -> bytes:
    """Serialize plain data (dicts, lists, Decimals) to canonical published bytes."""
    try:
        data = orjson.dumps(obj, default=_fragment, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        data = b""
    if data and not _SUSPECT.search(data):
        return data + b"\n"
    return _dumps_reference(obj)


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


def loads_plain(data: bytes | str) -> Any:
    """Parse JSON with floats (for schema validation and readers that do not need exactness).

    orjson parses in C what simplejson parses in Python for the published documents; what it
    refuses (NaN, integers past 64 bits, nesting past 1024 levels...) is parsed, or refused
    with its error, by simplejson as before."""
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
