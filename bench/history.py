"""History and explorer benchmarks (issue 19).

1. History append: 10k models (the real 2026-08-19 records under synthetic ids), N runs
   (default 1,000; ``BENCH_HISTORY_RUNS``) in which ~1% of the models change a price and
   ~0.2% move lifecycle state, each appended exactly as a sync does (``record_run`` into a
   local store). Prints the append time per run and the history's size after the runs
   (referenced segments + index, i.e. after the sweep's prune).
2. Explorer page load at 100k models: ``catalog serve`` over a synthetic 100k-model store,
   Debian's Chromium (Playwright) loads ``/`` and the time to the first table rows and to the
   live table (rows.json fetched, filtered and rendered) are measured.

Targets: append < 1 s per run at 10k models, size < 100 MB after 1,000 runs; first rows
< 2 s at 100k models (the server renders them; the live table's time is reported).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS = 10_000
PAGE_MODELS = 100_000


def bench_append(scratch: Path, runs: int) -> None:
    from bench.reader import real_catalog
    from pipeline.history import log as history_log
    from pipeline.publishing import keys
    from pipeline.publishing.store import LocalStore
    from pipeline.records.catalog import CurrentCatalog
    from pipeline.records.model import Lifecycle, ModelRecord

    base = [ModelRecord.model_validate(m) for m in real_catalog(scratch)["models"]]
    records = []
    for i in range(MODELS):
        r = base[i % len(base)]
        records.append(
            r.model_copy(update={"id": f"{r.id}-syn{i:06d}", "alias": f"{r.alias}-syn{i:06d}"})
        )
    store = LocalStore(scratch / "history")
    rng = random.Random(19)
    previous: CurrentCatalog | None = None
    timings = []
    start = time.perf_counter()
    for run in range(runs):
        current = list(records)
        if run:  # the first run records every model as added
            for index in rng.sample(range(MODELS), MODELS // 100):
                r = current[index]
                price = r.pricing.model_copy(update={"input": (r.pricing.input or 0) + 1})
                current[index] = r.model_copy(update={"pricing": price})
            for index in rng.sample(range(MODELS), MODELS // 500):
                r = current[index]
                state = "stale" if r.lifecycle.state == "active" else "active"
                life = Lifecycle(**{**r.lifecycle.model_dump(), "state": state})
                current[index] = r.model_copy(update={"lifecycle": life})
        stamp = f"2026-{1 + run // 120 % 12:02d}-{1 + run // 4 % 28:02d}T{run % 4 * 6:02d}:00:00Z"
        run_id = f"bench-{run:05d}"
        began = time.perf_counter()
        data = history_log.record_run(
            store,
            previous=previous,
            previous_redirects={},
            records=current,
            redirects={},
            removed=[],
            run_id=run_id,
            observed_at=stamp,
            generated_at=stamp,
        )
        if data is not None:
            store.put(keys.HISTORY, data)  # what publish_set commits, without the rest of the set
        timings.append(time.perf_counter() - began)
        previous = CurrentCatalog(
            generated_at=stamp, run_id=run_id, source="bench", count=len(current), models=current
        )
        records = current
    total = time.perf_counter() - start
    history_log.prune(store)
    size = sum((store.root / k).stat().st_size for k in store.list(keys.HISTORY_SEGMENTS))
    size += (store.root / keys.HISTORY).stat().st_size
    index = json.loads((store.root / keys.HISTORY).read_text())
    steady = statistics.median(timings[1:]) if len(timings) > 1 else timings[0]
    p95 = sorted(timings)[max(0, int(len(timings) * 0.95) - 1)]
    print(
        f"  {runs} runs at {MODELS:,} models in {total:.1f} s: "
        f"first append {timings[0] * 1000:.0f} ms, then median {steady * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms"
    )
    segments = len(index["segments"])
    print(
        f"  history after {runs} runs: {index['events']:,} events in {segments} segment(s), "
        f"{size / 1e6:.1f} MB on the store"
    )
    from bench import targets

    targets.record(
        "history",
        "append per run at 10k models < 1 s",
        f"{steady * 1000:.0f} ms",
        steady < 1.0,
        value=steady,
    )
    targets.record(
        "history",
        f"size after {runs} runs < 100 MB",
        f"{size / 1e6:.1f} MB",
        size < 100e6,
        value=size,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_page(scratch: Path) -> None:
    from bench.reader import real_catalog, synthetic
    from pipeline.publishing import keys

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        print("  page load: skipped (no Chromium or playwright; apt-get install chromium)")
        return
    store = scratch / "page-store"
    current = synthetic(real_catalog(scratch), PAGE_MODELS)
    path = store / keys.CURRENT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current))
    port = _free_port()
    catalog = Path(sys.executable).with_name("catalog")
    server = subprocess.Popen(
        [
            str(catalog),
            "serve",
            "--store",
            str(store),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--refresh-seconds",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/"
        httpx.get(url, timeout=60)  # the first page is built once per catalog version: warm it
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page()
            began = time.perf_counter()
            page.goto(url, wait_until="commit")
            page.wait_for_selector("#rows tr")
            first = time.perf_counter() - began
            page.wait_for_selector('body[data-ready="1"]', state="attached", timeout=120_000)
            live = time.perf_counter() - began
            browser.close()
        print(
            f"  explorer at {PAGE_MODELS:,} models: first rows {first * 1000:.0f} ms, "
            f"live table {live * 1000:.0f} ms"
        )
        from bench import targets

        targets.record(
            "history",
            "explorer first rows at 100k < 2 s",
            f"{first * 1000:.0f} ms",
            first < 2,
            value=first,
        )
    finally:
        server.terminate()
        server.wait(15)


def main(argv: list[str] | None = None) -> None:
    runs = int(os.environ.get("BENCH_HISTORY_RUNS", "1000"))
    with tempfile.TemporaryDirectory(prefix="bench-history-") as scratch:
        bench_append(Path(scratch), runs)
        bench_page(Path(scratch))


if __name__ == "__main__":
    main(sys.argv[1:])
