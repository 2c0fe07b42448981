"""OpenRouter's model catalog: fetch, unwrap, and parse one record.

Quirks this module owns (each shown by a test on the real payloads in ../shared/fixtures/real):

- The listing hides image, video, speech, embedding and rerank models unless asked for
  ``output_modalities=all``.
- Three envelopes occur in the wild: the API's ``{"data": [...]}`` (plus ``total_count`` and
  ``links`` from mid-2026), a bare list (jq-extracted copies), and ``{"timestamp", "models"}``.
- 2024 records have no ``created``, ``canonical_slug``, ``supported_parameters`` or
  ``input_modalities``; their architecture has only a ``modality`` string such as ``"text"``.
- Prices are decimal strings per token, some 20+ digits long; ``"-1"`` marks a dynamically
  priced router; from late January 2026 zero-valued keys are dropped (sparse pricing).
- New top-level keys appear every few months (``links``, ``knowledge_cutoff``,
  ``benchmarks``, ``reasoning``, ``alias_target``); unknown keys are ignored, never fatal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import httpx
import ijson
import orjson

from pipeline.config import OpenRouterConfig
from pipeline.publishing import jsonio
from pipeline.records.payloads import OpenRouterModel, PayloadError
from pipeline.sources.bounds import DEFAULT_MAX_DEPTH, check_depth
from pipeline.sources.http import FetchError, RetryPolicy, get_with_retries, make_client

SOURCE = "openrouter"


def _payload_problem(exc: Exception) -> PayloadError:
    # yajl's messages span several lines with a caret diagram; the first line says it all.
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0].strip()
    return PayloadError(f"the response is not valid JSON ({text[:160]}; truncated download?)")


def iter_items(raw: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Iterator[Any]:
    """Stream the model list out of any of the three known envelopes.

    The envelope is checked before the first item is returned, so an empty body, an HTML page,
    ``{"data": null}`` or an error object fail at once. Items are parsed one at a time (ijson):
    a 100k-model payload never exists as one big list of dicts. A payload that breaks off
    midway raises PayloadError when the iteration reaches the break. Nesting deeper than
    ``max_depth`` is refused before parsing (see :mod:`pipeline.sources.bounds`).
    """
    if not raw.strip():
        raise PayloadError("the response body is empty")
    if raw.lstrip()[:1] == b"<":
        raise PayloadError("the response is HTML, not JSON (an error or login page?)")
    check_depth(raw, max_depth)
    prefix = _list_prefix(raw)
    if len(raw) <= WHOLE_PARSE_BYTES:
        items = _parse_whole(raw, prefix)
        if items is not None:
            return iter(items)
    return _stream(raw, prefix)


WHOLE_PARSE_BYTES = 8 * 1024 * 1024
"""Payloads up to this size are parsed in one piece by orjson (a few ms for today's ~1.3 MB
list, against ~40 ms item by item with ijson; issue 30); larger ones are streamed, so that a
100k-model payload (~164 MB) never exists as one big list of dicts."""


def _parse_whole(raw: bytes, prefix: str) -> list[Any] | None:
    """The model list under ``prefix``, parsed by orjson in one piece, when that gives exactly
    the items ``_stream`` would give; None when it might not (then the payload is streamed).

    Where the two parsers could differ, the payload is streamed instead:

    - an integer past 64 bits (orjson reads it as a float; ijson's exact re-parse keeps it
      whole and reads every later float as a Decimal): any run of 19 digits where a number
      can start (a string holding such digits after a space triggers it too, harmlessly);
    - the list's key twice at the top level (ijson streams every list under it, orjson keeps
      the last value): any second string spelling the key, anywhere, escapes included;
    - anything orjson refuses (truncated or invalid JSON, lone surrogates, 1e400): the stream
      then fails, or reads on, exactly where it did before.
    """
    if jsonio.has_long_integer(raw):
        return None
    key = prefix.removesuffix(".item") if prefix != "item" else None
    if key is not None and _spelled(key, raw) != 1:
        return None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    items = document if key is None else document.get(key) if isinstance(document, dict) else None
    return items if isinstance(items, list) else None


def _spelled(key: str, raw: bytes) -> int:
    """How many JSON strings in ``raw`` read ``key`` (or might: the count errs upwards)."""
    if b"\\u" not in raw:
        return raw.count(f'"{key}"'.encode())
    # A string may spell any character as a \u escape (``"d\u0061ta"`` is ``"data"``).
    return len(_spellings(key).findall(raw))


@functools.lru_cache(maxsize=8)
def _spellings(key: str) -> re.Pattern[bytes]:
    """Every spelling of the JSON string ``key``: each character as itself or escaped
    (ignoring case, which can only count a few strings too many)."""
    chars = "".join(f"(?:{re.escape(c)}|\\\\u{ord(c):04x})" for c in key)
    return re.compile(f'"{chars}"'.encode(), re.IGNORECASE)


def _list_prefix(raw: bytes) -> str:
    """The ijson prefix of the model list: ``item`` (bare list), ``data.item`` or
    ``models.item``. Reads only as far as the list's opening bracket."""
    events = ijson.parse(raw, use_float=True)
    try:
        _, event, _ = next(events)
        if event == "start_array":
            return "item"
        if event != "start_map":
            raise PayloadError(f"expected a JSON object or list, got a bare {event}")
        keys: list[str] = []
        for path, event, value in events:
            if path == "" and event == "map_key":
                keys.append(str(value))
                continue
            if path in ("data", "models") and keys and keys[-1] == path:
                if event == "start_array":
                    return f"{path}.item"
                shape = "null" if event == "null" else event.replace("start_", "")
                raise PayloadError(f"'{path}' is {shape}, not a list of models")
            if path == "error" and keys and keys[-1] == "error":
                raise PayloadError("the API returned an error object instead of models")
    except ijson.JSONError as exc:
        raise _payload_problem(exc) from exc
    found = ", ".join(sorted(keys)[:8]) or "none"
    raise PayloadError(f"no model list found (expected 'data' or 'models'; keys: {found})")


