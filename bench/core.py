"""Core sync benchmark: real payloads end to end, and synthetic catalogs of 1k/10k/100k models.

Targets (issue 29): the 549-model payload end to end in <= 150 ms of in-process time (the
414-model one keeps issue 2's < 300 ms); 100k models in <= 30 s and <= 1.2 GB peak RSS;
per-model cost at 100k within 1.5x of that at 1k (no quadratic step). Each synthetic size runs
in its own process so that its peak RSS is its own. Every stage's time is printed, so a
slower sync says where the time went.
"""

from __future__ import annotations

import contextlib
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import targets

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "real"
REAL = ["openrouter-models-2026-08-17.json", "openrouter-models-all-2026-08-19.json"]
SIZES = [1_000, 10_000, 100_000]
# Published models → in-process target (ms) for the real payloads.
REAL_TARGET_MS = {414: 300.0, 549: 150.0}
# 100k synthetic models: seconds and peak RSS (MB).
LARGE_TARGET_S = 30.0
LARGE_TARGET_MB = 1200.0


def run_once(
    payload: Path,
    now: str = "2026-08-19T00:00:00Z",
    progress: Callable[[str, float, str], None] | None = None,
) -> dict[str, float]:
    """One in-process sync into a fresh temporary store; returns stage timings in ms.
    ``progress`` is called after each stage, as the CLI's progress display is."""
    from pipeline.config import CatalogConfig
    from pipeline.publishing.store import LocalStore
    from pipeline.runs.sync import SyncRequest, sync_openrouter
    from pipeline.timeutil import parse_iso

    config = CatalogConfig()
    size = payload.stat().st_size
    if size > config.openrouter.max_body_bytes:
        # A 100k-model payload (~164 MB) is over the default body limit (64 MiB), as an
        # operator of such a catalog would configure: raise it to the payload's size.
        bigger = config.openrouter.model_copy(update={"max_body_bytes": size})
        config = config.model_copy(update={"openrouter": bigger})
    with tempfile.TemporaryDirectory() as scratch:
        store = LocalStore(Path(scratch))
        started = time.perf_counter()
        request = SyncRequest(now=parse_iso(now), from_file=payload)
        result = sync_openrouter(store, config, request, progress=progress)
        wall = (time.perf_counter() - started) * 1000
    if not result.published:
        raise SystemExit(f"benchmark sync failed: {result.error}")
    timings = dict(result.report.timings_ms)
    timings["wall"] = wall
    timings["models"] = float(result.report.counts["published"])
    return timings


def synthesize(count: int, target: Path) -> None:
    """A catalog of ``count`` models made by mutating the real 2026-08-19 'all' records."""
    source = json.loads((FIXTURES / "openrouter-models-all-2026-08-19.json").read_bytes())["data"]
    out = []
    for n in range(count):
        record = copy.deepcopy(source[n % len(source)])
        generation = n // len(source)
        if generation:
            record["id"] = f"{record['id']}-syn{generation}"
            record["canonical_slug"] = (
                f"{record.get('canonical_slug') or record['id']}-syn{generation}"
            )
            record["name"] = f"{record['name']} #{generation}"
            pricing = record.get("pricing") or {}
            if pricing.get("prompt") not in (None, "-1", "0"):
                pricing["prompt"] = str(float(pricing["prompt"]) * (1 + generation % 7 / 100))
        out.append(record)
    target.write_text(json.dumps({"data": out}))


