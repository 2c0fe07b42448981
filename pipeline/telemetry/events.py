"""One call outcome, validated the same way whichever door it came in by.

An event names a model (id, alias or native id), the capability the call exercised, its
outcome, timings, token counts and the consumer that made it. Nothing else is read: unknown
fields (prompts, responses, messages…) are dropped before anything is kept, so no content ever
reaches memory past the parser or the store.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.timeutil import parse_iso

CAPABILITIES = ("chat", "tools", "structuredOutput", "vision", "reasoning", "streaming")
OUTCOMES = ("ok", "capability_error", "provider_error", "rate_limited", "timeout", "client_error")
OUTCOME_INDEX = {name: index for index, name in enumerate(OUTCOMES)}
NOT_SERVED = ("provider_error", "rate_limited", "timeout")
"""Outcomes that count against the provider serving the model (reliability)."""

MAX_LATENCY_MS = 3_600_000.0
"""An hour: longer than any gateway lets a call run; larger values are client bugs."""
MAX_TOKENS = 100_000_000
MAX_REF = 200
MAX_PROVIDER = 64
"""Provider names are short words (`openai`, `google-vertex`); a longer one is a client bug."""
CONSUMER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,63}")
"""A consumer (identity) name, matched whole (``fullmatch``: no trailing newline slips in)."""
PROBE_IDENTITY = "probe"
"""The identity of `syncmodels verify`: the operator's own probes (docs/telemetry.md, votes)."""
MEMO_ENTRIES = 20_000
"""Model lookups remembered per catalog version (hits only, least recently used dropped)."""

# Rejection reasons (stable codes: metrics labels, `catalog telemetry`, HTTP answers).
REASONS = (
    "invalid_json",
    "not_an_object",
    "missing_model",
    "unknown_model",
    "bad_capability",
    "bad_outcome",
    "bad_latency",
    "bad_tokens",
    "bad_timestamp",
    "future_timestamp",
    "too_old",
    "bad_consumer",
    "bad_provider",
    "too_many_series",
    # Request-level: the whole request is refused (nothing of it is kept).
    "invalid_payload",
    "too_large",
    "rate_limited",
    "unauthorized",
    "unsupported_media_type",
)


