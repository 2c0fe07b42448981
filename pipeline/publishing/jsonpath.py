"""JSON paths in error messages (``$.overrides[0].set``), one spelling everywhere.

Dependency-free so that the reader's loader can use it without importing the pipeline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

# A key that reads unambiguously after a dot; any other (a model id such as `openai/gpt-5.4`,
# whose dot would read as a path step) is written in brackets, quoted.
PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def json_path(parts: Iterable[str | int]) -> str:
    """``["overrides", 0, "set"]`` → ``$.overrides[0].set``;
    ``["models", "openai/gpt-5.4"]`` → ``$.models["openai/gpt-5.4"]``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif PLAIN_KEY.match(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out
