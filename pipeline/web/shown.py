"""How a published value reads on the explorer's pages and in the CLI's views: prices per 1M
tokens, counts, days, ranks, percentages, a recorded change (``name: before → after``) and a
pricing object as rows.

Everything here returns plain text. The page templates escape it when they write it (the
engine's default), and a terminal needs no escaping at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline.stages.capabilities import FLAGS as CAPABILITY_FLAGS

DASH = "—"
"""What an absent value reads as."""

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


def cap_label(name: str) -> str:
    """How a capability reads on a badge or a filter."""
    return CAP_LABELS.get(name, name)


def usd(value: Any) -> str:
    """A price per 1M tokens as shown (exact digits up to 6 significant, no float noise)."""
    if value is None:
        return DASH
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    number = float(value)
    if number == 0:
        return "$0"
    return "$" + format(number, ",.6g")


def count(value: Any) -> str:
    """A token count with thousands separators."""
    return DASH if value is None else f"{int(value):,}"


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
        shown = [usd(v) if isinstance(v, int | float) else value_of(v) for v in (before, after)]
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
                        if k not in RULE_LIMITS and isinstance(v, int | float)
                    )
                    out.append(("rule", f"{when}: {prices}"))
        elif isinstance(value, int | float) and not isinstance(value, bool):
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


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)
