"""What the independent-catalog adapters (models.dev, LiteLLM, genai-prices) share.

An independent catalog is one JSON file listing many providers' models. Its adapter stays thin
like the provider-native ones: ``fetch`` GETs the file (``sources.<name>.url``, the full URL)
with the shared limits, ``parse`` unwraps it into ``UpstreamItem`` values (the catalog's
provider name, the entry's key and the entry), ``translate`` turns one item into a
``CatalogEntry`` for a provider name the runner has already mapped
(``pipeline.sources.provider_names``). Caching, fallback and writing live in
``pipeline.runs.catalog_source``; merging in ``pipeline.merge``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pipeline.publishing.jsonio import to_decimal_number
from pipeline.records.independent import CatalogEntry
from pipeline.records.model import Modalities
from pipeline.records.payloads import PayloadError
from pipeline.sources.native import FetchContext, load_json, per_million, positive_int
from pipeline.stages.normalize import clean_noise

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class UpstreamItem:
    """One model entry of a catalog file, before translation."""

    upstream: str
    """The catalog's provider name."""
    key: str
    """Where it is in the file (models.dev `<provider>/<model>`, LiteLLM's key, ...)."""
    entry: dict[str, Any]
    """The entry verbatim."""


@dataclass(frozen=True)
class CatalogAdapter:
    """The steps of one independent catalog."""

    fetch: Callable[[FetchContext], list[bytes]]
    parse: Callable[[bytes], list[UpstreamItem]]
    translate: Callable[[UpstreamItem, str, datetime], CatalogEntry]
    """(item, our provider name, the run's clock) → entry; ValueError quarantines the item."""
    provider_names: Callable[[bytes], dict[str, str]]
    """The catalog's provider names → display names, where the file gives them."""
    field_keys: Mapping[str, str]
    """Published field → the catalog's key it is read from (evidence in merged records)."""


def fetch_file(ctx: FetchContext) -> list[bytes]:
    """GET the configured URL (the whole file), with the shared retries and size limit."""
    return [ctx.get("")]


def load_document(body: bytes, source: str) -> Any:
    """The parsed file (depth checked first); PayloadError when it is not JSON."""
    if not body.strip():
        raise PayloadError(f"{source}: the file is empty")
    return load_json(body, source)


def price(value: Any, scale: Decimal = Decimal(1)) -> Decimal | None:
    """A non-negative finite price from a JSON number (or numeric string), exact via its decimal
    text, times ``scale`` (``MILLION`` for per-token prices)."""
    found = per_million(value)
    return None if found is None else clean_noise(to_decimal_number(found * scale))


def count(value: Any) -> int | None:
    """A positive token count (0, negatives, non-numbers and infinities: None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None  # `NaN` / `Infinity` in the file: no count (int() would raise)
    return positive_int(value)


def flag(entry: Mapping[str, Any], key: str) -> bool | None:
    """A boolean the entry states, else None (a string "true" is not a statement)."""
    value = entry.get(key)
    return value if isinstance(value, bool) else None


def day(value: Any) -> str | None:
    """A ``YYYY-MM-DD`` (or ``YYYY-MM``) string as given; anything else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) in (7, 10) and text[:4].isdigit() and text[4] == "-":
        return text
    return None


def modalities(inputs: Any, outputs: Any) -> Modalities | None:
    """Modalities from two lists of names (``pdf`` is a file input here); None when neither
    list is given."""
    if not isinstance(inputs, list) and not isinstance(outputs, list):
        return None

    def names(values: Any) -> list[str]:
        if not isinstance(values, list):
            return []
        seen = ["file" if str(v) == "pdf" else str(v) for v in values if isinstance(v, str)]
        return sorted(dict.fromkeys(seen))

    return Modalities(input=names(inputs), output=names(outputs))


def text(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value.strip() or None if isinstance(value, str) else None
