"""The published-bytes encoder: orjson's fast path writes exactly simplejson's bytes (issue 29).

simplejson (``use_decimal``, ``indent=2``) is the reference; ``jsonio.dumps`` must give the
same bytes, or the same error, for anything it is handed, floats and Decimals included.
"""

from __future__ import annotations

import json
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


def random_floats(seed: int, count: int = 20_000) -> list[float]:
    """Finite floats of every magnitude: half any bit pattern, half spread over 1e-12..1e20."""
    rng = random.Random(seed)
    values = []
    for n in range(count):
        if n % 2:
            value = struct.unpack("d", rng.randbytes(8))[0]
        else:
            value = rng.uniform(-1, 1) * 10 ** rng.uniform(-12, 20)
        if not (math.isnan(value) or math.isinf(value)):
            values.append(value)
    return values


def test_floats_of_every_magnitude_give_simplejsons_bytes() -> None:
    for value in random_floats(29):
        assert jsonio.dumps({"x": [value]}) == reference({"x": [value]}), repr(value)


@pytest.mark.parametrize("name", openrouter_fixtures() or ["openrouter-models-2026-08-19.json"])
def test_real_payloads_give_simplejsons_bytes(name: str) -> None:
    """Every record of every real payload, read with exact numbers, encodes the same."""
    document = jsonio.loads(fixture_path(name).read_bytes())
    assert jsonio.dumps(document) == reference(document)
    assert jsonio.loads_plain(jsonio.dumps(document)) == simplejson.loads(reference(document))


# -- a listing's items in one call, compact lines (issue 30) ------------------------------


def items_reference(documents: list[Any]) -> bytes:
    """The items as they sit in ``{"models": documents}`` written by simplejson."""
    whole = reference({"models": documents})
    head, tail = b'{\n  "models": [\n', b"\n  ]\n}\n"
    assert whole.startswith(head) and whole.endswith(tail)
    return whole[len(head) : -len(tail)]


@pytest.mark.parametrize(
    "documents",
    [
        [{"id": "a", "p": Decimal("0.000002")}, {"id": "b", "x": [], "y": {}}],
        [{"id": "a", "note": "returns null"}, {"id": "b", "share": 5e-05}],  # redone one by one
        [{"id": "a", "nested": {"list": [1, [2, {"deep": "é\n"}]]}}],
        [{"id": "a"}, {1: "non-string key"}],  # orjson refuses the lot: one by one
        [[], {}, "text", Decimal("1E+1"), 3],
    ],
)
def test_items_give_the_bytes_they_have_in_the_whole_document(documents: list[Any]) -> None:
    assert jsonio.dumps_items(documents) == items_reference(documents)


def test_no_items_are_no_bytes() -> None:
    assert jsonio.dumps_items([]) == b""


def test_what_simplejson_refuses_is_refused_among_items() -> None:
    with pytest.raises(ValueError):
        jsonio.dumps_items([{"id": "a"}, {"p": Decimal("NaN")}])


@pytest.mark.parametrize("name", openrouter_fixtures() or ["openrouter-models-2026-08-19.json"])
def test_real_records_as_items_and_as_compact_lines(name: str) -> None:
    """Every record of every real payload: as the items of a listing, and as compact lines."""
    document = jsonio.loads(fixture_path(name).read_bytes())
    # The recordings hold the list under "data", under "models", or as the document itself.
    if isinstance(document, dict):
        document = document["data"] if "data" in document else document["models"]
    records = document
    assert jsonio.dumps_items(records) == items_reference(records)
    for record in records:
        assert jsonio.dumps_compact(record) == compact_reference(record), record.get("id")


def compact_reference(obj: Any) -> bytes:
    return simplejson.dumps(obj, use_decimal=True, separators=(",", ":")).encode()


@pytest.mark.parametrize("obj", EDGES, ids=[repr(e)[:30] for e in EDGES])
def test_compact_edges_give_simplejsons_bytes(obj: Any) -> None:
    assert jsonio.dumps_compact(obj) == compact_reference(obj)


@pytest.mark.parametrize(
    "obj",
    [
        {"a": "\x7f"},  # DEL: simplejson escapes it, orjson does not
        {"a": "é 日本 😀 \u2028"},
        {"p": [Decimal("0.00005"), 5e-05]},
        {"p": [Decimal("-0.00005"), Decimal("0.000001")], "q": "x,0.0000"},
        Decimal("0.00001"),
        5e-05,
    ],
)
def test_compact_escapes_and_small_numbers_give_simplejsons_bytes(obj: Any) -> None:
    assert jsonio.dumps_compact(obj) == compact_reference(obj)


def test_compact_floats_of_every_magnitude_give_simplejsons_bytes() -> None:
    for value in random_floats(30):
        assert jsonio.dumps_compact({"x": [value, 1]}) == compact_reference({"x": [value, 1]})


@pytest.mark.parametrize("obj", [[None, float("nan")], {"a": [None, float("-inf")]}, [None, 1.0]])
def test_compact_null_beside_nan_is_refused_as_simplejson_refuses(obj: Any) -> None:
    """orjson writes NaN and infinities as null: a line with null is looked through for them."""
    try:
        expected = compact_reference(obj)
    except ValueError:
        with pytest.raises(ValueError):
            jsonio.dumps_compact(obj)
    else:
        assert jsonio.dumps_compact(obj) == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"maxContext": 123456789012345678901234567890}',
        "[18446744073709551616, 1.5]",
        '{"a": [1, -9223372036854775809]}',
        '{"ok": 9223372036854775807, "id": "v1/1234567890123456789012"}',
    ],
)
def test_loads_plain_keeps_integers_past_64_bits_whole(text: str) -> None:
    """orjson reads an integer past 64 bits as a float; loads_plain must give simplejson's
    values (a whole int), from bytes and from text."""
    expected = simplejson.loads(text)
    for data in (text, text.encode()):
        parsed = jsonio.loads_plain(data)
        assert parsed == expected
        assert json.dumps(parsed) == json.dumps(expected)
