"""Regular expressions written by people, run in linear time (issue 12).

Override files select models with ``pattern`` (capability overrides, quality scores). Python's
``re`` backtracks: ``^x/(a+)+$`` against an id of 34 ``a``s and a ``!`` runs for hours and
holds the run lease all that time. These patterns are compiled with RE2 instead, whose
matching time is linear in the text whatever the pattern; what RE2 refuses (backreferences,
lookaround) is refused by ``catalog validate`` and by the loader, with RE2's reason.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any, Protocol

import re2


class PatternError(ValueError):
    """RE2 refuses the pattern; the message says why."""


class Match(Protocol):
    def start(self) -> int: ...
    def group(self, index: int = 0) -> str: ...


class Pattern:
    """A compiled user pattern: ``search`` like ``re.Pattern.search``."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: Any = re2.compile(pattern, options=_OPTIONS)

    def search(self, text: str) -> Match | None:
        found: Match | None = self._compiled.search(text)
        return found

    def __repr__(self) -> str:
        return f"Pattern({self.pattern!r})"


_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print its own copy of every refusal to stderr
_OPTIONS.max_mem = 8 << 20  # a pattern needing more than 8 MB of automaton is refused


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Pattern:
    """Compile ``pattern`` with RE2, or raise PatternError with RE2's reason."""
    try:
        return Pattern(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(
            f"RE2 refuses it ({reason}); use a plain regular expression "
            "without backreferences or lookaround"
        ) from exc


def backtrack_risk(pattern: str) -> str | None:
    """Why ``pattern`` could backtrack catastrophically under Python's ``re``, or None.

    For the project's own heuristic patterns, which stay on ``re`` (faster on short ids):
    a quantifier nested inside another quantifier (``(a+)+``) and backreferences are the
    shapes that make ``re`` exponential; tests/test_hardening.py checks every row has neither.
    """
    # The stdlib's own parser: the tree ``re`` actually runs (private, hence untyped).
    _parser: Any = importlib.import_module("re._parser")

    repeats = {_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT}

    def walk(items: Any, inside_repeat: bool) -> str | None:
        for op, arg in items:
            if op in (_parser.GROUPREF, _parser.GROUPREF_EXISTS):
                return "a backreference"
            if op in repeats:
                _low, high, sub = arg
                if inside_repeat and high > 1:
                    return "a quantifier nested in a quantifier"
                found = walk(sub, inside_repeat or high > 1)
            elif op == _parser.SUBPATTERN:
                found = walk(arg[-1], inside_repeat)
            elif op == _parser.BRANCH:
                found = next((r for b in arg[1] if (r := walk(b, inside_repeat))), None)
            elif op in (_parser.ASSERT, _parser.ASSERT_NOT, _parser.ATOMIC_GROUP):
                found = walk(arg[-1] if isinstance(arg, tuple) else arg, inside_repeat)
            else:
                found = None
            if found:
                return found
        return None

    return walk(_parser.parse(pattern), inside_repeat=False)
