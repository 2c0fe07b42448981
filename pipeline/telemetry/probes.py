"""Active probes (``syncmodels verify``): minimal requests that check what a model claims.

Each probe is one OpenAI-compatible ``/chat/completions`` request (OpenRouter by default):

    chat              a one-word answer
    tools             a forced function call against a JSON schema; the arguments must parse
                      and carry the required field
    structuredOutput  ``response_format`` json_schema; the content must parse and match
    vision            a tiny embedded PNG (one colour); the answer must name the colour
    reasoning         reasoning requested; reasoning tokens (or text) must be reported
    streaming         ``stream: true``; SSE chunks must arrive and end with ``[DONE]``

The cost of every planned probe is estimated first from the catalog's own prices (prompt
tokens as sent, completion tokens at the request's ``max_tokens`` cap) and the run is refused
when the total exceeds the budget. Each outcome becomes a telemetry event of the identity
``probe`` and goes through the same validation and rollups as any other; the votes read the
operator's probes apart (``votes.py``).
"""

from __future__ import annotations

import base64
import json
import struct
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from pipeline.records.model import ModelRecord
from pipeline.telemetry.events import PROBE_IDENTITY

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
CONSUMER = PROBE_IDENTITY
PER_MILLION = Decimal(1_000_000)


def _png(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A solid-colour PNG, built here so no binary file ships with the package."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


RED_PNG = "data:image/png;base64," + base64.b64encode(_png((255, 0, 0))).decode()

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Probe:
    capability: str
    body: dict[str, Any]
    prompt_tokens: int
    """Prompt tokens as sent, rounded up (for the cost estimate)."""
    images: int = 0


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


PROBES: dict[str, Probe] = {
    "chat": Probe(
        "chat", {"messages": _user("Reply with the single word: pong"), "max_tokens": 16}, 20
    ),
    "tools": Probe(
        "tools",
        {
            "messages": _user("What is the weather in Paris? Use the tool."),
            "tools": [TOOL],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "max_tokens": 64,
        },
        120,
    ),
    "structuredOutput": Probe(
        "structuredOutput",
        {
            "messages": _user("What is 2 + 3? Answer as JSON."),
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "strict": True, "schema": ANSWER_SCHEMA},
            },
            "max_tokens": 32,
        },
        80,
    ),
    "vision": Probe(
        "vision",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What colour is this image? One word."},
                        {"type": "image_url", "image_url": {"url": RED_PNG}},
                    ],
                }
            ],
            "max_tokens": 16,
        },
        120,
        images=1,
    ),
    "reasoning": Probe(
        "reasoning",
        {
            "messages": _user("Is 91 a prime number? Answer yes or no."),
            "reasoning": {"effort": "low"},
            "max_tokens": 512,
        },
        30,
    ),
    "streaming": Probe(
        "streaming",
        {"messages": _user("Count from 1 to 5."), "stream": True, "max_tokens": 32},
        20,
    ),
}


def claimed(record: ModelRecord) -> list[str]:
    """The capabilities a record claims (chat and streaming for every chat model)."""
    out = ["chat", "streaming"]
    if record.supports_tools:
        out.append("tools")
    if record.structured_output:
        out.append("structuredOutput")
    if record.supports_vision:
        out.append("vision")
    if record.reasoning != "none":
        out.append("reasoning")
    return out


def estimate_usd(record: ModelRecord, probe: Probe) -> Decimal | None:
    """Upper estimate of one probe's cost from the record's prices; None when unknowable
    (dynamically priced routers, models without token prices)."""
    pricing = record.pricing
    if pricing.variable:
        return None
    if record.is_free:
        return Decimal(0)
    if pricing.input is None or pricing.output is None:
        return None
    cap = Decimal(int(probe.body.get("max_tokens", 64)))
    cost = pricing.input * probe.prompt_tokens / PER_MILLION + pricing.output * cap / PER_MILLION
    cost += pricing.per_request or 0
    if probe.images:
        cost += (pricing.per_image or 0) * probe.images
    return cost


@dataclass
class Planned:
    record: ModelRecord
    probe: Probe
    estimate: Decimal


@dataclass
class Plan:
    probes: list[Planned] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((p.estimate for p in self.probes), Decimal(0))


def plan(records: Iterable[ModelRecord], capabilities: Iterable[str] | None) -> Plan:
    wanted = list(capabilities) if capabilities else None
    out = Plan()
    for record in records:
        for cap in wanted or claimed(record):
            estimate = estimate_usd(record, PROBES[cap])
            if estimate is None:
                out.skipped.append(f"{record.id} {cap}: no fixed token price to estimate by")
                continue
            out.probes.append(Planned(record, PROBES[cap], estimate))
    return out


@dataclass
class ProbeResult:
    model: str
    capability: str
    outcome: str
    latency_ms: float
    detail: str
    ttft_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    def event(self, now: float) -> dict[str, Any]:
        event: dict[str, Any] = {
            "model": self.model,
            "capability": self.capability,
            "outcome": self.outcome,
            "consumer": CONSUMER,
            "latencyMs": round(self.latency_ms, 1),
            "timestamp": now,
        }
        for key, value in (
            ("ttftMs", self.ttft_ms),
            ("inputTokens", self.input_tokens),
            ("outputTokens", self.output_tokens),
        ):
            if value is not None:
                event[key] = value
        return event


