"""The reader's search filters: the values each takes, and how a given value is checked.

``Registry.search``, ``/api/models``, the explorer's table and ``catalog list`` share these: a
capability, tier, state, kind or bucket outside its vocabulary is a ``QueryError`` naming the
allowed values; a filter of several values is a comma list or an iterable (``values_of``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any


class RegistryError(Exception):
    """Base of the reader's errors."""


class QueryError(RegistryError, ValueError):
    """A bad filter value; the message names the parameter and the allowed values."""


# Search filters and their allowed values (DESIGN.md §4, §5).
CAPABILITIES: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "vision": lambda m: bool(m.get("supportsVision")),
    "tools": lambda m: bool(m.get("supportsTools")),
    "reasoning": lambda m: (m.get("reasoning") or "none") != "none",
    "structured-output": lambda m: bool(m.get("structuredOutput")),
    "image-gen": lambda m: bool(m.get("isImageGen")),
    "free": lambda m: bool(m.get("isFree")),
}
TIERS = ("free", "budget", "standard", "pro", "premium", "variable", "unknown")
STATES = ("active", "stale", "deprecated")
KINDS = ("chat", "image", "embedding", "video", "speech", "transcription", "rerank", "router")
"""The ``kind`` values (``Kind`` in pipeline/records/base.py, spelled out: the library loads no
pydantic; tests/test_data_age.py keeps the two equal)."""
BUCKETS = ("coding", "reasoning", "chat", "fastCheap", "vision", "imageGen")


def offer_name(name: object) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def offer_filter(
    served_by: str | None, max_offer_price: float | None, quantization: str | None
) -> Callable[[Mapping[str, Any]], bool] | None:
    """A check that some offer of a model meets every given offer filter (issue 16), or None
    when none is given. ``served_by``: provider name or tag (``DeepInfra``, ``deepinfra``,
    ``deepinfra/fp8``), letters and digits compared case-insensitively; ``max_offer_price``:
    USD per 1M input tokens at most; ``quantization``: exactly (``fp8``, case-insensitive)."""
    if served_by is None and max_offer_price is None and quantization is None:
        return None
    if max_offer_price is not None and not max_offer_price >= 0:
        raise QueryError(f"max_offer_price must be a non-negative number, not {max_offer_price}")
    wanted = offer_name(served_by) if served_by is not None else None
    tag_wanted = served_by.strip().lower() if served_by is not None else None
    quant = quantization.strip().lower() if quantization is not None else None

    def offer_ok(offer: Mapping[str, Any]) -> bool:
        if wanted is not None:
            tag = str(offer.get("tag") or "").lower()
            names = {offer_name(offer.get("provider", "")), offer_name(tag.split("/", 1)[0])}
            if wanted not in names and tag != tag_wanted:
                return False
        if quant is not None and str(offer.get("quantization") or "").lower() != quant:
            return False
        if max_offer_price is not None:
            price = (offer.get("pricing") or {}).get("input")
            if price is None or float(price) > max_offer_price:
                return False
        return True

    def check(model: Mapping[str, Any]) -> bool:
        return any(offer_ok(o) for o in model.get("offers") or ())

    return check


# `knowledge_cutoff_after`: a calendar date (a month means its first day), compared with the
# date part of the model's `knowledgeCutoff` (the feed gives YYYY-MM-DD).
CUTOFF_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")


def state_of(model: Mapping[str, Any]) -> str:
    return str(model.get("lifecycle", {}).get("state", ""))


def cutoff_after(value: str | None) -> str | None:
    """Check and normalize the ``knowledge_cutoff_after`` filter to YYYY-MM-DD."""
    if value is None:
        return None
    value = value.strip()
    if not CUTOFF_DATE.match(value):
        raise QueryError(
            f"knowledge_cutoff_after: {value[:40]!r} is not a date (YYYY-MM-DD or YYYY-MM)"
        )
    return value if len(value) == 10 else f"{value}-01"


def has_open_weights(model: Mapping[str, Any]) -> bool:
    return isinstance(model.get("openWeights"), Mapping)


def values_of(name: str, value: str | Iterable[str] | None, allowed: Iterable[str]) -> set[str]:
    """Normalize a filter that takes one value, a comma list or an iterable; check each."""
    if value is None:
        return set()
    items = value.split(",") if isinstance(value, str) else list(value)
    wanted = {item.strip() for item in items if item.strip()}
    allowed = tuple(allowed)
    unknown = sorted(wanted - set(allowed))
    if unknown:
        raise QueryError(
            f"{name}: unknown value(s) {', '.join(repr(u) for u in unknown)}; "
            f"choose from {', '.join(allowed)}"
        )
    return wanted
