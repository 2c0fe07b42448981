"""CLI start: whole ``catalog`` processes, median of several runs, against a bare interpreter.

Targets (issue 29): ``catalog --version`` and ``catalog --help`` < 100 ms; ``catalog status``
and ``catalog list --limit 20`` < 250 ms on the quick start's store (``syncmodels all
--offline-ok`` into a fresh directory, as README's quick start does: without network it
publishes the embedded catalog). Each command runs as the installed console script does, with
bytecode caches allowed (a first run writes them, as an installed package has them), so the
figure is start-up and work, not compilation. Likewise the reader's kept schema passes
(docs/reader.md): the warm-up run keeps them, in a cache directory of the bench's own, and the
measured runs read the same bytes as a user's repeated commands do.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import targets

RUNS = 7
BIN = Path(sys.executable).parent
# (what the table calls it, the argv after the interpreter or the script, target in ms)
COMMANDS: list[tuple[str, list[str], float]] = [
    ("catalog --version", [str(BIN / "catalog"), "--version"], 100.0),
    ("catalog --help", [str(BIN / "catalog"), "--help"], 100.0),
    ("catalog status", [str(BIN / "catalog"), "status"], 250.0),
    ("catalog list --limit 20", [str(BIN / "catalog"), "list", "--limit", "20"], 250.0),
]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what an installed CLI does
    env.pop("CATALOG_STORE", None)  # the quick start's ./catalog-data
    env.pop("CATALOG_CONFIG", None)
    return env


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Median wall time in ms of ``RUNS`` runs of ``argv`` after one warm-up run."""
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        times.append((time.perf_counter() - began) * 1000)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-300:]!r}")
    return statistics.median(times)


def main() -> None:
    env = _env()
    with tempfile.TemporaryDirectory() as scratch:
        cwd = Path(scratch)
        env["CATALOG_CACHE_DIR"] = str(cwd / "cache")  # not the user's cache
        print("quick start store: syncmodels all --offline-ok (once) ...", flush=True)
        setup = subprocess.run(
            [str(BIN / "syncmodels"), "all", "--offline-ok"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if setup.returncode != 0:
            print(f"cli: the quick start failed ({setup.returncode}): {setup.stderr[-500:]}")
            targets.record("cli", "quick start store", "failed", False)
            return
        bare = timed([sys.executable, "-c", "pass"], cwd, env)
        print(f"bare interpreter (python -c pass): {bare:.0f} ms (median of {RUNS})")
        for name, argv, limit in COMMANDS:
            ms = timed(argv, cwd, env)
            ok = ms < limit
            print(
                f"{name:<24} {ms:6.0f} ms  ({ms / bare:4.1f}x bare; target < {limit:.0f} ms) "
                f"[{'ok' if ok else 'MISSED'}]"
            )
            targets.record("cli", f"{name} < {limit:.0f} ms", f"{ms:.0f} ms", ok, value=ms)


if __name__ == "__main__":
    main()