def _message(payload: Any) -> dict[str, Any]:
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not choices or not isinstance(choices[0], dict):
        raise ValueError("no choices in the answer")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise ValueError("no message in the first choice")
    return message


def judge(capability: str, payload: Any) -> tuple[bool, str]:
    """(capability worked, why) for a non-streaming answer."""
    message = _message(payload)
    content = message.get("content") or ""
    if capability == "tools":
        calls = message.get("tool_calls") or []
        if not calls:
            return False, "no tool call: the model ignored the forced tool"
        function = calls[0].get("function") or {}
        if function.get("name") != "get_weather":
            return False, f"called {function.get('name')!r}, not get_weather"
        try:
            arguments = json.loads(function.get("arguments") or "")
        except ValueError:
            return False, "tool arguments are not JSON"
        if not isinstance(arguments, dict) or not isinstance(arguments.get("city"), str):
            return False, "tool arguments miss the required string `city`"
        return True, f"get_weather({arguments['city']!r})"
    if capability == "structuredOutput":
        try:
            value = json.loads(content)
        except ValueError:
            return False, "content is not JSON"
        if not isinstance(value, dict) or not isinstance(value.get("answer"), int):
            return False, "JSON does not match the schema (integer `answer`)"
        return True, f"answer {value['answer']}"
    if capability == "vision":
        if "red" in content.lower():
            return True, "named the colour"
        return False, f"did not see the red image (said {content[:40]!r})"
    if capability == "reasoning":
        usage = payload.get("usage") or {}
        details = usage.get("completion_tokens_details") or {}
        tokens = details.get("reasoning_tokens") or 0
        if tokens > 0 or message.get("reasoning"):
            return True, f"{tokens} reasoning tokens"
        return False, "no reasoning tokens or reasoning text reported"
    if content.strip():
        return True, "answered"
    return False, "empty answer"


def _classify_status(status: int, capability: str) -> str:
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "provider_error"
    if status in (400, 422) and capability not in ("chat", "streaming"):
        # The endpoint refused the request shape the capability needs (tools, schema, image).
        return "capability_error"
    return "client_error"


def run_probe(
    client: httpx.Client, record: ModelRecord, probe: Probe, clock: Callable[[], float]
) -> ProbeResult:
    body = {"model": record.id, **probe.body}
    started = clock()

    def result(outcome: str, detail: str, **extra: Any) -> ProbeResult:
        return ProbeResult(
            record.id, probe.capability, outcome, (clock() - started) * 1000, detail, **extra
        )

    try:
        if probe.body.get("stream"):
            return _stream(client, body, record=record, probe=probe, clock=clock, started=started)
        response = client.post("/chat/completions", json=body)
    except httpx.TimeoutException:
        return result("timeout", "no answer within the timeout")
    except httpx.TransportError as exc:
        return result("provider_error", f"connection failed: {type(exc).__name__}")
    if response.status_code != 200:
        return result(
            _classify_status(response.status_code, probe.capability),
            f"HTTP {response.status_code}",
        )
    try:
        payload = response.json()
        worked, why = judge(probe.capability, payload)
    except ValueError as exc:
        return result("provider_error", f"unreadable answer: {exc}")
    usage = payload.get("usage") or {}
    return result(
        "ok" if worked else "capability_error",
        why,
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
    )


def _stream(
    client: httpx.Client,
    body: dict[str, Any],
    *,
    record: ModelRecord,
    probe: Probe,
    clock: Callable[[], float],
    started: float,
) -> ProbeResult:
    first: float | None = None
    chunks = 0
    done = False
    try:
        with client.stream("POST", "/chat/completions", json=body) as response:
            if response.status_code != 200:
                outcome = _classify_status(response.status_code, probe.capability)
                return ProbeResult(
                    record.id,
                    probe.capability,
                    outcome,
                    (clock() - started) * 1000,
                    f"HTTP {response.status_code}",
                )
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                chunks += 1
                if first is None:
                    first = clock()
    except httpx.TimeoutException:
        return ProbeResult(
            record.id, probe.capability, "timeout", (clock() - started) * 1000, "stream stalled"
        )
    except httpx.TransportError as exc:
        return ProbeResult(
            record.id,
            probe.capability,
            "provider_error",
            (clock() - started) * 1000,
            f"stream broke: {type(exc).__name__}",
        )
    latency = (clock() - started) * 1000
    ttft = None if first is None else (first - started) * 1000
    if chunks and done:
        return ProbeResult(
            record.id, probe.capability, "ok", latency, f"{chunks} chunks", ttft_ms=ttft
        )
    return ProbeResult(
        record.id,
        probe.capability,
        "capability_error",
        latency,
        f"{chunks} chunks, {'no ' if not done else ''}[DONE]",
        ttft_ms=ttft,
    )


def run_plan(
    planned: Plan,
    *,
    base_url: str,
    api_key: str | None,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[ProbeResult]:
    """Send every planned probe, one after the other (probes are few and cheap; sequential
    keeps a provider's rate limit out of the results)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(
        base_url=base_url.rstrip("/"),
        headers=headers,
        timeout=httpx.Timeout(timeout),
        transport=transport,
    ) as client:
        return [run_probe(client, p.record, p.probe, clock) for p in planned.probes]
