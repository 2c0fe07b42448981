"""The published JSON encoders: ``jsonio.dumps_plain`` (orjson, the merged provider lists)
writes the bytes ``jsonio.dumps`` (simplejson) writes, for the plain data it is meant for."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pipeline.publishing import jsonio

TEXTS = [
    "",
    "plain",
    'quote " and backslash \\ and slash /',
    "controls \b\f\n\r\t \x00 \x1f \x7f",
    "line separators \u2028 \u2029",
    "accents é ß, CJK 模型, emoji 😀, a lone BOM \ufeff",
    "html <script>&amp;</script>",
]


@pytest.mark.parametrize("text", TEXTS)
def test_dumps_plain_writes_what_dumps_writes_for_any_text(text: str) -> None:
    document = {"id": text, text: [text], "nested": {"list": [{"name": text}]}}
    assert jsonio.dumps_plain(document) == jsonio.dumps(document)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("0.3"),
        Decimal("0.000001"),
        Decimal("1E+2"),
        Decimal("-2.50"),
        Decimal("123456789012345678901234567890.000000000000000001"),
        0,
        -7,
        2**63 - 1,
        True,
        False,
        None,
    ],
)
def test_dumps_plain_writes_numbers_and_constants_as_dumps(value: Any) -> None:
    document = {"pricing": {"input": value, "tiers": [{"input": value}]}, "values": [value]}
    assert jsonio.dumps_plain(document) == jsonio.dumps(document)


def test_dumps_plain_writes_empty_containers_and_nesting_as_dumps() -> None:
    document: dict[str, Any] = {
        "models": [],
        "provenance": {},
        "deep": [[[]], [{}], {"a": {"b": {"c": []}}}],
        "count": 0,
    }
    assert jsonio.dumps_plain(document) == jsonio.dumps(document)
    assert jsonio.dumps_plain([]) == jsonio.dumps([])


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_dumps_plain_refuses_what_is_not_a_json_number(value: Decimal) -> None:
    with pytest.raises(TypeError, match="not a JSON number"):
        jsonio.dumps_plain({"price": value})


def test_dumps_plain_refuses_what_is_not_json() -> None:
    with pytest.raises(TypeError, match="set"):
        jsonio.dumps_plain({"flags": {"a"}})
