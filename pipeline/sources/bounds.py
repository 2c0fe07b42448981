"""Limits checked on an upstream body before it is parsed (issue 12).

ijson keeps state per nesting level and its memory grows quadratically with depth (0.25 GB at
10k levels; 100k levels exhaust memory in seconds), so depth is measured on the raw bytes
first, in linear time and with C-speed passes only: escapes are dropped, everything but
quotes and brackets deleted, strings (now bare quote pairs around any brackets they held) cut
out, and matched innermost pairs removed level by level: ``limit`` passes at most, each over
the brackets only (a few MB for a 100k-model catalog).
"""

from __future__ import annotations

import re

from pipeline.payloads import PayloadError

DEFAULT_MAX_DEPTH = 64

_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_INNERMOST = re.compile(rb"\[\]|\{\}")


def check_depth(raw: bytes, limit: int = DEFAULT_MAX_DEPTH) -> None:
    """Raise PayloadError when ``raw`` nests deeper than ``limit``.

    Malformed bracket sequences are left for the parser to report; only provable depth
    beyond the limit is refused here.
    """
    # `\\` first, so the `\"` left afterwards are exactly the escaped quotes.
    plain = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = _STRING.sub(b"", plain.translate(None, _NOT_STRUCTURE))
    del plain
    if len(brackets) <= 2 * limit:
        return  # not enough brackets to nest deeper than the limit
    for _ in range(limit):
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not brackets or not removed:
            return
    if _INNERMOST.search(brackets):
        raise PayloadError(f"the JSON nests deeper than {limit} levels; refused before parsing")
