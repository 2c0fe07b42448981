"""pydantic's genai-prices ``data.json`` (MIT): per provider, models with the ``match`` rule that
says which model ids each prices, and prices that may change on a date.

Shape: ``[{"id", "name", "models": [{"id", "name", "match", "context_window", "prices",
"deprecated"}]}]``. ``prices`` is one price set or a list of them, each with an optional
``constraint``: ``start_date`` (the set applies from that day) or ``start_time`` /
``end_time`` (it applies in that UTC window of every day). A price is a number (USD per 1M
tokens, ``*_mtok``; per 1000 requests, ``requests_kcount``) or ``{"base", "tiers": [{"start",
"price"}]}`` for long-context prices.

Quirks owned here:

- The price set in effect is the one with the latest ``start_date`` not after the run's day
  (a set without a constraint holds from the beginning); later sets are **announced** prices
  (``announcedPrices``), the only public record of price changes before they happen.
- A ``start_time``/``end_time`` set is a time-of-day rule on the base prices (DeepSeek's
  off-peak discount): published as a ``tiers`` rule with ``utcStart``/``utcEnd`` (HHMM), as for
  OpenRouter's time-of-day prices.
- ``match`` is evaluated here (``matches``), case-insensitively; its ``regex`` clauses are
  compiled with RE2 (linear time) like every pattern this project runs on outside input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pipeline.overrides.patterns import Pattern, PatternError, compile_pattern
from pipeline.records.independent import CatalogEntry
from pipeline.records.model import AnnouncedPrice, PriceFields, PriceTierRule, Pricing
from pipeline.records.payloads import PayloadError
from pipeline.sources.independent import (
    CatalogAdapter,
    UpstreamItem,
    count,
    day,
    fetch_file,
    load_document,
    price,
    text,
)

SOURCE = "genai-prices"
DEFAULT_URL = "https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/data.json"

# price key → attribute (USD per 1M tokens).
PRICES = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write",
    "input_audio_mtok": "audio_input",
    "output_audio_mtok": "audio_output",
    "cache_audio_read_mtok": "audio_cache_read",
}
FIELD_KEYS = {
    "name": "name",
    "input": "prices.input_mtok",
    "output": "prices.output_mtok",
    "cacheRead": "prices.cache_read_mtok",
    "cacheWrite": "prices.cache_write_mtok",
    "maxContext": "context_window",
    "releaseStage": "deprecated",
}
MAX_RULE_DEPTH = 16


def _providers(body: bytes) -> list[dict[str, Any]]:
    document = load_document(body, SOURCE)
    if not isinstance(document, list) or not any(
        isinstance(p, dict) and isinstance(p.get("models"), list) for p in document
    ):
        raise PayloadError(f"{SOURCE}: expected a JSON list of providers with `models`")
    return [p for p in document if isinstance(p, dict) and isinstance(p.get("id"), str)]


def parse(body: bytes) -> list[UpstreamItem]:
    items = []
    for provider in _providers(body):
        upstream = provider["id"]
        models = provider.get("models")
        for entry in models if isinstance(models, list) else []:
            model_id = entry.get("id") if isinstance(entry, dict) else None
            key = f"{upstream}/{model_id if isinstance(model_id, str) else '?'}"
            items.append(UpstreamItem(upstream, key, entry))
    return items


def provider_names(body: bytes) -> dict[str, str]:
    return {p["id"]: p["name"] for p in _providers(body) if isinstance(p.get("name"), str)}


# -- match rules -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> Pattern | None:
    try:
        return compile_pattern(pattern)
    except PatternError:
        return None  # RE2 refuses it: the clause matches nothing


Rule = Callable[[str, str], bool]
"""A compiled ``match`` rule: (model id, the id lower-cased) → selected."""


def _never(model_id: str, lowered: str) -> bool:
    return False


def compile_rule(rule: Any, depth: int = 0) -> Rule:
    """genai-prices' ``match`` rule as a function (compiled once, applied to many ids).

    Clauses: ``equals``, ``starts_with``, ``ends_with``, ``contains`` (case-insensitive),
    ``regex`` (RE2), and ``or`` / ``and`` of clauses. A rule this does not understand, or
    nested deeper than ``MAX_RULE_DEPTH``, selects nothing."""
    if not isinstance(rule, dict) or len(rule) != 1 or depth > MAX_RULE_DEPTH:
        return _never
    ((kind, value),) = rule.items()
    if kind in ("or", "and") and isinstance(value, list):
        parts = [compile_rule(r, depth + 1) for r in value]
        if kind == "or":
            return lambda model_id, lowered: any(p(model_id, lowered) for p in parts)
        return lambda model_id, lowered: all(p(model_id, lowered) for p in parts)
    if not isinstance(value, str):
        return _never
    needle = value.lower()
    if kind == "equals":
        return lambda model_id, lowered: lowered == needle
    if kind == "starts_with":
        return lambda model_id, lowered: lowered.startswith(needle)
    if kind == "ends_with":
        return lambda model_id, lowered: lowered.endswith(needle)
    if kind == "contains":
        return lambda model_id, lowered: needle in lowered
    if kind == "regex":
        compiled = _regex(value)
        if compiled is None:
            return _never
        return lambda model_id, lowered: compiled.search(model_id) is not None
    return _never


def exact_ids(rule: Any) -> frozenset[str] | None:
    """The ids a rule selects when it is only ``equals`` clauses (alone or under ``or``),
    lower-cased; None for any other rule. Most rules are: a lookup then answers them."""
    if not isinstance(rule, dict) or len(rule) != 1:
        return None
    ((kind, value),) = rule.items()
    if kind == "equals" and isinstance(value, str):
        return frozenset({value.lower()})
    if kind == "or" and isinstance(value, list):
        found: set[str] = set()
        for part in value:
            ids = exact_ids(part)
            if ids is None:
                return None
            found |= ids
        return frozenset(found)
    return None


class RuleBook:
    """A catalog's rules in file order, answering "which is the first rule that selects this
    id" with a lookup for the exact-id rules and a scan of the others before it."""

    def __init__(self, rules: list[Any]) -> None:
        self.first_exact: dict[str, int] = {}
        self.others: list[tuple[int, Rule]] = []
        for position, rule in enumerate(rules):
            ids = exact_ids(rule)
            if ids is None:
                self.others.append((position, compile_rule(rule)))
                continue
            for model_id in ids:
                self.first_exact.setdefault(model_id, position)

    def first(self, model_id: str) -> int | None:
        """Position of the first rule selecting ``model_id``, or None."""
        lowered = model_id.lower()
        exact = self.first_exact.get(lowered)
        for position, rule in self.others:
            if exact is not None and position > exact:
                break
            if rule(model_id, lowered):
                return position
        return exact


