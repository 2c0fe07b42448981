"""OpenTelemetry GenAI spans (OTLP/HTTP, protobuf or JSON) → telemetry events.

``MAPPING`` below is the one table from the OpenTelemetry GenAI semantic conventions to this
project's vocabulary; docs/telemetry.md prints it. Only the attributes it names are read:
message content (``gen_ai.input.messages``, ``gen_ai.output.messages``,
``gen_ai.system_instructions``, tool-call arguments and results) is never looked at.

Protobuf is decoded with ``opentelemetry-proto`` (the generated message classes of the OTLP
``.proto`` files): hand-decoding the wire format would mean re-implementing varints, packed
fields and the nesting of six message types that the official package already gets right.
JSON follows the OTLP/HTTP JSON encoding (lowerCamelCase fields, 64-bit integers as strings,
ids as hex, ``AnyValue`` wrappers) and is walked directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.telemetry.events import CAPABILITIES, OUTCOMES, Rejected

# (OpenTelemetry attribute or field, what it becomes here). Order is the order of precedence.
MAPPING: tuple[tuple[str, str], ...] = (
    (
        "gen_ai.operation.name",
        "`chat`, `generate_content`, `text_completion`: a model call; any other value "
        "(`embeddings`, `execute_tool`, `invoke_agent`, …) or none: not a GenAI call, "
        "ignored and counted",
    ),
    ("gen_ai.request.model", "model (resolved like the reader resolves)"),
    ("gen_ai.response.model", "model, when the request model is absent"),
    ("gen_ai.provider.name", "provider, to resolve a native id (`gpt-4o` + `openai`)"),
    ("gen_ai.system", "provider, for instrumentations on semantic conventions ≤ 1.36"),
    ("catalog.capability", "capability, when given (one of " + ", ".join(CAPABILITIES) + ")"),
    (
        "gen_ai.tool.definitions / gen_ai.tool.name / finish reason `tool_calls`",
        "capability `tools`",
    ),
    ("gen_ai.output.type = `json`", "capability `structuredOutput`"),
    ("gen_ai.usage.reasoning.output_tokens > 0", "capability `reasoning`"),
    ("gen_ai.request.stream = true", "capability `streaming`"),
    ("(none of the above)", "capability `chat`"),
    ("catalog.outcome", "outcome, when given (one of " + ", ".join(OUTCOMES) + ")"),
    (
        "error.type",
        "timeout (`timeout`, `*Timeout*`), rate_limited (`429`, `*RateLimit*`), "
        "client_error (other `4xx`, `*BadRequest*`, `*Authentication*`, `*PermissionDenied*`, "
        "`*NotFound*`, `*UnprocessableEntity*`), else provider_error",
    ),
    ("span status ERROR without error.type", "outcome `provider_error`"),
    ("(no error)", "outcome `ok`"),
    ("end − start time", "latencyMs"),
    ("gen_ai.response.time_to_first_chunk (seconds)", "ttftMs"),
    ("gen_ai.usage.input_tokens (or gen_ai.usage.prompt_tokens)", "inputTokens"),
    ("gen_ai.usage.output_tokens (or gen_ai.usage.completion_tokens)", "outputTokens"),
    (
        "catalog.consumer, else resource service.name",
        "consumer as the span declares it — overwritten by the token's identity",
    ),
    ("span end time", "timestamp"),
)

GENAI_OPERATIONS = frozenset({"chat", "generate_content", "text_completion"})
MAX_ATTRIBUTE_CHARS = 256
"""Attribute strings are cut to this many characters when decoded: nothing the mapping reads
is longer (a model reference is at most 200), and a 1 MB operation name must not be kept."""
MAX_ARRAY_ITEMS = 64
"""Items of an array attribute kept (finish reasons are a handful)."""
STATUS_ERROR = 2
CLIENT_ERROR_WORDS = (
    "badrequest",
    "authentication",
    "permissiondenied",
    "notfound",
    "unprocessable",
)  # Status.StatusCode STATUS_CODE_ERROR in trace.proto


@dataclass(frozen=True, slots=True)
class Span:
    """The parts of a span the mapping reads."""

    attributes: Mapping[str, Any]
    resource: Mapping[str, Any]
    start_ns: int
    end_ns: int
    status_code: int


class NotGenAI(Exception):
    """A span that is not a GenAI model call (ignored and counted, not rejected)."""


def _outcome_from_error(error_type: str) -> str:
    lowered = error_type.lower()
    if "timeout" in lowered or "timedout" in lowered:
        return "timeout"
    if lowered == "429" or "ratelimit" in lowered or "rate_limit" in lowered:
        return "rate_limited"
    if lowered.isdigit() and len(lowered) == 3 and lowered.startswith("4"):
        return "client_error"
    if any(
        word in lowered
        for word in (
            "badrequest",
            "authentication",
            "permissiondenied",
            "notfound",
            "unprocessable",
        )
    ):
        return "client_error"
    return "provider_error"


def _capability(attrs: Mapping[str, Any]) -> str:
    if "gen_ai.tool.definitions" in attrs or "gen_ai.tool.name" in attrs:
        return "tools"
    reasons = attrs.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, list | tuple) and "tool_calls" in reasons:
        return "tools"
    if attrs.get("gen_ai.output.type") == "json":
        return "structuredOutput"
    reasoning = attrs.get("gen_ai.usage.reasoning.output_tokens")
    if isinstance(reasoning, int | float) and not isinstance(reasoning, bool) and reasoning > 0:
        return "reasoning"
    if attrs.get("gen_ai.request.stream") is True:
        return "streaming"
    return "chat"


def span_to_event(span: Span) -> dict[str, Any]:
    """The event (as the JSON intake reads it) a GenAI span stands for; NotGenAI otherwise.

    The result goes through the same validation as every other event."""
    attrs = span.attributes
    operation = attrs.get("gen_ai.operation.name")
    if operation not in GENAI_OPERATIONS:
        raise NotGenAI(str(operation))
    event: dict[str, Any] = {}
    model = attrs.get("gen_ai.request.model") or attrs.get("gen_ai.response.model")
    if model is not None:
        event["model"] = model
    provider = attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system")
    if isinstance(provider, str):
        event["provider"] = provider
    explicit = attrs.get("catalog.capability")
    event["capability"] = explicit if explicit is not None else _capability(attrs)
    outcome = attrs.get("catalog.outcome")
    if outcome is None:
        error_type = attrs.get("error.type")
        if error_type is not None:
            outcome = _outcome_from_error(str(error_type))
        elif span.status_code == STATUS_ERROR:
            outcome = "provider_error"
        else:
            outcome = "ok"
    event["outcome"] = outcome
    if span.end_ns and span.start_ns:
        event["latencyMs"] = (span.end_ns - span.start_ns) / 1e6
    first_chunk = attrs.get("gen_ai.response.time_to_first_chunk")
    if isinstance(first_chunk, int | float) and not isinstance(first_chunk, bool):
        event["ttftMs"] = first_chunk * 1000.0
    for target, names in (
        ("inputTokens", ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")),
        ("outputTokens", ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")),
    ):
        for name in names:
            if name in attrs:
                event[target] = attrs[name]
                break
    consumer = attrs.get("catalog.consumer") or span.resource.get("service.name")
    if consumer is not None:
        event["consumer"] = consumer
    if span.end_ns:
        event["timestamp"] = span.end_ns / 1e9
    return event


# -- protobuf ------------------------------------------------------------------------------------


def _any_value_pb(value: Any, nested: bool = False) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        if nested:
            return None  # arrays of arrays are never read by the mapping
        return [_any_value_pb(v, True) for v in value.array_value.values[:MAX_ARRAY_ITEMS]]
    if kind == "kvlist_value":
        return None  # maps are never read by the mapping
    if kind == "bytes_value":
        return None
    if kind == "string_value":
        return str(value.string_value)[:MAX_ATTRIBUTE_CHARS]
    return getattr(value, kind)


def _attrs_pb(attributes: Any) -> dict[str, Any]:
    return {kv.key: _any_value_pb(kv.value) for kv in attributes}


def spans_from_protobuf(data: bytes) -> Iterator[Span]:
    """Spans of an ``ExportTraceServiceRequest``; Rejected(``invalid_payload``) when the
    bytes are not one."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(data)
    except DecodeError as exc:
        raise Rejected("invalid_payload", f"not an OTLP ExportTraceServiceRequest: {exc}") from exc
    for resource_spans in request.resource_spans:
        resource = _attrs_pb(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield Span(
                    _attrs_pb(span.attributes),
                    resource,
                    int(span.start_time_unix_nano),
                    int(span.end_time_unix_nano),
                    int(span.status.code),
                )


def count_spans_protobuf(data: bytes) -> int:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest.FromString(data)
    return sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)


