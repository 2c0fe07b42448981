"""Hardening figures (issues 12 and 27): peak memory of a sync against each hostile body, of
the reader under 10,000 requests with random cursors and filters and under the Atom feed and
explorer pages asked for with a new ``Host`` header each time, and of `catalog serve` under
each flood a hostile insider can send (``bench.insiders``: token holders of the telemetry
intake and the runtime API, and nobody at all).

Targets: every sync under 512 MB peak RSS; the reader under 300 MB; `catalog serve` under the
insider floods under 300 MB resident, every limit holding. Each figure is the memory of its
own subprocess. Prints figures and which target missed; never asserts.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from hostile import (  # noqa: E402
    Answer,
    HostileUpstream,
    deep,
    endless,
    many_items,
    reader_flood,
    run_cli,
    write_config,
)

FIXTURES = REPO.parent / "shared" / "fixtures" / "real"
SYNC_LIMIT_MB = 512
READER_LIMIT_MB = 300
READER_REQUESTS = 10_000

BODIES = {
    "real payload (2026-08-19, all modalities)": lambda: Answer(
        body=(FIXTURES / "openrouter-models-all-2026-08-19.json").read_bytes()
    ),
    '{"data": [1, 1, …]} with 1M items': lambda: Answer(body=many_items(1_000_000)),
    "nesting 100k levels deep": lambda: Answer(body=deep(100_000)),
    "100k unclosed brackets": lambda: Answer(body=b'{"data": ' + b"[" * 100_000),
    "200 MB body, no Content-Length": lambda: Answer(body=endless(200 << 20)),
}


def main() -> None:
    missed: list[str] = []
    print(f"sync against hostile bodies (target < {SYNC_LIMIT_MB} MB peak RSS):")
    for name, make in BODIES.items():
        with tempfile.TemporaryDirectory() as tmp, HostileUpstream() as upstream:
            upstream.answer = make()
            config = write_config(Path(tmp) / "c.yaml", upstream.url)
            run = run_cli(
                ["sync", "openrouter", "--store", f"{tmp}/store", "--config", str(config)],
                timeout=600,
            )
        mark = "ok" if run.peak_rss_mb < SYNC_LIMIT_MB else "MISSED"
        if mark != "ok":
            missed.append(name)
        print(
            f"  {name:<45} {run.peak_rss_mb:7.1f} MB  {run.seconds:6.1f} s  exit {run.code}  {mark}"
        )

    print(
        f"reader under {READER_REQUESTS} random cursor/filter requests, then {READER_REQUESTS} "
        f"feed and page requests each with a new Host (target < {READER_LIMIT_MB} MB peak RSS):"
    )
    with tempfile.TemporaryDirectory() as tmp:
        payload = FIXTURES / "openrouter-models-all-2026-08-19.json"
        published = run_cli(
            [
                "sync",
                "openrouter",
                "--store",
                f"{tmp}/store",
                "--from-file",
                str(payload),
                "--now",
                "2026-08-19T06:00:00Z",
            ]
        )
        if published.code != 0:
            print(f"  could not publish the catalog: {published.stderr[-300:]}")
            return
        for mode, label in (("filters", "reader flood"), ("feed-hosts", "feed under new Hosts")):
            done, figures = reader_flood(
                f"{tmp}/store", READER_REQUESTS, 12, timeout=3600, check=False, mode=mode
            )
            peak = float(figures.get("peak_rss_mb", "nan"))
            mark = "ok" if peak < READER_LIMIT_MB else "MISSED"
            if mark != "ok":
                missed.append(label)
            print(f"  {label:<22} {done.stdout.strip() or done.stderr[-300:]}  {mark}")

    from bench import insiders, targets

    rows, peak, votes = insiders.measure()
    print(
        f"catalog serve under insider floods (target < {insiders.SERVE_LIMIT_MB} MB resident, "
        "every limit holding):"
    )
    for name, rss, seconds, bad in rows:
        mark = "ok" if not bad else "MISSED: " + "; ".join(bad)
        print(f"  {name:<34} {rss:7.1f} MB  {seconds:6.1f} s  {mark}")
        if bad:
            missed.append(name)
    print(f"  peak resident memory over every flood: {peak:.0f} MB")
    print("  supportsTools after one identity's vote flood: " + ("; ".join(votes) or "kept"))
    ok = peak < insiders.SERVE_LIMIT_MB and not votes and not any(bad for *_, bad in rows)
    targets.record(
        "hardening",
        f"catalog serve under insider floods < {insiders.SERVE_LIMIT_MB} MB, limits hold",
        f"{peak:.0f} MB peak",
        ok,
        value=peak,
    )
    if peak >= insiders.SERVE_LIMIT_MB:
        missed.append("catalog serve memory under insider floods")
    missed += votes
    print("targets missed: " + (", ".join(missed) if missed else "none"))
