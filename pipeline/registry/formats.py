"""Published records in the native shapes of the OpenAI, Anthropic and Gemini model APIs.

Plain functions over records (dicts as published), so any route can list any subset of models
in any shape (the full catalog, only available models, one model). Each shape is what that
API's official SDK parses, every field it types as required filled from the record; fields past
the native ones carry catalog facts clients may use and others ignore.

    OpenAI     {"object": "list", "data": [Model]}                    whole list, by id
    Anthropic  {"data", "has_more", "first_id", "last_id"}            pages, newest first
    Gemini     {"models": [Model], "nextPageToken"}                   pages, by id

Which shape a request gets (``pick_format``): ``?format=`` when given; else Gemini when the
request carries ``x-goog-api-key`` (Google's SDKs always send it) or a ``key`` query parameter
(Gemini's REST examples), Anthropic when it carries
``anthropic-version`` (Anthropic's SDKs always send it); else OpenAI.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pipeline.timeutil import parse_iso

FORMATS = ("openai", "anthropic", "gemini")

ANTHROPIC_LIMIT = (20, 1000)
"""Anthropic `limit`: (default, maximum), as the Anthropic API documents them."""
GEMINI_PAGE_SIZE = (50, 1000)
"""Gemini `pageSize`: (default, maximum), as the Gemini API documents them."""

_DATE_TAG = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|\d{2}-\d{2})$")


class FormatError(ValueError):
    """A bad list parameter; ``param`` names it (rendered in the API's own error envelope)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def pick_format(
    explicit: str | None, headers: Iterable[tuple[bytes, bytes]], *, query_key: bool = False
) -> str:
    """The shape a request asks for (see the module docstring); raises FormatError.
    ``query_key``: the request has a ``key`` query parameter (Gemini's REST way to pass it)."""
    if explicit is not None:
        if explicit not in FORMATS:
            raise FormatError("format", f"format must be one of {', '.join(FORMATS)}")
        return explicit
    if query_key:
        return "gemini"
    chosen = "openai"
    for name, _ in headers:
        if name == b"x-goog-api-key":
            return "gemini"
        if name == b"anthropic-version":
            chosen = "anthropic"
    return chosen


def _state(model: Mapping[str, Any]) -> str:
    return str(model.get("lifecycle", {}).get("state", ""))


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def created_seconds(model: Mapping[str, Any]) -> int:
    """Upstream creation time; else when the catalog first saw the model (closest fact)."""
    created = model.get("created")
    if isinstance(created, int | float) and created > 0:
        return int(created)
    try:
        return int(parse_iso(str(model.get("lifecycle", {}).get("firstSeen", ""))).timestamp())
    except ValueError:
        return 0


def _owner(model: Mapping[str, Any]) -> str:
    return str(model.get("family") or model.get("provider") or str(model["id"]).split("/")[0])


# -- OpenAI --------------------------------------------------------------------------------


def openai_model(model: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": model["id"],
        "object": "model",
        "created": created_seconds(model),
        "owned_by": _owner(model),
        "name": model.get("name"),
        "alias": model.get("alias"),
        "context_length": model.get("maxContext"),
        "max_completion_tokens": model.get("maxOutput"),
        "lifecycle_state": _state(model),
    }


