"""How much the capability resolver adds to a sync (issue 3 target: under 20%).

Syncs the recorded 414-model payload (openrouter-models-2026-08-17.json) from file into a fresh
local store, with the repository's override files loaded as an operator run would, several
times, and prints the median in-process time of the whole run and of its "capabilities" stage.
"Adds" is the stage's time over the rest of the run: what the sync would cost without it.

    .venv/bin/python -m bench.capabilities [RUNS]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench import targets
from pipeline.config import CatalogConfig
from pipeline.overrides.files import REPO_OVERRIDES, load_overrides
from pipeline.publishing.store import LocalStore
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.timeutil import parse_iso

PAYLOAD = "openrouter-models-2026-08-17.json"
FIXTURES = Path(
    os.environ.get(
        "CATALOG_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"
    )
)


def measure(runs: int = 15) -> dict[str, float]:
    """Median milliseconds of the whole sync and of its capabilities stage."""
    payload = FIXTURES / PAYLOAD
    if not payload.exists():
        raise SystemExit(f"{payload} not found (set CATALOG_FIXTURES or put ../shared beside)")
    overrides = load_overrides(REPO_OVERRIDES)
    totals: list[float] = []
    stages: list[float] = []
    for _ in range(runs + 1):  # the first run warms imports and caches; it is not counted
        with tempfile.TemporaryDirectory() as scratch:
            result = sync_openrouter(
                LocalStore(Path(scratch)),
                CatalogConfig(),
                SyncRequest(
                    now=parse_iso("2026-08-17T06:00:00Z"), from_file=payload, overrides=overrides
                ),
            )
        if not result.published:
            raise SystemExit(f"sync failed: {result.error}")
        totals.append(result.report.timings_ms["total"])
        stages.append(result.report.timings_ms["capabilities"])
    total = statistics.median(totals[1:])
    stage = statistics.median(stages[1:])
    return {"total_ms": total, "capabilities_ms": stage, "models": result.report.counts["listed"]}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    runs = int(args[0]) if args else 15
    figures = measure(runs)
    total, stage = figures["total_ms"], figures["capabilities_ms"]
    adds = stage / (total - stage)
    print(
        f"capabilities: {PAYLOAD} ({figures['models']:.0f} models), median of {runs} syncs: "
        f"sync {total:.1f} ms, resolver {stage:.1f} ms = {stage / total:.1%} of the sync, "
        f"adds {adds:.1%} to the rest (target < 20%: {'ok' if adds < 0.20 else 'MISSED'})"
    )
    ok = targets.record(
        "capabilities", "resolver adds < 20%", f"{adds:.1%}", adds < 0.20, value=adds
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
