"""What every provider-native adapter shares: its input (a FetchContext), its output
(NativeModel, one per upstream record) and the JSON helpers.

Adapters stay thin: ``fetch`` returns the response bodies verbatim (one per page), ``parse``
unwraps the model list, ``translate`` turns one upstream record into a NativeModel. Caching,
fallback, enrichment and writing live in ``pipeline.runs.provider_source``, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import simplejson

from pipeline.publishing.jsonio import nesting_exceeds
from pipeline.records.payloads import NativeModel, PayloadError
from pipeline.sources.http import RetryPolicy, get_with_retries
from pipeline.timeutil import parse_iso


@dataclass
class FetchContext:
    """Everything an adapter needs to make its requests; the runner builds it."""

    source: str
    """Source name (the config key), used in every error message."""
    base_url: str
    """Base URL without a trailing slash."""
    client: httpx.Client
    policy: RetryPolicy
    api_key: str | None = field(default=None, repr=False)
    """Read from the environment by the runner; never logged or written (kept out of repr)."""
    manifest_dir: str | None = None
    """Directory of pinned manifests (pinned sources only)."""

    def get(
        self,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> bytes:
        """GET ``{base_url}{path}`` with retries; the body verbatim."""
        response = get_with_retries(
            self.client,
            f"{self.base_url}{path}",
            source=self.source,
            headers=headers,
            params=params,
            policy=self.policy,
        )
        return response.content

    def bearer(self) -> dict[str, str]:
        """``Authorization: Bearer`` when a key is configured (optional for local servers)."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


@dataclass(frozen=True)
class Adapter:
    """The three steps of one source. ``paginated`` sources store all pages as one array."""

    fetch: Callable[[FetchContext], list[bytes]]
    parse: Callable[[list[bytes]], list[Any]]
    translate: Callable[[Any], NativeModel]
    paginated: bool = False


def load_json(body: bytes, source: str) -> Any:
    """Parse one response body; PayloadError names the source. Nesting deeper than 64 levels
    is refused before parsing (simplejson recurses: RecursionError; docs/hardening.md)."""
    if nesting_exceeds(body, MAX_DEPTH):
        raise PayloadError(f"{source}: the JSON nests deeper than {MAX_DEPTH} levels")
    try:
        return simplejson.loads(body)
    except (simplejson.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise PayloadError(f"{source}: the response is not valid JSON: {exc}") from exc


MAX_DEPTH = 64


MAX_PAGES = 100  # a cursor that never ends is an upstream bug, not a reason to loop forever


def fetch_pages(
    ctx: FetchContext,
    headers: Mapping[str, str],
    first: dict[str, str],
    following: Callable[[Any], dict[str, str] | None],
) -> list[bytes]:
    """GET ``/models`` page by page. ``following`` reads a parsed page and returns the query of
    the next one, or None on the last page. Every page's bytes are kept, in order."""
    pages: list[bytes] = []
    params: dict[str, str] | None = first
    for _ in range(MAX_PAGES):
        body = ctx.get("/models", headers=headers, params=params)
        pages.append(body)
        params = following(load_json(body, ctx.source))
        if params is None:
            return pages
    raise PayloadError(f"{ctx.source}: the listing still continues after {MAX_PAGES} pages")


def list_items(pages: list[bytes], source: str, key: str, *, optional: bool = False) -> list[Any]:
    """The ``key`` lists of every page, joined. ``optional``: a page may lack the key."""
    items: list[Any] = []
    for number, body in enumerate(pages, 1):
        page = load_json(body, source)
        if not isinstance(page, dict):
            raise PayloadError(f"{source}: page {number} is not an object")
        data = page.get(key, [] if optional else None)
        if not isinstance(data, list):
            raise PayloadError(f"{source}: page {number} has no {key!r} list")
        items.extend(data)
    return items


def single_page_items(pages: list[bytes]) -> list[Any]:
    """``{"data": [...]}``, ``{"models": [...]}`` or a bare list, from one page.

    ``data`` wins when both are present: llama.cpp's OpenAI-compatible ``/v1/models`` answers
    with its native ``models`` list (keyed by ``name``) *and* the OpenAI ``data`` list.
    """
    body = pages[0]
    if not body.strip():
        raise PayloadError("the response body is empty")
    document = load_json(body, "the list")
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in ("data", "models"):
            items = document.get(key)
            if isinstance(items, list):
                return items
        keys = ", ".join(sorted(document)[:8]) or "none"
        raise PayloadError(f"no model list found (expected 'data' or 'models'; keys: {keys})")
    raise PayloadError(f"expected a JSON object or list, got {type(document).__name__}")


def raw_snapshot(pages: list[bytes], paginated: bool) -> bytes:
    """Raw bytes to store: the body verbatim, or for paginated APIs every page in order in one
    JSON array (each element is a page's bytes, unchanged)."""
    if not paginated:
        return pages[0]
    return b"[" + b",\n".join(page.strip() for page in pages) + b"]\n"


def record(item: Any, source: str) -> dict[str, Any]:
    """An upstream entry as a mapping, or a ValueError the runner quarantines."""
    if not isinstance(item, dict):
        raise ValueError(f"{source}: entry is {type(item).__name__}, not an object")
    return item


def text(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value.strip() or None if isinstance(value, str) else None


def positive_int(value: Any) -> int | None:
    """A positive integer, or None (several APIs send 0 or null for "unknown")."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value > 0 else None


def epoch_of(value: Any) -> int | None:
    """Unix seconds from an int or an ISO-8601 string; None for 0 / absent / unparseable."""
    if isinstance(value, str):
        try:
            return int(parse_iso(value).timestamp())
        except ValueError:
            return None
    return positive_int(value)


def iso_date(value: Any) -> str | None:
    """A date or datetime string as ISO-8601 UTC (``2026-10-23`` → ``2026-10-23T00:00:00Z``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment: datetime = parse_iso(value)
    except ValueError:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def per_million(value: Any) -> Decimal | None:
    """A price already in USD per 1M tokens (JSON number), exact via its decimal text."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        price = Decimal(str(value))
    except ArithmeticError:
        return None
    return price if price.is_finite() and price >= 0 else None
