"""Secrets in, never out: keys are checked when read and scrubbed from every output channel.

Two independent guards (issue 12):

1. :func:`read_secret` reads a key from the environment, strips surrounding whitespace (a key
   mounted from a file usually ends in a newline) and refuses one with control characters
   inside with a :class:`SecretError` that names the variable, never the value. Every value it
   returns is remembered.
2. :func:`redact` / :func:`redact_bytes` replace every remembered value, and anything shaped
   like a common API key or bearer token, with ``[REDACTED]``. Every channel that writes calls
   them: the log formatters (:mod:`pipeline.logs`), the CLI's stdout/stderr, the artifacts,
   status and run reports (:func:`pipeline.publishing.publish.encode`), error strings built
   from exceptions (:class:`pipeline.sources.http.FetchError`) and the reader's HTTP error
   bodies. A value is scrubbed even when it reaches a channel by a path nobody foresaw, such
   as an httpx message quoting a header.

The remembered set is process-wide on purpose: a secret is a property of the process's
environment, and a channel deep in a library cannot be handed one as a parameter.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 6
"""Shorter values are not remembered: scrubbing "abc" from every log line would garble text
and protect nothing (a 5-character key is no secret)."""

# Environment variables that hold secrets whatever the configuration says.
WELL_KNOWN_ENV = (
    "OPENROUTER_API_KEY",
    "CATALOG_ADMIN_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
# Any variable named like a secret (every provider's default key variable ends in _API_KEY).
SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_SECRET_ACCESS_KEY", "_PASSWORD")

# Shapes of keys the project handles (OpenRouter/OpenAI/Anthropic `sk-…`, Google `AIza…`,
# Groq `gsk_…`, Hugging Face `hf_…`, xAI `xai-…`, AWS access key ids) and any bearer token.
_SHAPES = re.compile(
    r"(?:\bsk-[A-Za-z0-9][A-Za-z0-9_\-]{15,}"
    r"|\bAIza[0-9A-Za-z_\-]{30,}"
    r"|\bgsk_[A-Za-z0-9]{16,}"
    r"|\bhf_[A-Za-z0-9]{16,}"
    r"|\bxai-[A-Za-z0-9]{16,}"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+|%20)[^\s'\"\\,;]{12,}")
_SHAPES_BYTES = re.compile(_SHAPES.pattern.encode())
_BEARER_BYTES = re.compile(_BEARER.pattern.encode())
# Literal fragments every match contains: a substring test (C memmem) skips the regexes on
# text without them, which is nearly all text (a 1 MB page: 0.3 ms instead of 120 ms).
_SHAPE_HINTS = ("sk-", "AIza", "gsk_", "hf_", "xai-", "AKIA", "ASIA")
_BEARER_HINTS = ("earer", "EARER", "asic", "ASIC")
_SHAPE_HINTS_BYTES = tuple(h.encode() for h in _SHAPE_HINTS)
_BEARER_HINTS_BYTES = tuple(h.encode() for h in _BEARER_HINTS)

_lock = threading.Lock()
_values: frozenset[str] = frozenset()


class SecretError(ValueError):
    """A configured secret is unusable; the message names the variable, never the value."""


def remember(value: str | None) -> None:
    """Scrub ``value`` (and its JSON-escaped and quoted forms) from every output from now on."""
    global _values
    if value is None:
        return
    forms = {value, value.strip()}
    forms |= {json.dumps(form)[1:-1] for form in list(forms)}
    forms |= {repr(form)[1:-1] for form in list(forms)}
    forms = {form for form in forms if len(form) >= MIN_SECRET_LENGTH}
    if not forms - _values:
        return
    with _lock:
        _values = _values | forms


def forget_all() -> None:
    """Clear the remembered values (tests)."""
    global _values
    with _lock:
        _values = frozenset()


def remembered() -> frozenset[str]:
    return _values


def check_secret(name: str, raw: str | None) -> str | None:
    """A key as read from variable ``name``: stripped, None when empty; control characters
    inside it are a SecretError naming ``name``. The raw value is remembered either way."""
    if raw is None:
        return None
    remember(raw)
    value = raw.strip()
    if not value:
        return None
    bad = next((ch for ch in value if ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0), None)
    if bad is not None:
        raise SecretError(
            f"environment variable {name} holds a key with a control character "
            f"(U+{ord(bad):04X}) inside it; fix the variable (the value is not shown)"
        )
    remember(value)
    return value


def read_secret(name: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The key in environment variable ``name`` (see :func:`check_secret`)."""
    if not name:
        return None
    env = os.environ if env is None else env
    return check_secret(name, env.get(name))


def remember_env(names: Iterable[str | None], env: Mapping[str, str] | None = None) -> None:
    """Remember the values of these variables (and the well-known ones) without checking them:
    called at start-up so even a path that never calls :func:`read_secret` is scrubbed."""
    env = os.environ if env is None else env
    secretish = [n for n in env if n.upper().endswith(SECRET_SUFFIXES)]
    for name in (*WELL_KNOWN_ENV, *secretish, *names):
        if name:
            remember(env.get(name))


def redact(text: str) -> str:
    """``text`` with every remembered secret and key-shaped token replaced by ``[REDACTED]``."""
    for value in sorted(_values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    if any(hint in text for hint in _BEARER_HINTS):
        text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    if any(hint in text for hint in _SHAPE_HINTS):
        text = _SHAPES.sub(MASK, text)
    return text


def redact_bytes(data: bytes, *, shapes: bool = True) -> bytes:
    """:func:`redact` for bytes (UTF-8). ``shapes=False`` scrubs only remembered values, which
    is a fast substring search even over a 100 MB artifact."""
    mask = MASK.encode()
    for value in sorted(_values, key=len, reverse=True):
        encoded = value.encode("utf-8", "surrogatepass")
        if encoded in data:
            data = data.replace(encoded, mask)
    if shapes and any(hint in data for hint in _BEARER_HINTS_BYTES):
        data = _BEARER_BYTES.sub(lambda m: m.group(1) + m.group(2) + mask, data)
    if shapes and any(hint in data for hint in _SHAPE_HINTS_BYTES):
        data = _SHAPES_BYTES.sub(mask, data)
    return data


class RedactingStream:
    """A text stream wrapper that scrubs every write (the CLI's stdout and stderr)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_std_streams() -> None:
    """Scrub everything the process writes to stdout and stderr (idempotent)."""
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)
