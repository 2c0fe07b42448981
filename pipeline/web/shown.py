"""How a published value reads on the explorer's pages and in the CLI's views: prices per 1M
tokens, counts, days, ranks, percentages, a recorded change (``name: before → after``) and a
pricing object as rows.

Prices and counts are pipeline.web.figures' (which ``catalog list`` prints without loading
the records this module needs). Everything here returns plain text. The page templates escape
it when they write it (the engine's default), and a terminal needs no escaping at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pipeline.records.model import Pricing
from pipeline.stages.capabilities import FLAGS as CAPABILITY_FLAGS
from pipeline.stages.tiers import tier_evidence
from pipeline.web.figures import DASH, usd

CAP_LABELS = {
    "vision": "vision",
    "tools": "tools",
    "reasoning": "reasoning",
    "structured-output": "JSON",
    "image-gen": "image gen",
    "free": "free",
}
"""The label of each capability filter and badge (``structured-output`` reads as JSON)."""

FLAGS = (*CAPABILITY_FLAGS, "priceTier")
"""The flags a model page (and ``catalog show``) lists with the layer that decided each."""

RULE_LIMITS = ("minPromptTokens", "utcStart", "utcEnd")
"""The keys of a long-context or time-of-day price rule that say when it applies."""


def decided(model: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(flag → the layer that decided it, flag → its evidence) of a published record, for every
    flag of ``FLAGS``. ``priceTier`` is decided by the pricing: its evidence is the price the
    tier went by (``pipeline.stages.tiers.tier_evidence``)."""
    sources = {str(k): str(v) for k, v in (model.get("detectionSource") or {}).items()}
    evidence = {str(k): str(v) for k, v in (model.get("evidence") or {}).items()}
    if "priceTier" in model:
        try:
            pricing = Pricing.model_validate(model.get("pricing") or {})
        except ValueError:
            return sources, evidence
        sources["priceTier"] = "pricing"
        evidence["priceTier"] = tier_evidence(pricing, is_free=bool(model.get("isFree")))
    return sources, evidence


def cap_label(name: str) -> str:
    """How a capability reads on a badge or a filter."""
    return CAP_LABELS.get(name, name)


def day(epoch: Any) -> str:
    """The UTC date of a Unix time (upstream ``created``)."""
    if not isinstance(epoch, int | float):
        return DASH
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def rank(value: Any) -> str:
    """A curated rank, three decimals."""
    return DASH if value is None else format(value, ".3f")


def score(value: Any) -> str:
    """A curation score (0–1), two decimals."""
    return f"{float(value):.2f}"


def percent(value: Any) -> str:
    """An uptime percentage, two decimals."""
    return DASH if not isinstance(value, int | float) else f"{value:.2f}%"


def amount(value: Any, unit: str) -> str:
    """A whole measurement with its unit (``420 ms``, ``88 tok/s``)."""
    return DASH if not isinstance(value, int | float) else f"{value:,.0f} {unit}"


def listed(values: Any) -> str:
    """The items of a list or the keys of a mapping, comma-separated (dash when empty)."""
    return ", ".join(values or []) or DASH


def value_of(value: Any) -> str:
    """Any published value: booleans as JSON spells them, price rules compactly."""
    if value is None:
        return DASH
    if isinstance(value, list) and value and isinstance(value[0], Mapping):
        return _rules(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_change(name: str, change: Sequence[Any]) -> str:
    """One recorded change of field ``name``: ``pricing.input: $2.5 → $2``."""
    before, after = change[0], change[1]
    if name.startswith("pricing."):
        shown = [usd(v) if _price(v) else value_of(v) for v in (before, after)]
    else:
        shown = [value_of(v) for v in (before, after)]
    return f"{name}: {shown[0]} → {shown[1]}"


def price_rows_of(pricing: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(component, shown price) rows of a published pricing object."""
    out: list[tuple[str, str]] = []
    for key, value in pricing.items():
        if key == "variable":
            if value:
                out.append(("variable", "dynamic: the router bills the model it picks"))
        elif key == "other" and isinstance(value, Mapping):
            out.extend((f"other.{k}", usd(v)) for k, v in value.items())
        elif key == "tiers" and isinstance(value, list):
            for rule in value:
                if isinstance(rule, Mapping):
                    when = ", ".join(f"{k} {v}" for k, v in rule.items() if k in RULE_LIMITS)
                    prices = ", ".join(
                        f"{k} {usd(v)}"
                        for k, v in rule.items()
                        if k not in RULE_LIMITS and _price(v)
                    )
                    out.append(("rule", f"{when}: {prices}"))
        elif _price(value):
            out.append((key, usd(value)))
        else:
            out.append((key, "" if value is None else str(value)))
    return out


def _rules(value: list[Any]) -> str:
    """Long-context / time-of-day price rules, compactly (``≥272,000 tok: input $10, …``)."""
    out = []
    for rule in value:
        if not isinstance(rule, Mapping):
            continue
        when = []
        if "minPromptTokens" in rule:
            when.append(f"≥{int(rule['minPromptTokens']):,} tok")
        if "utcStart" in rule or "utcEnd" in rule:
            when.append(f"{rule.get('utcStart', '')}–{rule.get('utcEnd', '')} UTC")
        prices = [
            f"{k} {usd(float(v))}"
            for k, v in rule.items()
            if k not in (*RULE_LIMITS, "other") and _number(v)
        ]
        out.append(f"{' '.join(when) or 'rule'}: {', '.join(prices)}")
    return "; ".join(out) or DASH


def _price(value: Any) -> bool:
    """A price as published: a number (a float, or a Decimal read exactly), not a flag."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)
