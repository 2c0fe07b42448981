"""JSON in and out, byte-stable and exact for prices.

Published artifacts are written with sorted-free, model-ordered keys, two-space indentation and
a trailing newline, so the same records always give the same bytes. Decimal values (prices)
are written as exact JSON numbers through simplejson's ``use_decimal``: the stdlib encoder would
go through float and could print 0.30000000000000004 for a price the feed gave as 0.3.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import simplejson
from pydantic import BaseModel


def dumps(obj: Any) -> bytes:
    """Serialize plain data (dicts, lists, Decimals) to canonical published bytes."""
    text = simplejson.dumps(obj, use_decimal=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


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