def openai_list(models: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": [openai_model(m) for m in models]}


# -- Anthropic -----------------------------------------------------------------------------


def anthropic_model(model: Mapping[str, Any]) -> dict[str, Any]:
    state = _state(model)
    item: dict[str, Any] = {
        "id": model["id"],
        "type": "model",
        "display_name": model.get("name") or model["id"],
        "created_at": _rfc3339(created_seconds(model)),
        # Anthropic's lifecycle has no "stale" (missing upstream for a while): still callable.
        "lifecycle": "deprecated" if state == "deprecated" else "active",
        "max_input_tokens": model.get("maxContext"),
        "max_tokens": model.get("maxOutput"),
        "alias": model.get("alias"),
        "lifecycle_state": state,
    }
    if state == "deprecated":
        item["deprecated_at"] = model.get("lifecycle", {}).get("stateSince")
    return item


def anthropic_order(models: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Newest first (Anthropic's list order), ties by id so every load pages the same way."""
    return sorted(models, key=lambda m: (-created_seconds(m), str(m["id"])))


def anthropic_page(
    ordered: Sequence[Mapping[str, Any]],
    *,
    limit: int,
    after_id: str | None = None,
    before_id: str | None = None,
    position: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """One page of ``ordered`` (as ``anthropic_order`` returns it) the way Anthropic pages:
    ``limit`` items after ``after_id`` or before ``before_id``; ``position`` is an id → index
    map of ``ordered`` when the caller keeps one (else it is built)."""
    if after_id is not None and before_id is not None:
        raise FormatError("before_id", "give after_id or before_id, not both")
    where = position if position is not None else {str(m["id"]): i for i, m in enumerate(ordered)}
    if before_id is not None:
        if before_id not in where:
            raise FormatError("before_id", f"before_id {before_id!r} is not a listed model")
        end = where[before_id]
        start = max(0, end - limit)
        has_more = start > 0
    else:
        if after_id is not None and after_id not in where:
            raise FormatError("after_id", f"after_id {after_id!r} is not a listed model")
        start = where[after_id] + 1 if after_id is not None else 0
        end = min(len(ordered), start + limit)
        has_more = end < len(ordered)
    data = [anthropic_model(m) for m in ordered[start:end]]
    return {
        "data": data,
        "has_more": has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def anthropic_list(models: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Every model on one page, newest first."""
    ordered = anthropic_order(models)
    return anthropic_page(ordered, limit=max(1, len(ordered)))


# -- Gemini --------------------------------------------------------------------------------


def _generation_methods(model: Mapping[str, Any]) -> list[str]:
    kind = model.get("kind")
    if kind == "embedding":
        return ["embedContent"]
    if kind in ("image", "video", "speech"):
        return ["predict"]
    return ["generateContent", "countTokens"]


def gemini_name(model_id: str) -> str:
    """``models/<catalog id>``. Catalog ids hold one ``/`` (``google/gemini-2.5-flash``), so the
    name spans two path segments; ``/v1beta/models/{name}`` takes the rest of the path."""
    return f"models/{model_id}"


def gemini_model(model: Mapping[str, Any]) -> dict[str, Any]:
    model_id = str(model["id"])
    item: dict[str, Any] = {
        "name": gemini_name(model_id),
        "baseModelId": model_id,
        "version": _version(model),
        "displayName": model.get("name") or model_id,
        "description": _description(model),
        "supportedGenerationMethods": _generation_methods(model),
        "thinking": (model.get("reasoning") or "none") != "none",
    }
    if model.get("maxContext") is not None:
        item["inputTokenLimit"] = model["maxContext"]
    if model.get("maxOutput") is not None:
        item["outputTokenLimit"] = model["maxOutput"]
    return item


def _version(model: Mapping[str, Any]) -> str:
    """The release tag of the model's canonical (dated) slug, else its creation date."""
    match = _DATE_TAG.search(str(model.get("canonicalSlug") or ""))
    if match:
        return match.group(1)
    return time.strftime("%Y%m%d", time.gmtime(created_seconds(model)))


def _description(model: Mapping[str, Any]) -> str:
    facts = [str(model.get("name") or model["id"])]
    if model.get("cost"):
        facts.append(str(model["cost"]))
    if model.get("maxContext"):
        facts.append(f"{model['maxContext']:,} token context")
    return "; ".join(facts)


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_page_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        if not text.startswith("o:"):
            raise ValueError(text)
        offset = int(text[2:])
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise FormatError("pageToken", "pageToken is not a token returned by this API") from exc
    if offset < 0:
        raise FormatError("pageToken", "pageToken is not a token returned by this API")
    return offset


def gemini_page(
    models: Sequence[Mapping[str, Any]], *, page_size: int, page_token: str | None = None
) -> dict[str, Any]:
    """One page of ``models`` (kept in the given order) with Gemini's ``nextPageToken``."""
    start = decode_page_token(page_token) if page_token else 0
    end = start + page_size
    page: dict[str, Any] = {"models": [gemini_model(m) for m in models[start:end]]}
    if end < len(models):
        page["nextPageToken"] = encode_page_token(end)
    return page


def gemini_list(models: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Every model on one page."""
    return {"models": [gemini_model(m) for m in models]}


LISTS: dict[str, Callable[[Iterable[Mapping[str, Any]]], dict[str, Any]]] = {
    "openai": openai_list,
    "anthropic": anthropic_list,
    "gemini": gemini_list,
}
"""Format → every given model on one page in that shape."""

MODELS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "openai": openai_model,
    "anthropic": anthropic_model,
    "gemini": gemini_model,
}
"""Format → one model object in that shape (what each API's retrieve returns)."""


# -- errors --------------------------------------------------------------------------------

_ANTHROPIC_TYPES = {400: "invalid_request_error", 404: "not_found_error", 503: "overloaded_error"}
_GEMINI_STATUS = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 503: "UNAVAILABLE"}
_OPENAI_TYPES = {400: "invalid_request_error", 404: "invalid_request_error", 503: "server_error"}


def error_body(
    format: str, status: int, message: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The error document each API's SDK parses into its typed exception."""
    if format == "anthropic":
        kind = _ANTHROPIC_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    if format == "gemini":
        return {
            "error": {
                "code": status,
                "message": message,
                "status": _GEMINI_STATUS.get(status, "UNKNOWN"),
            }
        }
    return {
        "error": {
            "message": message,
            "type": _OPENAI_TYPES.get(status, "api_error"),
            "param": param,
            "code": code,
        }
    }


def not_found_message(ref: str, close_matches: Sequence[str]) -> str:
    message = f"The model {ref!r} does not exist in the catalog"
    if close_matches:
        message += f"; did you mean {', '.join(close_matches)}?"
    return message
