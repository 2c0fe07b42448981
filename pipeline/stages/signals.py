"""What a record says about each capability flag, and on which field it says it.

``statements`` reads a normalized record's facts — modalities, supported parameters, the
tokenizer, the ``reasoning`` object, prices — into a value per flag, each resting on a fact.
How the fact was given decides the layer (``pipeline.stages.capabilities``):

- a fact a field of the raw record states (``Normalized.cites``) is the **API's** word:
  ``api_signals``, evidence starting with that field's path (``cite``), so a machine can check
  it against the raw record (the ``api-cites-raw`` law, pipeline/laws);
- a fact an adapter derived by a rule of its own or guessed (``Normalized.rules``: Anthropic's
  list has no tools field; OpenAI's kinds come from id patterns) is a **heuristic**:
  ``rule_signals``, the rule as evidence;
- a fact given neither way says nothing.
"""

from __future__ import annotations

import functools

from pipeline.records.base import Kind
from pipeline.records.model import PriceFields, Pricing
from pipeline.stages.normalize import Normalized

Value = str | bool
"""A flag value: ``kind`` and ``reasoning`` are strings, the others booleans."""

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

# Outputs the feed prices per token. For these, "every listed price is 0" means free. Video,
# speech, rerank and music are billed per second / character / search / clip, which the feed
# does not list: their token prices read "0" although every call costs money (2026-08-19:
# veo-3.1, sora-2-pro, seedance, cohere/rerank-4-pro, lyria-3 all show prompt = completion = 0).
TOKEN_PRICED_OUTPUTS = frozenset({"text", "embeddings", "embedding"})


Signal = tuple[Value, str]
"""A layer's claim about a flag: (value, evidence)."""


def positive_prices(pricing: Pricing) -> list[str]:
    """Names of the price components above 0 (base prices and conditional rules)."""
    found = [
        name
        for name in _price_names(type(pricing))
        if (value := getattr(pricing, name)) is not None and value > 0
    ]
    found += [f"other.{key}" for key, value in pricing.other.items() if value > 0]
    for index, tier in enumerate(pricing.tiers):
        found += [
            f"tiers[{index}].{name}"
            for name in _price_names(type(tier))
            if (value := getattr(tier, name)) is not None and value > 0
        ]
    return found


NOT_PRICES = frozenset(
    {"variable", "tiers", "other", "unit", "min_prompt_tokens", "utc_start", "utc_end"}
)
"""Fields of Pricing and PriceTierRule that are not a price figure."""


@functools.cache
def _price_names(cls: type[PriceFields]) -> tuple[str, ...]:
    """The price figures of a pricing class, in field order (read once per class, not per
    record: ``model_fields`` is a slow property)."""
    return tuple(name for name in cls.model_fields if name not in NOT_PRICES)


def is_priced(pricing: Pricing) -> bool:
    """Has a fixed price above 0 somewhere. A router never is: it is either dynamic (-1,
    ``variable``) or, like openrouter/free, forwards only to free models at 0."""
    return not pricing.variable and bool(positive_prices(pricing))


NO_TOKEN_PRICE = "no input/output token price in the feed"


def billing_unit(pricing: Pricing) -> str:
    """What a model not billed per token is billed per, in words."""
    if pricing.unit and pricing.unit != "unstated":
        return f"billed per {pricing.unit}"
    return "billed per unit, unit not stated upstream"


Statement = tuple[Value, str, str, str]
"""What a record's facts say about a flag: (value, fact, field, text). ``fact`` names the fact
it rests on (``Normalized.cites`` / ``rules``); ``field`` is that fact's name in
OpenRouter's shape and ``text`` what it says (see ``cite``)."""


@functools.lru_cache(maxsize=4096)
def cite(path: str, field_name: str, text: str) -> str:
    """Evidence that starts with the raw field ``path`` stating a fact.

    When the path is OpenRouter's own field for it the text follows it directly
    (``architecture.input_modalities ['image', 'text']``, ``supported_parameters has tools``,
    ``pricing: input, output > 0``); another list's field names what it was read as
    (``capabilities.image_input: input_modalities ['file', 'image', 'text']``). Machine check:
    the first word (without a trailing ``:``), after an optional ``openrouter:<id>`` or
    ``openrouter-endpoint:<tag>`` origin, is a path present in the cited raw record
    (pipeline/laws). Cached: a catalog repeats the same few hundred (path, field, text)."""
    last = path.rsplit(" ", 1)[-1].rsplit(".", 1)[-1]
    if last == field_name:
        return f"{path}{text}" if text.startswith(":") else f"{path} {text}"
    return f"{path}: {field_name} {text.removeprefix(': ')}"


def _free_statement(model: Normalized) -> Statement:
    pricing = model.pricing
    if pricing.variable:
        return False, "pricing", "pricing", "-1: dynamic price, not free"
    if model.id.endswith(":free"):
        # OpenRouter's `:free` variant tag: a free, rate-limited endpoint of the base model.
        return True, "id", "id", "has OpenRouter's :free variant tag"
    paid = positive_prices(pricing)
    if paid:
        return False, "pricing", "pricing", f": {', '.join(paid[:3])} > 0"
    if pricing.unit is not None:
        return (
            False,
            "pricing",
            "pricing",
            (f": not billed per token ({billing_unit(pricing)}); free only with a :free id"),
        )
    if pricing.input is None or pricing.output is None:
        return False, "pricing", "pricing", f": {NO_TOKEN_PRICE}"
    unpriced = sorted(set(model.modalities.output) - TOKEN_PRICED_OUTPUTS)
    if unpriced:
        return (
            False,
            "pricing",
            "pricing",
            (
                f": token prices are 0 but {'/'.join(unpriced)} output is not priced per token in "
                "the feed; free only with a :free id"
            ),
        )
    return True, "pricing", "pricing", ": every listed price is 0"


