"""JSON in and out, byte-stable and exact for prices.

Published artifacts are written with sorted-free, model-ordered keys, two-space indentation and
a trailing newline, so the same records always give the same bytes. Decimal values (prices)
are written as exact JSON numbers through simplejson's ``use_decimal``: the stdlib encoder would
go through float and could print 0.30000000000000004 for a price the feed gave as 0.3.
"""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import accumulate
from typing import Any

import simplejson
from pydantic import BaseModel


def dumps(obj: Any) -> bytes:
    """Serialize plain data (dicts, lists, Decimals) to canonical published bytes."""
    text = simplejson.dumps(obj, use_decimal=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def dumps_plain(obj: Any) -> bytes:
    """:func:`dumps` for documents assembled as plain data — mappings, lists, str, int, bool,
    None and Decimal prices, no floats — such as the merged provider lists (26 MB per merge):
    orjson writes the same bytes eight times faster. For such data the two agree byte for byte
    (two-space indent, ``": "``, UTF-8 as is, the same escapes; tests/test_jsonio.py); a Decimal
    is spliced in as ``str()`` gives it, as simplejson's ``use_decimal`` writes it. A float
    would be written in orjson's own shortest form (``0.00001`` where simplejson writes
    ``1e-05``): the same number, other bytes, which is why :func:`dumps` stays the default.
    A NaN or infinite Decimal is refused (not JSON) where :func:`dumps` would write ``NaN``."""
    import orjson  # imported on use: ~20 ms, and only the providers merge needs it

    def decimal(value: Any) -> Any:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise TypeError(f"{value} is not a JSON number")
            return orjson.Fragment(str(value))
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    try:
        return orjson.dumps(
            obj, default=decimal, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        )
    except orjson.JSONEncodeError as exc:  # its message names the type; ours says why
        raise TypeError(str(exc.__cause__ or exc)) from exc


def dump_model(model: BaseModel) -> bytes:
    """Serialize a record: camelCase keys, unknown values (None) left out."""
    return dumps(model.model_dump(mode="python", by_alias=True, exclude_none=True))


def loads(data: bytes | str) -> Any:
    """Parse JSON, reading numbers with a fraction as Decimal so prices stay exact."""
    return simplejson.loads(data, use_decimal=True)


def loads_plain(data: bytes | str) -> Any:
    """Parse JSON with floats (for schema validation and readers that do not need exactness)."""
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