# -- JSON ----------------------------------------------------------------------------------------


def _int(value: Any) -> int:
    # OTLP JSON writes 64-bit integers as decimal strings; some exporters write numbers.
    if isinstance(value, bool):
        raise ValueError("boolean where an integer was expected")
    if isinstance(value, int):
        number = value
    elif (isinstance(value, str) and len(value) <= 21 and value.lstrip("-").isdigit()) or (
        isinstance(value, float) and value.is_integer()
    ):
        number = int(value)
    else:
        raise ValueError(f"not an integer: {str(value)[:30]!r}")
    if not -(2**63) <= number < 2**64:  # OTLP integers are 64-bit; a bigger one is no time
        raise ValueError(f"integer out of the 64-bit range: {str(value)[:30]!r}")
    return number


def _any_value_json(value: Any, nested: bool = False) -> Any:
    if not isinstance(value, Mapping):
        return None
    if "stringValue" in value:
        text = value["stringValue"]
        return text[:MAX_ATTRIBUTE_CHARS] if isinstance(text, str) else None
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return _int(value["intValue"])
    if "doubleValue" in value:
        double = value["doubleValue"]
        return float(double) if isinstance(double, int | float | str) else None
    if "arrayValue" in value and not nested:
        items = (value["arrayValue"] or {}).get("values") or []
        return [_any_value_json(v, True) for v in items[:MAX_ARRAY_ITEMS]]
    return None


