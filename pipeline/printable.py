"""Printable text: what an id or a name may hold, and how text is made safe for a terminal
and for an XML feed (issue 27).

Upstream ids and names are shown on terminals (the CLI), in HTML (the explorer), in XML (the
Atom feed) and used as file names (``catalog export-site``). A character that is not text —
a control character (NUL, ``\\x0b``, ESC, C1), a bidirectional control (``evil/\\u202egpt-4o``
shows as another vendor's id), a line separator, a lone surrogate — has no business in any of
them, so a record whose id or name holds one is quarantined where it enters
(:func:`identity_problem`, called by ``pipeline.stages.normalize.check_identity``). Other text
(descriptions, evidence, what an older history recorded) is escaped on the way out:
:func:`for_terminal` for the CLI's streams, :func:`for_xml` for the feed; HTML is escaped by
the explorer's template engine. :func:`guard_std_streams` puts :func:`for_terminal` on every
write of the CLI.
"""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

MAX_ID_CHARS = 256
"""Longest id or name accepted (real ids are under 80 characters, names under 120)."""

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Arabic letter mark, LRM/RLM, the embeddings and overrides, the isolates (Unicode UAX #9)."""

_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 (NUL, \x0b, ESC, ...), DEL and C1 controls
    + BIDI_CONTROLS
    + "\u2028\u2029"  # line and paragraph separators: a line break to terminals and scripts
    + "\ud800-\udfff"  # lone surrogates (a JSON \\ud800 escape): not encodable as UTF-8
    + "\ufffe\uffff]"  # noncharacters, illegal in XML
)
# The CLI's own line breaks and tabs stay; every other character above is escaped.
_TERMINAL = re.compile(_UNPRINTABLE.pattern.replace("\x00-\x1f", "\x00-\x08\x0b-\x1f"))
# XML 1.0 allows #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and the planes above.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def identity_problem(value: str, what: str = "id") -> str | None:
    """Why ``value`` cannot be an id or a name (``what`` names the field), or None."""
    if len(value) > MAX_ID_CHARS:
        return f"{what} is {len(value)} characters long (at most {MAX_ID_CHARS})"
    found = _UNPRINTABLE.search(value)
    if found is None:
        return None
    char = found.group()
    kind = "a bidi control" if char in BIDI_CONTROLS else "an unprintable character"
    return f"{what} holds {kind} (U+{ord(char):04X}) at position {found.start()}"


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def for_terminal(text: str) -> str:
    """``text`` with every unprintable character but line breaks and tabs written as a
    ``\\uXXXX`` escape: shown, never obeyed (an ESC cannot drive the terminal, an override
    cannot reorder the line). The escape is JSON's, so JSON output stays valid JSON."""
    if _TERMINAL.search(text) is None:
        return text
    return _TERMINAL.sub(_escape, text)


def escaped(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters with every unprintable one written as ``\\uXXXX``,
    line breaks included: how a run report names a quarantined id without carrying it."""
    text = text[:limit]
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_escape, text)


def for_xml(text: str) -> str:
    """``text`` without the characters XML 1.0 does not allow (they cannot be escaped)."""
    if _XML_ILLEGAL.search(text) is None:
        return text
    return _XML_ILLEGAL.sub("", text)


class TerminalStream:
    """A text stream wrapper that writes everything through :func:`for_terminal` (the CLI's
    stdout and stderr): whatever a command prints, an id, a name or an error quoting either
    cannot move the cursor, recolour the terminal or reorder a line."""

    escapes_unprintable = True
    """Marks the wrapper (also seen through other wrappers that forward attributes)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(for_terminal(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_std_streams() -> None:
    """Escape unprintable characters in everything the process writes to stdout and stderr
    (idempotent). Call before wrapping the streams for redaction, so secrets are scrubbed
    from the text as it was, then the rest is escaped."""
    if not getattr(sys.stdout, "escapes_unprintable", False):
        sys.stdout = TerminalStream(sys.stdout)
    if not getattr(sys.stderr, "escapes_unprintable", False):
        sys.stderr = TerminalStream(sys.stderr)
