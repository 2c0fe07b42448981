"""Capability flags with the provenance of every decision.

Layers, in order of authority: a manual override (``overrides/capability-overrides.json``),
then an explicit API signal (supported parameters, modalities, pricing), then a heuristic on
the id/name family, else false / ``none``. ``detectionSource`` names the layer that decided
each flag, and ``evidence`` says what matched (shown by ``--explain``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.normalize import Normalized
from pipeline.records import Kind, Reasoning

FLAGS = (
    "kind",
    "supportsVision",
    "supportsTools",
    "reasoning",
    "structuredOutput",
    "isImageGen",
    "isFree",
)

TOOL_PARAMS = frozenset({"tools", "tool_choice"})
STRUCTURED_PARAMS = frozenset({"response_format", "structured_outputs"})
REASONING_PARAMS = frozenset({"reasoning", "reasoning_effort", "include_reasoning"})

# Output modality → kind, most specific first. A model that also outputs text is a chat model.
OUTPUT_KINDS: tuple[tuple[str, Kind], ...] = (
    ("embeddings", "embedding"),
    ("embedding", "embedding"),
    ("rerank", "rerank"),
    ("transcription", "transcription"),
    ("speech", "speech"),
    ("video", "video"),
    ("image", "image"),
)


@dataclass
class Capabilities:
    """The decided flags, which layer decided each, and why."""

    kind: Kind = "chat"
    supports_vision: bool = False
    supports_tools: bool = False
    reasoning: Reasoning = "none"
    structured_output: bool = False
    is_image_gen: bool = False
    is_free: bool = False
    source: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def is_zero_cost(model: Normalized) -> bool:
    """Free: input and output priced at 0 and no other component priced above 0."""
    pricing = model.pricing
    if pricing.variable or pricing.input is None or pricing.output is None:
        return False
    components = [
        value
        for name in type(pricing).model_fields
        if name not in ("variable", "tiers", "other")
        and (value := getattr(pricing, name)) is not None
    ]
    components.extend(pricing.other.values())
    return all(value == 0 for value in components)


def resolve(model: Normalized) -> Capabilities:
    """Decide every flag for ``model`` from the API signals it carries."""
    caps = Capabilities()
    inputs = set(model.modalities.input)
    outputs = set(model.modalities.output)
    params = set(model.supported_parameters or [])

    def decide(flag: str, value: Any, evidence: str) -> None:
        setattr(caps, _attr(flag), value)
        caps.source[flag] = "api"
        caps.evidence[flag] = evidence

    if model.pricing.variable:
        decide("kind", "router", "pricing is -1 (dynamic router)")
    elif "text" not in outputs:
        for modality, kind in OUTPUT_KINDS:
            if modality in outputs:
                decide("kind", kind, f"output modality {modality}")
                break
    if "kind" not in caps.source:
        decide("kind", "chat", f"output modalities {sorted(outputs) or ['text']}")

    decide("supportsVision", "image" in inputs, f"input modalities {sorted(inputs)}")
    decide("isImageGen", "image" in outputs, f"output modalities {sorted(outputs)}")
    if model.supported_parameters is not None:
        tools = sorted(params & TOOL_PARAMS)
        decide("supportsTools", bool(tools), f"supported_parameters {tools or 'lack tools'}")
        structured = sorted(params & STRUCTURED_PARAMS)
        decide(
            "structuredOutput",
            bool(structured),
            f"supported_parameters {structured or 'lack response_format'}",
        )
        controls = sorted(params & REASONING_PARAMS)
        if controls:
            decide("reasoning", "configurable", f"supported_parameters {controls}")
    free = is_zero_cost(model) or model.id.endswith(":free")
    decide("isFree", free, "all prices 0" if free else "priced")
    for flag in FLAGS:
        caps.source.setdefault(flag, "api" if flag in caps.evidence else "heuristic")
    return caps


def _attr(flag: str) -> str:
    return {
        "kind": "kind",
        "supportsVision": "supports_vision",
        "supportsTools": "supports_tools",
        "reasoning": "reasoning",
        "structuredOutput": "structured_output",
        "isImageGen": "is_image_gen",
        "isFree": "is_free",
    }[flag]