def _attrs_json(attributes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in attributes or []:
        if isinstance(kv, Mapping) and isinstance(kv.get("key"), str):
            out[kv["key"]] = _any_value_json(kv.get("value"))
    return out


def spans_from_json(document: Any) -> list[Span]:
    """Spans of an OTLP/HTTP JSON ``ExportTraceServiceRequest``."""
    if not isinstance(document, Mapping):
        raise Rejected("invalid_payload", "OTLP JSON must be an object with resourceSpans")
    spans: list[Span] = []
    try:
        for resource_spans in document.get("resourceSpans") or []:
            resource = _attrs_json((resource_spans.get("resource") or {}).get("attributes"))
            for scope_spans in resource_spans.get("scopeSpans") or []:
                for span in scope_spans.get("spans") or []:
                    status = span.get("status") or {}
                    spans.append(
                        Span(
                            _attrs_json(span.get("attributes")),
                            resource,
                            _int(span.get("startTimeUnixNano", 0)),
                            _int(span.get("endTimeUnixNano", 0)),
                            _status_code(status.get("code", 0)),
                        )
                    )
    except (AttributeError, TypeError, ValueError) as exc:
        raise Rejected("invalid_payload", f"not an OTLP JSON trace request: {exc}") from exc
    return spans


def _status_code(code: Any) -> int:
    # Enums are integers in OTLP JSON; tolerate the proto3 JSON enum names as well.
    names = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
    if isinstance(code, str) and code in names:
        return names[code]
    return _int(code)
