"""`python -m bench`: every benchmark, in one explicit list."""

from __future__ import annotations

import importlib
import sys

# Module name → what it measures. Each module has a main() that prints its figures.
BENCHMARKS = {
    "bench.core": "core sync: real payloads and synthetic 1k/10k/100k catalogs",
    "bench.capabilities": "share of the sync spent in the capability resolver (414 models)",
    "bench.providers": "providers sync: 14 sources each answering after 1 s (target < 2 s)",
    "bench.reader": "reader: import time, load/lookup at 10k/100k, HTTP vs a constant app",
    "bench.hardening": "peak RSS: sync vs hostile bodies (< 512 MB), reader flood (< 300 MB)",
}


def main() -> None:
    only = set(sys.argv[1:])  # e.g. `python -m bench core providers`
    for module, what in BENCHMARKS.items():
        if only and module.split(".")[-1] not in only:
            continue
        print(f"\n### {module}: {what}", flush=True)
        sys.argv = [module]  # modules may read their own options; they get none from here
        importlib.import_module(module).main()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