def matches(rule: Any, model_id: str) -> bool:
    """Whether genai-prices' ``match`` rule selects ``model_id`` (see ``compile_rule``)."""
    return compile_rule(rule)(model_id, model_id.lower())


# -- prices ------------------------------------------------------------------------------------


def _fill(target: PriceFields, prices: Any, rules: dict[int, PriceTierRule] | None) -> None:
    if not isinstance(prices, dict):
        return
    for key, attr in PRICES.items():
        value = prices.get(key)
        if isinstance(value, dict):
            setattr(target, attr, price(value.get("base")))
            for tier in value.get("tiers") or []:
                start = count(tier.get("start")) if isinstance(tier, dict) else None
                if start is None or rules is None:
                    continue
                rule = rules.setdefault(start, PriceTierRule(min_prompt_tokens=start))
                setattr(rule, attr, price(tier.get("price")))
        else:
            setattr(target, attr, price(value))
    requests = price(prices.get("requests_kcount"))
    if requests is not None:
        target.per_request = requests / Decimal(1000)


def _hhmm(value: Any) -> int | None:
    """``16:30:00Z`` → 1630."""
    if not isinstance(value, str) or len(value) < 5 or value[2] != ":":
        return None
    hours, minutes = value[:2], value[3:5]
    if not (hours.isdigit() and minutes.isdigit()):
        return None
    return int(hours) * 100 + int(minutes)


def _pricing(prices: Any) -> Pricing:
    pricing = Pricing()
    rules: dict[int, PriceTierRule] = {}
    _fill(pricing, prices, rules)
    pricing.tiers = [rules[k] for k in sorted(rules)]
    return pricing


def _sets(raw: Any) -> list[tuple[dict[str, Any], Any]]:
    """(constraint, prices) of each price set, in file order."""
    if isinstance(raw, dict):
        return [({}, raw)]
    if not isinstance(raw, list):
        return []
    out = []
    for entry in raw:
        if isinstance(entry, dict):
            constraint = entry.get("constraint")
            out.append((constraint if isinstance(constraint, dict) else {}, entry.get("prices")))
    return out


def prices_at(raw: Any, today: str) -> tuple[Pricing | None, list[AnnouncedPrice]]:
    """The prices in effect on ``today`` (YYYY-MM-DD) and the ones announced for later days."""
    dated: list[tuple[str, Any]] = []
    windows: list[tuple[int, int, Any]] = []
    for constraint, prices in _sets(raw):
        start = day(constraint.get("start_date"))
        begin, end = _hhmm(constraint.get("start_time")), _hhmm(constraint.get("end_time"))
        if begin is not None and end is not None:
            windows.append((begin, end, prices))
        elif not constraint:
            dated.append(("", prices))
        elif start is not None:
            dated.append((start, prices))
        # any other constraint is not understood: that set is not guessed at
    dated.sort(key=lambda pair: pair[0])
    current = [pair for pair in dated if pair[0] <= today]
    later = [pair for pair in dated if pair[0] > today]
    pricing = _pricing(current[-1][1]) if current else None
    if pricing is not None:
        for begin, end, prices in windows:
            rule = PriceTierRule(utc_start=begin, utc_end=end)
            _fill(rule, prices, None)
            pricing.tiers.append(rule)
    announced = []
    for start, prices in later:
        future = PriceFields()
        _fill(future, prices, None)
        announced.append(AnnouncedPrice(from_date=start, pricing=future, source=SOURCE))
    return pricing, announced


def translate(item: UpstreamItem, provider: str, now: datetime) -> CatalogEntry:
    entry = item.entry
    if not isinstance(entry, dict):
        raise ValueError(f"{item.key}: entry is {type(entry).__name__}, not an object")
    model_id = text(entry, "id")
    if model_id is None or any(ch.isspace() for ch in model_id):
        raise ValueError(f"{item.key}: id is missing or contains whitespace")
    pricing, announced = prices_at(entry.get("prices"), now.strftime("%Y-%m-%d"))
    rule = entry.get("match")
    return CatalogEntry(
        provider=provider,
        upstream=item.upstream,
        id=model_id,
        key=item.key,
        name=text(entry, "name"),
        pricing=pricing,
        announced_prices=announced,
        max_context=count(entry.get("context_window")),
        status="deprecated" if entry.get("deprecated") is True else None,
        match=rule if isinstance(rule, dict) else {"equals": model_id},
    )


ADAPTER = CatalogAdapter(
    fetch=fetch_file,
    parse=parse,
    translate=translate,
    provider_names=provider_names,
    field_keys=FIELD_KEYS,
)