class Rejected(ValueError):
    """An event that cannot be kept; ``reason`` is one of ``REASONS``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Event:
    """A validated call outcome; ``model`` is the catalog id it resolved to."""

    model: str
    capability: str
    outcome: str
    consumer: str
    at: float
    """When the call ended, Unix seconds."""
    latency_ms: float | None = None
    ttft_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


ModelLookup = Callable[[str, str | None], str | None]
"""(reference, provider or None) → catalog id, or None when nothing matches."""


def _number(raw: Mapping[str, Any], key: str, reason: str, limit: float) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected(reason, f"{key} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # a JSON integer of hundreds of digits
        raise Rejected(reason, f"{key} is far above the limit {limit:g}") from None
    if not math.isfinite(number) or number < 0:
        raise Rejected(reason, f"{key} must be a finite number >= 0, got {value!r}")
    if number > limit:
        raise Rejected(reason, f"{key} {value!r} is above the limit {limit:g}")
    return number


def _tokens(raw: Mapping[str, Any], key: str) -> int | None:
    value = _number(raw, key, "bad_tokens", MAX_TOKENS)
    if value is None:
        return None
    if value != int(value):
        raise Rejected("bad_tokens", f"{key} must be a whole number, got {raw[key]!r}")
    return int(value)


def parse_time(value: Any) -> float:
    """ISO-8601 text or Unix seconds → Unix seconds (Rejected ``bad_timestamp`` otherwise)."""
    if isinstance(value, bool):
        raise Rejected("bad_timestamp", f"timestamp {value!r} is neither ISO-8601 nor a number")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # a JSON integer of hundreds of digits
            raise Rejected("bad_timestamp", "timestamp is not a plausible time") from None
        if not math.isfinite(seconds):
            raise Rejected("bad_timestamp", f"timestamp {value!r} is not finite")
        return seconds
    if isinstance(value, str) and len(value) <= 40:
        try:
            return parse_iso(value).timestamp()
        except ValueError:
            pass
    raise Rejected("bad_timestamp", f"timestamp {str(value)[:40]!r} is not ISO-8601 UTC")


def check_time(at: float, *, now: float, max_age_seconds: float, max_skew_seconds: float) -> None:
    if at > now + max_skew_seconds:
        raise Rejected(
            "future_timestamp",
            f"timestamp is {at - now:.0f} s in the future (allowed skew {max_skew_seconds:g} s)",
        )
    if at < now - max_age_seconds:
        raise Rejected(
            "too_old", f"timestamp is older than {max_age_seconds / 3600:g} hours: not accepted"
        )


def build_event(
    raw: Mapping[str, Any],
    *,
    now: float,
    lookup: ModelLookup,
    max_age_seconds: float,
    max_skew_seconds: float,
    identity: str | None = None,
) -> Event:
    """Validate one event as the JSON intake and the Reporter send it (camelCase keys).

    ``identity`` is who sent it (the token's identity): it becomes the event's consumer,
    whatever the event says (a self-declared ``consumer`` is overwritten, never trusted).
    Without one (the Reporter, probes: callers with the store's own credentials), the event's
    ``consumer`` is read and validated."""
    if not isinstance(raw, Mapping):
        raise Rejected("not_an_object", f"an event must be a JSON object, got {type(raw).__name__}")
    ref = raw.get("model")
    if not isinstance(ref, str) or not ref.strip():
        raise Rejected("missing_model", "`model` (an id, alias or native id) is required")
    if len(ref) > MAX_REF:
        raise Rejected("unknown_model", f"model reference longer than {MAX_REF} characters")
    provider = raw.get("provider")
    if provider is not None and (not isinstance(provider, str) or len(provider) > MAX_PROVIDER):
        raise Rejected(
            "bad_provider", f"provider must be a string of at most {MAX_PROVIDER} characters"
        )
    model = lookup(ref.strip(), (provider or "").strip() or None)
    if model is None:
        raise Rejected("unknown_model", f"{ref[:80]!r} is not a model of the catalog")
    capability = raw.get("capability", "chat")
    if not isinstance(capability, str) or capability not in CAPABILITIES:
        raise Rejected(
            "bad_capability", f"capability {str(capability)[:40]!r} not one of {CAPABILITIES}"
        )
    outcome = raw.get("outcome")
    if not isinstance(outcome, str) or outcome not in OUTCOME_INDEX:  # (a list is unhashable)
        raise Rejected("bad_outcome", f"outcome {str(outcome)[:40]!r} not one of {OUTCOMES}")
    consumer = identity if identity is not None else raw.get("consumer")
    if not isinstance(consumer, str) or not CONSUMER_RE.fullmatch(consumer):
        raise Rejected(
            "bad_consumer",
            "consumer must be 1-64 characters of letters, digits and . _ : / @ - "
            f"(got {str(consumer)[:40]!r})",
        )
    stamp = raw.get("timestamp")
    at = now if stamp is None else parse_time(stamp)
    check_time(at, now=now, max_age_seconds=max_age_seconds, max_skew_seconds=max_skew_seconds)
    return Event(
        model=model,
        capability=str(capability),
        outcome=str(outcome),
        consumer=consumer,
        at=at,
        latency_ms=_number(raw, "latencyMs", "bad_latency", MAX_LATENCY_MS),
        ttft_ms=_number(raw, "ttftMs", "bad_latency", MAX_LATENCY_MS),
        input_tokens=_tokens(raw, "inputTokens"),
        output_tokens=_tokens(raw, "outputTokens"),
    )


class CatalogLookup:
    """Resolves references the way the reader does (id, alias, redirects, alias history),
    then by native id (``sources[].nativeId``, qualified by provider when given).

    Family fallback and ``openrouter/auto`` are not followed: a call made to a retired model
    says nothing about the substitute the reader would pick for it.
    """

    def __init__(self, resolve: Callable[[str], Any], models: Sequence[Mapping[str, Any]]) -> None:
        self._resolve = resolve
        self._native: dict[tuple[str, str], str] = {}
        plain: dict[str, set[str]] = {}
        for model in models:
            model_id = str(model.get("id"))
            for source in model.get("sources") or []:
                native = str(source.get("nativeId", ""))
                provider = str(source.get("source", ""))
                self._native.setdefault((provider, native), model_id)
                plain.setdefault(native, set()).add(model_id)
            vendor = str(model.get("family", ""))
            native_name = model_id.split("/", 1)[-1]
            self._native.setdefault((vendor, native_name), model_id)
        # A bare native id counts only when exactly one model carries it.
        self._plain = {native: next(iter(ids)) for native, ids in plain.items() if len(ids) == 1}
        self._memo: OrderedDict[tuple[str, str | None], str] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, ref: str, provider: str | None) -> str | None:
        key = (ref, provider)
        with self._lock:
            hit = self._memo.get(key)
            if hit is not None:
                self._memo.move_to_end(key)
                return hit
        found = self._find(ref, provider)
        if found is not None:  # misses are not remembered: junk refs cannot fill the memo
            with self._lock:
                self._memo[key] = found
                if len(self._memo) > MEMO_ENTRIES:
                    self._memo.popitem(last=False)
        return found

    def _find(self, ref: str, provider: str | None) -> str | None:
        resolution = self._resolve(ref)
        if resolution.model is not None and all(
            hop.step not in ("family-fallback", "auto") for hop in resolution.hops
        ):
            return str(resolution.model["id"])
        if provider:
            hit = self._native.get((provider, ref))
            if hit is not None:
                return hit
            qualified = self._resolve(f"{provider}/{ref}")
            if qualified.model is not None and qualified.exact:
                return str(qualified.model["id"])
        return self._plain.get(ref)
