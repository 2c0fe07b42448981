"""Breadth (issue 30): merging the three recorded independent catalogs (models.dev, LiteLLM,
genai-prices) with the recorded provider lists into one list per provider.

Targets: the merge (reading every source's list, deciding ~8,000 provider–models, writing ~200
lists, their history and the index) under 3 s and 300 MB peak RSS. The store is prepared first
(the 2026-08-17 OpenRouter catalog and one providers run over the recorded files, served from
127.0.0.1, with its merge); the figure is a fresh merge of that store — every list written, as
on a first run — in its own subprocess, whose peak RSS is the memory figure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import targets

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "real"
TARGET_S = 3.0
TARGET_MB = 300


def _prepare(store_dir: Path) -> None:
    sys.path.insert(0, str(REPO / "tests"))
    from published_lists import publish_breadth

    from pipeline.publishing.store import LocalStore

    publish_breadth(LocalStore(store_dir))


def _fresh(store_dir: Path) -> None:
    """Take away what the merge wrote, so the measured one writes every list."""
    providers = store_dir / "models" / "providers"
    for path in providers.glob("*/current.json"):
        path.unlink()
    for path in (providers / "history.json", providers / "index.json"):
        path.unlink(missing_ok=True)
    shutil.rmtree(providers / "history", ignore_errors=True)


def merge_once(store_dir: str) -> None:
    """In a fresh process: one merge of ``store_dir``; prints its figures as JSON."""
    from pipeline.config import CatalogConfig
    from pipeline.publishing.store import LocalStore
    from pipeline.runs.provider_merge import merge_providers
    from pipeline.runs.providers import openrouter_catalog
    from pipeline.sources.config import load_providers_config
    from pipeline.stages.enrich import OpenRouterIndex
    from pipeline.timeutil import parse_iso

    store = LocalStore(Path(store_dir))
    sources = {name: {} for name in ("modelsdev", "litellm", "genai-prices")}
    config = CatalogConfig(extra={"sources": sources})
    catalog = openrouter_catalog(store)
    index = OpenRouterIndex.build(catalog.models if catalog else [])
    began, cpu = time.perf_counter(), time.process_time()
    outcome = merge_providers(
        store,
        config,
        load_providers_config(config),
        now=parse_iso("2026-08-17T12:00:00Z"),
        run_id="bench",
        results={},
        catalog=lambda: catalog,
        index=lambda: index,
    )
    figures = {
        "seconds": time.perf_counter() - began,
        "cpu": time.process_time() - cpu,
        "rss_mb": targets.own_peak_rss_mb(),
        "providers": outcome.providers,
        "records": outcome.records,
        "written": len(outcome.written),
    }
    print(json.dumps(figures))


def main() -> int:
    if not FIXTURES.is_dir():
        print(f"breadth: skipped, no fixtures at {FIXTURES}")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        store_dir = Path(scratch) / "store"
        began = time.perf_counter()
        _prepare(store_dir)
        prepared = time.perf_counter() - began
        print(f"  prepared: catalog, 12 provider lists, 3 catalogs in {prepared:.1f} s")
        _fresh(store_dir)
        run = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from bench.breadth import merge_once; merge_once({str(store_dir)!r})",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    seconds, rss = figures["seconds"], figures["rss_mb"]
    ok_time, ok_rss = seconds < TARGET_S, rss < TARGET_MB
    print(
        f"breadth merge: {figures['providers']} provider lists, {figures['records']:,} records "
        f"({figures['written']} written) in {seconds:.2f} s wall, {figures['cpu']:.2f} s CPU, "
        f"peak RSS {rss:.0f} MB (targets < {TARGET_S:.0f} s, < {TARGET_MB} MB) "
        f"[{'ok' if ok_time and ok_rss else 'MISSED'}]"
    )
    targets.record(
        "breadth",
        f"merge of 3 catalogs + native lists < {TARGET_S:.0f} s",
        f"{seconds:.2f} s",
        ok_time,
        value=seconds,
    )
    targets.record(
        "breadth", f"merge peak RSS < {TARGET_MB} MB", f"{rss:.0f} MB", ok_rss, value=rss
    )
    return 0 if ok_time and ok_rss else 1
