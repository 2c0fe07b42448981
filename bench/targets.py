"""The targets every benchmark checks, and their comparison with the recorded baseline.

How a benchmark reports a line (this is all a new bench needs to do)::

    from bench import targets
    targets.record("reader", "load at 100k < 1.5 s", f"{s:.2f} s", s < 1.5, value=s)

- ``bench`` and ``target`` name the line; together they are its key in ``bench/baseline.json``,
  so keep the text stable (changing it, threshold included, makes a new line).
- ``figure`` is what the table prints; ``ok`` is the verdict against the target.
- ``value`` is the number compared with the baseline (any unit, the same every run); lower is
  better unless ``higher_is_better=True`` (throughputs). A line without a value has no baseline.

``python -m bench`` prints the machine it runs on, every figure, then one table: each line with
its figure, its verdict (``ok``/``MISSED``) and its change against the baseline. A value more
than 20% worse than its baseline is a ``REGRESSION``. With ``--check`` (what ``make bench``
runs) the exit status is 1 when a target missed, a line regressed or a benchmark crashed.

The baseline is updated on purpose, in a commit of its own: ``python -m bench
--update-baseline`` (optionally with bench names, e.g. ``python -m bench reader
--update-baseline``) runs the benches and writes their values into ``bench/baseline.json``,
keeping the lines of benches it did not run.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BASELINE = Path(__file__).resolve().parent / "baseline.json"
# A value this much worse than its baseline is reported as a regression.
TOLERANCE = 0.20


@dataclass(frozen=True)
class Result:
    """One target and what this run measured against it."""

    bench: str
    target: str
    figure: str
    ok: bool
    value: float | None = None
    higher_is_better: bool = False

    @property
    def key(self) -> str:
        return f"{self.bench}: {self.target}"


RESULTS: list[Result] = []


def record(
    bench: str,
    target: str,
    figure: str,
    ok: bool,
    *,
    value: float | None = None,
    higher_is_better: bool = False,
) -> bool:
    """Remember one verdict for the closing table; returns ``ok``."""
    RESULTS.append(Result(bench, target, figure, ok, value, higher_is_better))
    return ok


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU model, cores, Python, load average."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load": [round(x, 2) for x in load],
    }


def describe(m: dict[str, Any]) -> str:
    load = " ".join(f"{x:.2f}" for x in m["load"])
    return (
        f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['system']}, load average {load}"
    )


def read_baseline(path: Path | None = None) -> dict[str, Any]:
    """The recorded baseline (``BASELINE``); an empty one when none was recorded yet."""
    path = path or BASELINE
    try:
        document: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return {"lines": {}}
    except (OSError, ValueError) as exc:
        print(f"bench: {path} is unreadable ({exc}); comparing with nothing", file=sys.stderr)
        return {"lines": {}}
    return document


def write_baseline(results: list[Result], path: Path | None = None) -> int:
    """Record this run's values as the baseline; lines of benches not run are kept."""
    path = path or BASELINE
    document = read_baseline(path)
    lines: dict[str, Any] = dict(document.get("lines", {}))
    written = 0
    for r in results:
        if r.value is not None:
            lines[r.key] = {"value": r.value, "figure": r.figure}
            written += 1
    document = {
        "recorded": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "tolerance": TOLERANCE,
        "lines": dict(sorted(lines.items())),
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return written


def change(result: Result, baseline: dict[str, Any]) -> tuple[str, bool]:
    """This line against its baseline: (text for the table, True when it regressed)."""
    entry = baseline.get("lines", {}).get(result.key)
    if result.value is None:
        return ("-", False)
    if not entry:
        return ("new", False)
    before = float(entry["value"])
    if before == 0:
        return ("=" if result.value == 0 else "from 0", False)
    delta = (result.value - before) / abs(before)
    worse = -delta if result.higher_is_better else delta
    text = f"{delta:+.0%} vs {entry.get('figure', before)}"
    if worse > TOLERANCE:
        return (f"REGRESSION {text}", True)
    return (text, False)


def table(results: list[Result], baseline: dict[str, Any] | None = None) -> list[str]:
    """The closing table, one line per target."""
    if not results:
        return ["no target was measured"]
    baseline = baseline if baseline is not None else {"lines": {}}
    header = ("bench", "target", "figure", "verdict", "vs baseline")
    rows = [
        (r.bench, r.target, r.figure, "ok" if r.ok else "MISSED", change(r, baseline)[0])
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return lines


def regressions(results: list[Result], baseline: dict[str, Any]) -> list[Result]:
    return [r for r in results if change(r, baseline)[1]]


def own_peak_rss_mb() -> float:
    """This process's own peak RSS in MB (VmHWM of its memory map). ``ru_maxrss`` would not do
    for a bench's child process: Linux carries the parent's peak into it across fork and exec,
    so a child started after the parent built a large input was charged for that input."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
