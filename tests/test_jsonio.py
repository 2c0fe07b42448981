"""The published-bytes encoder: orjson's fast path writes exactly simplejson's bytes (issue 29).

simplejson (``use_decimal``, ``indent=2``) is the reference; ``jsonio.dumps`` must give the
same bytes, or the same error, for anything it is handed, floats and Decimals included.
"""

from __future__ import annotations

import math
import random
import struct
from collections import namedtuple
from decimal import Decimal
from typing import Any

import pytest
import simplejson
from conftest import fixture_path, openrouter_fixtures

from pipeline.publishing import jsonio

Pair = namedtuple("Pair", "a b")


def reference(obj: Any) -> bytes:
    text = simplejson.dumps(obj, use_decimal=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


EDGES: list[Any] = [
    {},
    [],
    {"a": [], "b": {}, "c": [[], {}]},
    {"a": [1, {"b": None, "c": True, "d": False}]},
    "\u2028\u2029 é 日本 😀",
    '\x00\x01\x1f\x7f"\\/\b\f\n\r\t',
    "model 0.00001 null NaN 3e-5",  # looks suspect: takes the reference path, same bytes
    {"id": "Qwen3.5-27B-NaNovel", "name": "Infinity", "input": Decimal("0.5")},  # fast path
    {"perImage": Decimal("0.000002"), "perUnit": Decimal("-0.0000075")},  # exact, fast path
    {"price": Decimal("0.00005"), "share": 5e-05},  # the same text from a float: redone
    {"price": Decimal("0.00005"), "share": 0.5, "note": "costs 0.00001"},
    Decimal("1E-7"),
    Decimal("0.30"),
    Decimal("1E+1"),
    Decimal("-0.000001"),
    Decimal("123456789012345678901234567890.123456789"),
    2**63 - 1,
    -(2**63),
    2**64,  # past orjson's integers
    {1: "a", None: "b"},  # non-string keys
    (1, 2),
    Pair(1, 2),  # simplejson writes a namedtuple as an object
    1e16,
    1e15,
    0.0001,
    1e-05,
    1.5e-07,
    -0.0,
    5e-324,
    1.7976931348623157e308,
]


@pytest.mark.parametrize("obj", EDGES, ids=[repr(e)[:30] for e in EDGES])
def test_edges_give_simplejsons_bytes(obj: Any) -> None:
    assert jsonio.dumps(obj) == reference(obj)


@pytest.mark.parametrize(
    "obj",
    [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity"), Decimal("sNaN"), "\ud800"],
)
def test_what_simplejson_refuses_is_refused(obj: Any) -> None:
    with pytest.raises(Exception) as expected:
        reference(obj)
    with pytest.raises(type(expected.value)):
        jsonio.dumps(obj)


def test_a_name_holding_nan_is_encoded_by_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only a Decimal NaN or infinity is written as such, and the hook hands those over.
    document = {"id": "Qwen3.5-27B-NaNovel", "note": "Infinity", "price": Decimal("0.00002")}
    monkeypatch.setattr(jsonio, "_dumps_reference", lambda obj: pytest.fail("slow path"))
    assert jsonio.dumps(document) == reference(document)


def test_floats_of_every_magnitude_give_simplejsons_bytes() -> None:
    rng = random.Random(29)
    for n in range(20_000):
        if n % 2:
            value = struct.unpack("d", rng.randbytes(8))[0]
        else:
            value = rng.uniform(-1, 1) * 10 ** rng.uniform(-12, 20)
        if math.isnan(value) or math.isinf(value):
            continue
        assert jsonio.dumps({"x": [value]}) == reference({"x": [value]}), repr(value)


@pytest.mark.parametrize("name", openrouter_fixtures() or ["openrouter-models-2026-08-19.json"])
def test_real_payloads_give_simplejsons_bytes(name: str) -> None:
    """Every record of every real payload, read with exact numbers, encodes the same."""
    document = jsonio.loads(fixture_path(name).read_bytes())
    assert jsonio.dumps(document) == reference(document)
    assert jsonio.loads_plain(jsonio.dumps(document)) == simplejson.loads(reference(document))
