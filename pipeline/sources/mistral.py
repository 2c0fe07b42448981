"""Mistral's ``GET /v1/models``: capabilities, deprecations and alias groups.

Quirks owned here:

- ``created`` is the time of the request, not a release date: it changes on every call, so it
  is dropped (it would make every sync look like a change).
- Each alias is listed as its own entry (``codestral-2508``, ``codestral-latest``, …) whose
  ``aliases`` name the others. All are kept (each id is callable); they share a
  ``canonicalSlug``: the dated id of the group when there is one, so readers can group them.
- The same id can be listed twice: once as the model's own entry (``name`` equals ``id``) and
  once as an alias entry of another model, carrying that model's name, capabilities and
  context (2025-08-30: ``voxtral-mini-2507`` also appears with the transcribe model's facts).
  The model's own entry wins; without one, the first.
- ``capabilities`` is a full set of booleans (tools, vision, audio, ...), so supported
  parameters are known; ``deprecation`` is the retirement time and
  ``deprecation_replacement_model`` the model to use instead (``mistral-medium-2505`` →
  ``mistral-medium-3-5``, 2026-08-31), published as ``lifecycle.replacement``. The modalities
  follow from
  it (``completion_chat``/``ocr``/``classification`` → text out, ``audio_speech`` → speech,
  ``audio_transcription[_realtime]`` → transcription); embedders list every capability false,
  which states no output at all, so their modalities stay unknown for the name heuristics.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.records.payloads import NativeModel, PayloadError
from pipeline.sources.native import Adapter, iso_date, positive_int, record, single_page_items, text
from pipeline.sources.openai import fetch

DATED = re.compile(r"-\d{4}$")


def canonical_of(model_id: str, aliases: list[str]) -> str:
    """The group's dated id (e.g. ``codestral-2508``), else the first id that is not ``-latest``."""
    group = sorted({model_id, *aliases})
    dated = [name for name in group if DATED.search(name)]
    if dated:
        return dated[0]
    stable = [name for name in group if not name.endswith("-latest")]
    return (stable or group)[0]


def parse(pages: list[bytes]) -> list[Any]:
    """The model list with each id once (see the duplicate-entry quirk above)."""
    items = single_page_items(pages)
    chosen: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise PayloadError(f"mistral: entry {str(item)[:80]!r} has no id")
        model_id = item["id"]
        own = item.get("name") == model_id
        if model_id not in chosen or (own and chosen[model_id].get("name") != model_id):
            chosen[model_id] = item
    # Keep the upstream order of first appearance.
    return list(chosen.values())


def _transcribes(caps: dict[str, Any]) -> bool:
    return bool(caps.get("audio_transcription") or caps.get("audio_transcription_realtime"))


def _outputs(caps: dict[str, Any]) -> list[str] | None:
    """What the capability set says comes out; None when it says nothing (embedders list
    every capability false: that is not "text", it is unstated)."""
    if caps.get("audio_speech"):
        return ["speech"]
    if _transcribes(caps) and not caps.get("completion_chat"):
        return ["transcription"]
    if caps.get("completion_chat") or caps.get("classification") or caps.get("ocr"):
        return ["text"]
    return None


def translate(item: Any) -> NativeModel:
    entry = record(item, "mistral")
    model_id = text(entry, "id")
    if model_id is None:
        raise ValueError("id is missing or empty")
    aliases = [a for a in entry.get("aliases") or [] if isinstance(a, str)]
    model = NativeModel(
        id=model_id,
        name=text(entry, "name") if text(entry, "name") != model_id else None,
        max_context=positive_int(entry.get("max_context_length")),
        expires_at=iso_date(entry.get("deprecation")),
        canonical_slug=canonical_of(model_id, aliases) if aliases else None,
    )
    caps = entry.get("capabilities")
    if isinstance(caps, dict):
        outputs = _outputs(caps)
        if outputs is not None:
            inputs = ["text"]
            if caps.get("vision"):
                inputs.append("image")
            if caps.get("audio") or _transcribes(caps):
                inputs.append("audio")
            model.input_modalities, model.output_modalities = inputs, outputs
            model.cites["inputs"] = "capabilities.vision"
            model.cites["outputs"] = "capabilities"
        params = ["max_tokens", "temperature"]
        if caps.get("function_calling"):
            params += ["tool_choice", "tools", "response_format"]
        if caps.get("reasoning"):
            params.append("reasoning")
        model.supported_parameters = sorted(params)
        model.cites["tools"] = "capabilities.function_calling"
        model.cites["reasoning"] = "capabilities.reasoning"
        # The capabilities have no structured-output entry: JSON mode comes with function
        # calling on Mistral's API, which is this adapter's rule, not the list's word.
        model.rules["structured"] = (
            "mistral list rule (function-calling models take response_format; "
            "the list has no structured-output field)"
        )
    model.replacement = text(entry, "deprecation_replacement_model")
    return model


ADAPTER = Adapter(fetch=fetch, parse=parse, translate=translate)
