"""The model list in the native shape of each API's ``/v1/models``, from published records.

Shapes follow what clients of each API parse (OpenAI ``{"object":"list","data":[…]}``,
Anthropic ``{"data":[…],"has_more","first_id","last_id"}``, Gemini ``{"models":[…]}``); fields
past the native ones carry catalog facts clients may use and others ignore.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

FORMATS = ("openai", "anthropic", "gemini")


def _created_at(model: Mapping[str, Any]) -> str:
    created = model.get("created")
    if isinstance(created, int | float) and created > 0:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
    # No upstream creation time: when the catalog first saw it is the closest fact we have.
    return str(model.get("lifecycle", {}).get("firstSeen", "1970-01-01T00:00:00Z"))


def openai_model(model: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": model["id"],
        "object": "model",
        "created": int(model.get("created") or 0),
        "owned_by": model.get("family") or model.get("provider"),
        "name": model.get("name"),
        "alias": model.get("alias"),
        "context_length": model.get("maxContext"),
        "max_completion_tokens": model.get("maxOutput"),
        "lifecycle_state": model.get("lifecycle", {}).get("state"),
    }
    return item


def openai_list(models: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": [openai_model(m) for m in models]}


def anthropic_model(model: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": model["id"],
        "type": "model",
        "display_name": model.get("name") or model["id"],
        "created_at": _created_at(model),
    }


def anthropic_list(models: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    data = [anthropic_model(m) for m in models]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def _generation_methods(model: Mapping[str, Any]) -> list[str]:
    kind = model.get("kind")
    if kind == "embedding":
        return ["embedContent"]
    if kind in ("image", "video", "speech"):
        return ["predict"]
    return ["generateContent", "countTokens"]


def gemini_model(model: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": f"models/{model['id']}",
        "displayName": model.get("name") or model["id"],
        "supportedGenerationMethods": _generation_methods(model),
    }
    if model.get("maxContext") is not None:
        item["inputTokenLimit"] = model["maxContext"]
    if model.get("maxOutput") is not None:
        item["outputTokenLimit"] = model["maxOutput"]
    return item


def gemini_list(models: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"models": [gemini_model(m) for m in models]}


LISTS: dict[str, Callable[[Iterable[Mapping[str, Any]]], dict[str, Any]]] = {
    "openai": openai_list,
    "anthropic": anthropic_list,
    "gemini": gemini_list,
}
