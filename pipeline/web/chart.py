"""The price-history chart of a model page: input and output prices per 1M tokens over time,
as steps, from the model's recorded changes.

This module does the geometry (where each step and point goes in the SVG's coordinates);
``templates/_price_chart.html`` draws it, and lists every point in a table as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.web.figures import usd

SERIES = ("input", "output")
WIDTH, HEIGHT, PAD = 640, 220, 40
"""The SVG's viewBox and the margin kept for the axes' labels."""


@dataclass(frozen=True)
class Step:
    """One series' line: an SVG path of horizontal steps."""

    series: str
    d: str


@dataclass(frozen=True)
class Point:
    """A price that took effect at ``at`` (``usd`` is the number scripts and tests read)."""

    series: str
    at: str
    usd: str
    price: str
    cx: str
    cy: str


@dataclass(frozen=True)
class Row:
    """A line of the data-points table (``price`` is a dash when the price was cleared)."""

    at: str
    series: str
    price: str


@dataclass(frozen=True)
class Chart:
    steps: list[Step]
    """Drawn in this order: the input line last, on top."""
    points: list[Point]
    rows: list[Row]
    start: str
    """The first day shown (left end of the time axis)."""
    end: str
    """The last day shown (right end: the data's time)."""
    top: str
    """The price the top of the value axis stands for."""
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD


def price_series(
    timeline: Sequence[Mapping[str, Any]], name: str
) -> list[tuple[str, float | None]]:
    """(time, value after the event) for every event that set or cleared ``pricing.<name>``."""
    field = f"pricing.{name}"
    points: list[tuple[str, float | None]] = []
    for event in timeline:
        change = event.get("changes", {}).get(field)
        if change is not None:
            points.append((str(event["at"]), None if change[1] is None else float(change[1])))
        elif event.get("event") == "removed":
            points.append((str(event["at"]), None))
    return points


def price_chart(timeline: Sequence[Mapping[str, Any]], end: str) -> Chart | None:
    """The chart of ``timeline`` up to ``end`` (None when no price was ever recorded)."""
    series = {name: price_series(timeline, name) for name in SERIES}
    points = [(at, v) for s in series.values() for at, v in s]
    if not points:
        return None
    values = [v for _, v in points if v is not None]
    times = sorted({at for at, _ in points} | {end})
    start_t = _epoch(times[0])
    end_t = max(_epoch(times[-1]), start_t + 1)
    top = max(values) if values else 1.0
    top = top * 1.1 if top > 0 else 1.0  # headroom above the highest price

    def x(at: str) -> str:
        return f"{PAD + (WIDTH - 2 * PAD) * (_epoch(at) - start_t) / (end_t - start_t):.1f}"

    def y(value: float) -> str:
        return f"{HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top:.1f}"

    steps: list[Step] = []
    marks: list[Point] = []
    rows: list[Row] = []
    for name, pts in series.items():
        path: list[str] = []
        for index, (at, value) in enumerate(pts):
            upto = pts[index + 1][0] if index + 1 < len(pts) else end
            if value is not None:
                path.append(f"M{x(at)},{y(value)}H{x(upto)}")
                marks.append(Point(name, at, repr(value), usd(value), x(at), y(value)))
            rows.append(Row(at, name, usd(value)))
        if path:
            steps.insert(0, Step(name, "".join(path)))
    return Chart(steps, marks, rows, start=times[0][:10], end=end[:10], top=usd(top / 1.1))


def _epoch(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
