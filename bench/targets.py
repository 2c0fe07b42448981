"""The targets every benchmark checks, collected for the closing table of ``python -m bench``.

A benchmark calls ``record(target, figure, ok)`` where it decides a verdict; ``__main__``
prints every recorded target with its figure and ``ok``/``MISSED`` at the end, and with
``--check`` exits 1 when one missed (or a benchmark crashed before recording its targets).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One target and what this run measured against it."""

    bench: str
    target: str
    figure: str
    ok: bool


RESULTS: list[Result] = []


def record(bench: str, target: str, figure: str, ok: bool) -> bool:
    """Remember one verdict for the closing table; returns ``ok``."""
    RESULTS.append(Result(bench, target, figure, ok))
    return ok


def table(results: list[Result]) -> list[str]:
    """The closing table, one line per target."""
    if not results:
        return ["no target was measured"]
    widths = [
        max(len(h), *(len(c) for c in cells))
        for h, cells in zip(
            ("bench", "target", "figure"),
            zip(*((r.bench, r.target, r.figure) for r in results), strict=True),
            strict=True,
        )
    ]
    header = ("bench", "target", "figure", "verdict")
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(header, [*widths, 7], strict=True))]
    for r in results:
        cells = (r.bench, r.target, r.figure)
        row = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        lines.append(f"{row}  {'ok' if r.ok else 'MISSED'}")
    return lines
