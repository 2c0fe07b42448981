"""Curated core benchmark: what merging overrides/curated-core.json adds to curation.

Curation with the shipped core vs without it, on the embedded 549-model catalog and on a
synthetic 100k-model one (the same records repeated under new ids). Target: the core adds
less than 20 ms at 549 models and grows no faster than the catalog (it is one dict build and
one pass per entry; the lazy resolution index is only built when an entry is deprecated).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench import targets

TARGET_MS = 20.0


def _median_ms(fn: Any, runs: int = 5) -> float:
    fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    from pipeline.config import CatalogConfig, curation_config
    from pipeline.overrides.files import load_overrides
    from pipeline.records.catalog import CurrentCatalog
    from pipeline.runs import fallback
    from pipeline.stages import curate
    from pipeline.timeutil import parse_iso

    overrides = load_overrides(fallback.embedded_path().parents[1].parent / "overrides")
    settings = curation_config(CatalogConfig())
    base = fallback.load_embedded()
    now = parse_iso("2026-08-19T06:00:00Z")

    def curated(catalog: CurrentCatalog, with_core: bool) -> None:
        curate.build_curated(
            catalog,
            now=now,
            run_id="bench",
            config=settings,
            core=overrides.core if with_core else None,
        )

    print(f"== curation with the shipped core ({len(overrides.core)} entries), median ms ==")
    for size in (len(base.models), 100_000):
        if size == len(base.models):
            catalog = base
        else:
            models = [
                m.model_copy(update={"id": f"{m.id}-syn{n // len(base.models)}", "alias": f"a{n}"})
                if n >= len(base.models)
                else m
                for n, m in ((n, base.models[n % len(base.models)]) for n in range(size))
            ]
            catalog = base.model_copy(update={"models": models, "count": size})
        runs = 5 if size < 10_000 else 1
        without = _median_ms(lambda c=catalog: curated(c, False), runs)
        with_core = _median_ms(lambda c=catalog: curated(c, True), runs)
        added = with_core - without
        mark = ("ok" if added < TARGET_MS else "OVER TARGET") if size < 10_000 else ""
        if mark:
            targets.record(
                "curated_core",
                f"core adds < {TARGET_MS:.0f} ms",
                f"{added:+.1f} ms",
                mark == "ok",
                value=max(added, 0.0),
            )
        print(
            f"{size:>7} models: without core {without:.1f} ms, with core {with_core:.1f} ms, "
            f"core adds {added:+.1f} ms"
            + (f" (target < {TARGET_MS:.0f} ms): {mark}" if mark else "")
        )


if __name__ == "__main__":
    main()