def _stream(raw: bytes, prefix: str) -> Iterator[Any]:
    done = 0
    try:
        for item in ijson.items(raw, prefix, use_float=True):
            yield item
            done += 1
        return
    except ijson.JSONError as exc:
        # yajl reads numbers as int64/double: a 20-digit integer or 1e400 is an "overflow",
        # yet valid JSON. Parse again with exact numbers (ints of any size, Decimal) and go on
        # after the items already handed out; normalize then judges the value per record.
        if "overflow" not in str(exc):
            raise _payload_problem(exc) from exc
    try:
        for index, item in enumerate(ijson.items(raw, prefix)):
            if index >= done:
                yield item
    except ijson.JSONError as exc:
        raise _payload_problem(exc) from exc


def extract_items(raw: bytes) -> list[Any]:
    """The whole model list (for tools and tests; the sync streams with :func:`iter_items`)."""
    return list(iter_items(raw))


def fetch_catalog(
    config: OpenRouterConfig,
    *,
    api_key: str | None = None,
    transport: httpx.BaseTransport | None = None,
    policy: RetryPolicy | None = None,
    on_retry: Any = None,
) -> bytes:
    """Fetch the full catalog and return the response bytes, verbatim."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    policy = policy or RetryPolicy(
        max_attempts=config.max_attempts,
        backoff_seconds=config.backoff_seconds,
        max_backoff_seconds=config.max_backoff_seconds,
    )
    with make_client(
        transport=transport,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
    ) as client:
        response = get_with_retries(
            client,
            config.url,
            source=SOURCE,
            headers=headers,
            policy=policy,
            on_retry=on_retry,
            max_bytes=config.max_body_bytes,
            deadline_seconds=config.fetch_deadline_seconds,
        )
        return response.content


__all__ = [
    "SOURCE",
    "FetchError",
    "OpenRouterModel",
    "PayloadError",
    "extract_items",
    "fetch_catalog",
    "iter_items",
]
