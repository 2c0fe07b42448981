"""JSON paths in error messages (``$.overrides[0].set``), one spelling everywhere.

Dependency-free so that the reader's loader can use it without importing the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable


def json_path(parts: Iterable[str | int]) -> str:
    """``["overrides", 0, "set"]`` → ``$.overrides[0].set``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