def statements(model: Normalized) -> dict[str, Statement]:
    """What the record's facts say, flag by flag (absent: they say nothing). Whether a
    statement is the API's word or an adapter's rule is up to how its fact was given:
    ``api_signals`` / ``rule_signals``."""
    found: dict[str, Statement] = {}
    inputs = sorted(model.modalities.input)
    outputs = sorted(model.modalities.output)

    # `~vendor/…-latest` ids carry tokenizer "Router" like the real routers, but each points at
    # one model (`alias_target`, since 2026-08) and is priced as that model: a chat model.
    alias = model.id.startswith("~") or model.alias_target is not None
    if model.pricing.variable:
        # OpenRouter reports -1 for dynamically priced routers (openrouter/auto, fusion, …).
        found["kind"] = ("router", "pricing", "pricing", "is -1 (dynamic router)")
    elif model.tokenizer == "Router" and not alias:
        # openrouter/free is priced 0, not -1; its tokenizer is what marks it as a router.
        found["kind"] = ("router", "tokenizer", "tokenizer", "is Router")
    elif model.modalities_given:
        if "text" in outputs:
            note = f"{outputs}"
            if alias:
                target = model.alias_target or "the current model of its family"
                note += f"; a ~ alias of {target} with fixed prices, not a router"
            found["kind"] = ("chat", "outputs", "output_modalities", note)
        else:
            for modality, kind in OUTPUT_KINDS:
                if modality in outputs:
                    found["kind"] = (kind, "outputs", "output_modalities", f"has {modality}")
                    break

    if model.modalities_given and model.inputs_given:
        found["supportsVision"] = ("image" in inputs, "inputs", "input_modalities", f"{inputs}")
    if model.modalities_given:
        # What comes out is enough to say whether it draws (Together's `type`, Cohere's chat
        # endpoints state outputs without inputs).
        found["isImageGen"] = ("image" in outputs, "outputs", "output_modalities", f"{outputs}")

    params = model.supported_parameters
    if params is not None:
        present = set(params)
        tools = sorted(present & TOOL_PARAMS)
        found["supportsTools"] = (
            bool(tools),
            "tools",
            "supported_parameters",
            f"has {', '.join(tools)}" if tools else "lack tools/tool_choice",
        )
        structured = sorted(present & STRUCTURED_PARAMS)
        found["structuredOutput"] = (
            bool(structured),
            "structured",
            "supported_parameters",
            f"has {', '.join(structured)}"
            if structured
            else "lack response_format/structured_outputs",
        )
        controls = sorted(present & REASONING_PARAMS)
        if controls:
            found["reasoning"] = (
                "configurable",
                "reasoning",
                "supported_parameters",
                f"has {', '.join(controls)}",
            )
    if "reasoning" not in found and model.reasoning_stated is not None:
        # A provider list's own word that the model thinks (Gemini `thinking: true`); the
        # thinking budget is a request setting, so it is configurable. The statement starts
        # with the field that says so.
        path, _, text = model.reasoning_stated.partition(" ")
        found["reasoning"] = ("configurable", "stated", path, text)
    if "reasoning" not in found and model.reasoning_mandatory is not None:
        # The `reasoning` object (feed schema since 2026-06): `mandatory` means always on.
        mandatory = model.reasoning_mandatory
        if mandatory is True:
            text = "is true, no reasoning controls"
            found["reasoning"] = ("fixed", "mandatory", "mandatory", text)
        elif mandatory is False:
            text = "is false, no reasoning controls"
            found["reasoning"] = ("none", "mandatory", "mandatory", text)

    found["isFree"] = _free_statement(model)
    return found


def _path(model: Normalized, fact: str) -> str | None:
    if fact == "stated":
        return ""
    if fact == "mandatory":
        return "reasoning.mandatory" if model.reasoning_mandatory is not None else None
    return model.cites.get(fact)


def api_signals(model: Normalized) -> dict[str, Signal]:
    """Layer 1: what the record's own fields say, flag by flag, each with evidence that starts
    with the field (``cite``). A statement whose fact no field states is not the API's word:
    an adapter's rule (``rule_signals``) or nothing."""
    signals: dict[str, Signal] = {}
    for flag, (value, fact, field_name, text) in statements(model).items():
        path = _path(model, fact)
        if path == "":
            signals[flag] = (value, f"{field_name} {text}")
        elif path is not None:
            signals[flag] = (value, cite(path, field_name, text))
    return signals


def rule_signals(model: Normalized) -> dict[str, Signal]:
    """What an adapter's own rules say where no field does (``Normalized.rules``): heuristic
    signals, with the rule as evidence (Anthropic's list has no tools field; every model of
    the Messages API takes tools)."""
    signals: dict[str, Signal] = {}
    for flag, (value, fact, field_name, text) in statements(model).items():
        rule = model.rules.get(fact)
        if rule is not None and _path(model, fact) is None:
            signals[flag] = (value, f"{rule}: {field_name} {text.removeprefix(': ')}")
    return signals
