"""Limits checked on an upstream body before it is parsed (issue 12).

ijson keeps state per nesting level and its memory grows quadratically with depth (0.25 GB at
10k levels; 100k levels exhaust memory in seconds), so depth is measured on the raw bytes
first (:func:`pipeline.publishing.jsonio.nesting_exceeds`, linear time).
"""

from __future__ import annotations

from pipeline.publishing.jsonio import nesting_exceeds
from pipeline.records.payloads import PayloadError

DEFAULT_MAX_DEPTH = 64


def check_depth(raw: bytes, limit: int = DEFAULT_MAX_DEPTH) -> None:
    """Raise PayloadError when ``raw`` nests deeper than ``limit``."""
    if nesting_exceeds(raw, limit):
        raise PayloadError(f"the JSON nests deeper than {limit} levels; refused before parsing")
