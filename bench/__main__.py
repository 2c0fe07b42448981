"""`python -m bench`: every benchmark, in one explicit list."""

from __future__ import annotations

import importlib
import sys

from bench import targets

# Module name → what it measures. Each module has a main() that prints its figures.
BENCHMARKS = {
    "bench.core": "core sync: real payloads and synthetic 1k/10k/100k catalogs",
    "bench.capabilities": "share of the sync spent in the capability resolver (414 models)",
    "bench.providers": "providers sync: 14 sources each answering after 1 s (target < 2 s)",
    "bench.breadth": "merge of models.dev, LiteLLM, genai-prices and the provider lists (< 3 s)",
    "bench.offers": "offers stage: 500 models, endpoints answering after 50 ms (target < 5 s)",
    "bench.reader": "reader: import time, load/lookup at 10k/100k, HTTP vs a constant app",
    "bench.history": "history append per run at 10k models, size after 1,000 runs; explorer load",
    "bench.curated_core": "what merging curated-core.json adds to curation (549 and 100k models)",
    "bench.availability": "runtime availability: 10k models × 1k clients, latency and threads",
    "bench.telemetry": "telemetry: intake events/s; daily aggregation of 30 days × 10k models",
    "bench.hardening": "peak RSS: sync vs hostile bodies (< 512 MB), reader flood (< 300 MB)",
}


def main() -> int:
    args = sys.argv[1:]
    check = "--check" in args  # exit 1 when a target missed (`make bench`)
    only = {a for a in args if a != "--check"}  # e.g. `python -m bench core providers`
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
    print("\n### targets")
    for line in targets.table(targets.RESULTS):
        print(line)
    missed = [r for r in targets.RESULTS if not r.ok]
    if missed:
        print(f"{len(missed)} target(s) MISSED: {', '.join(r.target for r in missed)}")
    return 1 if check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
