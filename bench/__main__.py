"""`python -m bench`: every benchmark, in one explicit list.

    python -m bench                      # every bench, figures and the closing table
    python -m bench core cli             # only these benches
    python -m bench --check              # exit 1 on a missed target, a regression or a crash
    python -m bench --update-baseline    # record this run's values in bench/baseline.json

`make bench` runs `python -m bench --check`. bench/targets.py says how a line is recorded and
how the baseline works.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile

from bench import targets

# Module name → what it measures. Each module has a main() that prints its figures.
BENCHMARKS = {
    "bench.core": "core sync: real payloads and synthetic 1k/10k/100k catalogs",
    "bench.cli": "CLI start: whole processes, median of several runs, vs a bare interpreter",
    "bench.capabilities": "share of the sync spent in the capability resolver (414 models)",
    "bench.providers": "providers sync: 14 sources each answering after 1 s (target < 1.1 s)",
    "bench.breadth": "merge of models.dev, LiteLLM, genai-prices and the provider lists (< 3 s)",
    "bench.offers": "offers stage: 500 models, endpoints answering after 50 ms (target < 5 s)",
    "bench.reader": "reader: import time, load/lookup at 10k/100k, HTTP vs a constant app",
    "bench.peers": "same run: ours vs LiteLLM and genai-prices (import, get, cost)",
    "bench.history": "history append per run at 10k models, size after 1,000 runs; explorer load",
    "bench.curated_core": "what merging curated-core.json adds to curation (549 and 100k models)",
    "bench.availability": "runtime availability: 10k models × 1k clients, latency and threads",
    "bench.telemetry": "telemetry: intake events/s; daily aggregation of 30 days × 10k models",
    "bench.hardening": "peak RSS: sync vs hostile bodies (< 512 MB), reader flood (< 300 MB)",
}
OPTIONS = {"--check", "--update-baseline"}


def _run(only: set[str]) -> None:
    """Run the named benches (all when ``only`` is empty), each in turn."""
    for module, what in BENCHMARKS.items():
        name = module.split(".")[-1]
        if only and name not in only:
            continue
        print(f"\n### {module}: {what}", flush=True)
        sys.argv = [module]  # modules may read their own options; they get none from here
        try:
            importlib.import_module(module).main()
        except Exception as exc:  # one broken bench must not hide the others' figures
            print(f"{module} crashed: {type(exc).__name__}: {exc}", flush=True)
            targets.record(name, "runs to the end", f"crashed: {type(exc).__name__}", False)


def main() -> int:
    args = sys.argv[1:]
    check = "--check" in args
    update = "--update-baseline" in args
    only = {a for a in args if a not in OPTIONS}  # e.g. `python -m bench core providers`
    known = {m.split(".")[-1] for m in BENCHMARKS}
    if only - known:
        print(f"unknown bench(es): {', '.join(sorted(only - known))}; known: {sorted(known)}")
        return 2
    print(f"machine: {targets.describe(targets.machine())}", flush=True)
    # The reader keeps the schema passes of what it loaded in the user's cache (docs/reader.md):
    # the benches get an empty one of their own, so a first load checks in full on every run.
    before = os.environ.get("CATALOG_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        os.environ["CATALOG_CACHE_DIR"] = cache
        try:
            _run(only)
        finally:
            if before is None:
                os.environ.pop("CATALOG_CACHE_DIR", None)
            else:
                os.environ["CATALOG_CACHE_DIR"] = before
    baseline = targets.read_baseline()
    recorded = baseline.get("recorded", "never")
    print(f"\n### targets (baseline recorded {recorded}, regression when > 20% worse)")
    print(f"machine at the end: {targets.describe(targets.machine())}")
    for line in targets.table(targets.RESULTS, baseline):
        print(line)
    missed = [r for r in targets.RESULTS if not r.ok]
    regressed = targets.regressions(targets.RESULTS, baseline)
    if missed:
        print(f"{len(missed)} target(s) MISSED: {', '.join(r.key for r in missed)}")
    if regressed:
        print(f"{len(regressed)} REGRESSION(S) vs baseline: {', '.join(r.key for r in regressed)}")
    if update:
        written = targets.write_baseline(targets.RESULTS)
        where = targets.BASELINE
        print(f"baseline: {written} line(s) written to {where}; commit it on its own")
    return 1 if check and (missed or regressed) else 0


if __name__ == "__main__":
    sys.exit(main())
