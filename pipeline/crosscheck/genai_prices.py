"""pydantic/genai-prices ``data.json`` read as a reference catalog (``catalog crosscheck``).

The file is a JSON list of providers, each with ``models``: an ``id``, a ``match`` rule
(``equals``, ``starts_with``, ``ends_with``, ``contains``, ``regex``, nested ``or`` / ``and``)
saying which model names the entry prices, an optional ``context_window`` and ``prices`` in
USD per 1M tokens (``input_mtok``, ``output_mtok``, ``cache_read_mtok``, ``cache_write_mtok``).
A price may be tiered by prompt size (``{"base": 0.2, "tiers": [...]}``: the base is
compared) and ``prices`` may be a list of price sets under ``constraint``s (a ``start_date``
from which a new price applies): the set without a constraint is the one compared, so the
result does not depend on the day the check runs.

Matching is the file's own: the first entry in file order whose rule matches the name wins,
as genai-prices resolves a name itself. Regular expressions run on RE2 (linear time: the file
is someone else's download, docs/hardening.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.overrides.patterns import PatternError, compile_pattern

Rule = Callable[[str], bool]
MAX_RULE_DEPTH = 8

PRICES = {
    "input": "input_mtok",
    "output": "output_mtok",
    "cacheRead": "cache_read_mtok",
    "cacheWrite": "cache_write_mtok",
}
"""Our field → genai-prices' key (USD per 1M tokens)."""


def rule_of(spec: Any, depth: int = 0) -> Rule:
    """A ``match`` rule as a predicate on a model name (case-insensitive); a rule this
    reader does not understand matches nothing."""
    if depth > MAX_RULE_DEPTH or not isinstance(spec, Mapping):
        return lambda _name: False
    if isinstance(spec.get("or"), list):
        parts = [rule_of(p, depth + 1) for p in spec["or"]]
        return lambda name: any(p(name) for p in parts)
    if isinstance(spec.get("and"), list):
        parts = [rule_of(p, depth + 1) for p in spec["and"]]
        return lambda name: all(p(name) for p in parts)
    for key, test in _TESTS.items():
        value = spec.get(key)
        if isinstance(value, str):
            return _test(test, value.lower())
    value = spec.get("regex")
    if isinstance(value, str):
        try:
            pattern = compile_pattern(value)
        except PatternError:
            return lambda _name: False
        return lambda name: pattern.search(name) is not None
    return lambda _name: False


def _test(test: Callable[[str, str], bool], value: str) -> Rule:
    return lambda name: test(name.lower(), value)


_TESTS: dict[str, Callable[[str, str], bool]] = {
    "equals": lambda name, value: name == value,
    "starts_with": lambda name, value: name.startswith(value),
    "ends_with": lambda name, value: name.endswith(value),
    "contains": lambda name, value: value in name,
}


def _price(value: Any) -> Decimal | None:
    if isinstance(value, Mapping):
        value = value.get("base")  # tiered by prompt size: the base price
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        return None
    return price if price.is_finite() and price >= 0 else None


def current_prices(prices: Any) -> Mapping[str, Any]:
    """The price set compared: the entry's own, or of a list the one without a constraint."""
    if isinstance(prices, Mapping):
        return prices
    if isinstance(prices, list):
        plain = [p for p in prices if isinstance(p, Mapping) and not p.get("constraint")]
        chosen = plain[0].get("prices") if plain else None
        if isinstance(chosen, Mapping):
            return chosen
    return {}


def fields_of(entry: Mapping[str, Any]) -> dict[str, Decimal | int]:
    """The comparable fields of one model entry."""
    out: dict[str, Decimal | int] = {}
    prices = current_prices(entry.get("prices"))
    for ours, theirs in PRICES.items():
        price = _price(prices.get(theirs))
        if price is not None:
            out[ours] = price
    window = entry.get("context_window")
    if isinstance(window, int) and not isinstance(window, bool) and window > 0:
        out["maxContext"] = window
    return out


def raw_value(entry: Mapping[str, Any], field: str) -> Any:
    """What the entry says of ``field``, as its evidence."""
    if field == "maxContext":
        return {"context_window": entry.get("context_window")}
    key = PRICES.get(field)
    return {f"prices.{key}": current_prices(entry.get("prices")).get(key or "")}