class StagePeaks:
    """Each stage's own peak RSS (MB): the process's high-water mark is read and reset after
    every stage (``/proc/self/clear_refs``), so a peak is charged to the stage that made it,
    and the largest is the run's (issue 30: 100k models within 1.2 GB)."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self.before = targets.own_peak_rss_mb()  # imports and the payload read, before any stage
        self._reset()

    def __call__(self, stage: str, elapsed_ms: float, detail: str) -> None:
        self.peaks[stage] = max(self.peaks.get(stage, 0.0), targets.own_peak_rss_mb())
        self._reset()

    def peak(self) -> float:
        return max([self.before, targets.own_peak_rss_mb(), *self.peaks.values()])

    @staticmethod
    def _reset() -> None:
        with contextlib.suppress(OSError):  # not Linux: the peaks are the run's so far
            Path("/proc/self/clear_refs").write_text("5")


def child(payload: str) -> None:
    """Entry point of the per-size subprocess: print timings, own peak RSS and each stage's
    peak as JSON."""
    peaks = StagePeaks()
    timings = run_once(Path(payload), progress=peaks)
    # Its own peak: ru_maxrss would carry over the parent's, which built the synthetic payload.
    timings["peak_rss_mb"] = peaks.peak()
    print(json.dumps({**timings, "stage_peaks_mb": peaks.peaks}))


def _stages(t: dict[str, float]) -> str:
    """Every stage the run report timed, in the order the sync ran them."""
    skip = {"total", "wall", "models", "peak_rss_mb", "stage_peaks_mb"}
    return "  ".join(f"{s} {v:.0f}" for s, v in t.items() if s not in skip)


def main() -> None:
    if not FIXTURES.exists():
        print(f"core: skipped, no fixtures at {FIXTURES}")
        return
    print("== core sync (in-process ms; median of 5 runs after 1 warm-up) ==")
    for name in REAL:
        path = FIXTURES / name
        run_once(path)
        runs = [run_once(path) for _ in range(5)]
        total = statistics.median(r["total"] for r in runs)
        median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        models = int(median["models"])
        limit = REAL_TARGET_MS.get(models)
        mark = "" if limit is None else ("ok" if total <= limit else "MISSED")
        if limit is not None:
            targets.record(
                "core",
                f"{models} real models sync <= {limit:.0f} ms",
                f"{total:.0f} ms",
                total <= limit,
                value=total,
            )
        print(
            f"{name}: {models} models, total {total:.1f} ms "
            f"({total / models * 1000:.0f} µs/model) [{mark}]"
        )
        print(f"    stages: {_stages(median)}")

    print("== synthetic catalogs (one process each) ==")
    per_model: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for size in SIZES:
            payload = Path(scratch) / f"synthetic-{size}.json"
            synthesize(size, payload)
            mb = payload.stat().st_size / 1e6
            proc = subprocess.run(
                [sys.executable, "-m", "bench.core", "--child", str(payload)],
                capture_output=True,
                text=True,
                cwd=REPO,
                check=False,
            )
            if proc.returncode != 0:
                print(f"{size}: failed: {proc.stderr.strip()[-500:]}")
                targets.record("core", f"{size} models sync", "failed", False)
                continue
            t = json.loads(proc.stdout.strip().splitlines()[-1])
            per_model[size] = t["total"] / t["models"]
            print(
                f"{size:>7} models ({mb:.0f} MB payload): total {t['total'] / 1000:.2f} s, "
                f"{per_model[size] * 1000:.0f} µs/model, peak RSS {t['peak_rss_mb']:.0f} MB"
            )
            print(f"    stages: {_stages(t)}")
            peaks = t.get("stage_peaks_mb") or {}
            print(
                "    peak RSS per stage (MB): "
                + "  ".join(f"{s} {v:.0f}" for s, v in peaks.items())
            )
            if size == 100_000:
                seconds, rss = t["total"] / 1000, t["peak_rss_mb"]
                targets.record(
                    "core",
                    f"100k models sync <= {LARGE_TARGET_S:.0f} s",
                    f"{seconds:.1f} s",
                    seconds <= LARGE_TARGET_S,
                    value=seconds,
                )
                targets.record(
                    "core",
                    f"peak RSS at 100k <= {LARGE_TARGET_MB / 1000:.1f} GB",
                    f"{rss:.0f} MB",
                    rss <= LARGE_TARGET_MB,
                    value=rss,
                )
                ok = seconds <= LARGE_TARGET_S and rss <= LARGE_TARGET_MB
                print(
                    f"    targets <= {LARGE_TARGET_S:.0f} s and <= {LARGE_TARGET_MB:.0f} MB: "
                    f"{'ok' if ok else 'MISSED'}"
                )
    if 1_000 in per_model and 100_000 in per_model:
        ratio = per_model[100_000] / per_model[1_000]
        verdict = "ok" if ratio <= 1.5 else "MISSED"
        targets.record(
            "core", "per model 100k / 1k <= 1.5x", f"{ratio:.2f}x", ratio <= 1.5, value=ratio
        )
        print(f"cost per model at 100k / at 1k: {ratio:.2f}x (target <= 1.5x): {verdict}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
