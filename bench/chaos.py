"""`make chaos`: randomized faulted runs against one store, checking invariants after each.

    python -m bench.chaos [--runs 200] [--seed 12] [--store DIR] [--insiders 30]

Each run is ``catalog sync openrouter`` in a subprocess against a hostile upstream on
127.0.0.1 (tests/hostile.py), with a random mix of faults: a hostile or broken body (hostile
ids and names included), an upstream error, a trickle against a short deadline, a key with
stray whitespace or a control character, a garbled lock, bindings or status file planted
first, a ``--from-file`` that is a FIFO or ``/dev/zero``, and a SIGKILL at a random moment.
Some runs then export the explorer or rebuild the history, killed at random too
(bench/chaos_surfaces.py, issue 27). The store is shared by all runs, so kills and garbage
accumulate as they would in production. After every run the invariants below are checked; the
counts are printed at the end and the exit status is 1 if any invariant was ever violated.

Then come the hostile insiders (issue 27, ``bench.insiders``): a `catalog serve` with three
telemetry and two gateway identities takes ``--insiders`` floods drawn at random (bodies sent
without a token, bodies over their caps, deep JSON, one identity's series, memo, runtime-client
and OTLP-attribute floods, suspend/resume churn, one identity voting against two), each checked
for its own limits, no 5xx, a live server under its memory bound; and at the end the curated
refresh must keep the flag the lone identity voted against.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import hostile  # noqa: E402
from hostile import Answer, HostileUpstream, deep, endless, many_items  # noqa: E402

from bench import chaos_surfaces  # noqa: E402
from pipeline.publishing import keys, publish  # noqa: E402
from pipeline.publishing.store import LocalStore  # noqa: E402
from pipeline.registry.loader import load_set  # noqa: E402

FIXTURES = REPO.parent / "shared" / "fixtures" / "real"
PAYLOADS = ["openrouter-models-2026-08-17.json", "openrouter-models-2026-08-19.json"]
KEY = "sk-or-v1-" + "c0ffee" * 10
MEMORY_LIMIT_MB = 512
RUN_SECONDS_LIMIT = 120
PEAKS: list[float] = []


def _real(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _bad_values(rng: random.Random) -> bytes:
    document = json.loads(_real(rng.choice(PAYLOADS)))
    victims = rng.sample(range(len(document["data"])), 5)
    hostile_prices = ["1e22", "-5", "NaN", "-0", "1e-400", "Infinity", "x" * 200, "0x10"]
    for index in victims:
        document["data"][index]["pricing"]["prompt"] = rng.choice(hostile_prices)
    text = json.dumps(document)
    # Numbers no JSON library writes: a 25-digit integer and 1e400.
    evil = (
        '{"id": "evil/bigint", "context_length": 9999999999999999999999999},'
        '{"id": "evil/overflow", "created": 1e400},'
    )
    return text.replace('"data": [', '"data": [' + evil, 1).encode()


# Scenario name → (weight, answer factory, extra openrouter config).
Scenario = tuple[int, Callable[[random.Random], Answer], dict[str, Any]]
SCENARIOS: dict[str, Scenario] = {
    "real": (6, lambda r: Answer(body=_real(r.choice(PAYLOADS))), {}),
    "bad-values": (3, lambda r: Answer(body=_bad_values(r)), {}),
    "million-items": (1, lambda r: Answer(body=many_items(1_000_000)), {}),
    "deep-nesting": (1, lambda r: Answer(body=deep(r.choice([65, 10_000, 100_000]))), {}),
    "unclosed": (1, lambda r: Answer(body=b'{"data": ' + b"[" * 100_000), {}),
    "oversized": (1, lambda r: Answer(body=endless(24 << 20)), {"max_body_bytes": 8 << 20}),
    "truncated": (1, lambda r: Answer(body=_real(PAYLOADS[0])[: r.randint(1, 50_000)]), {}),
    "html": (1, lambda r: Answer(body=b"<html>502 Bad Gateway</html>"), {}),
    "http-500": (1, lambda r: Answer(status=500, body=b'{"error": "x"}'), {}),
    "http-401": (1, lambda r: Answer(status=401, body=b'{"error": "x"}'), {}),
    "trickle": (
        1,
        lambda r: Answer(body=_real(PAYLOADS[0])[:3000], delay_per_chunk=0.01),
        {"fetch_deadline_seconds": 1.5},
    ),
    "hostile-ids": (
        2,
        lambda r: Answer(body=chaos_surfaces.hostile_ids_body(r, r.choice(PAYLOADS))),
        {},
    ),
}

HOSTILE_FILES: dict[str, tuple[str, bytes]] = {
    "lock-garbage-expiry": (keys.LOCK, hostile.GARBAGE_EXPIRY_LOCK),
    "lock-deep": (keys.LOCK, b"[" * 100_000),
    "bindings-deep": (f"{keys.BINDINGS}chaos.json", b"[" * 100_000),
    "bindings-wrong-type": (f"{keys.BINDINGS}chaos.json", b'{"x/y": "many"}'),
    "status-garbage": (keys.STATUS, b"\x00\xff" * 1000),
}

KEY_FORMS = {
    "none": None,
    "clean": KEY,
    "newline": KEY + "\n",
    "spaces": f"  {KEY}\t",
    "control": KEY[:15] + "\x01" + KEY[15:],
}


class Invariants:
    """Counts of each invariant checked and violated, with the first few violations."""

    def __init__(self) -> None:
        self.checked: Counter[str] = Counter()
        self.violated: Counter[str] = Counter()
        self.examples: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checked[name] += 1
        if not ok:
            self.violated[name] += 1
            if len(self.examples) < 20:
                self.examples.append(f"{name}: {detail}")


def _leaks(blobs: dict[str, bytes]) -> list[str]:
    needles = [KEY.encode(), KEY[:15].encode() + b"\x01", KEY[16:].encode()]
    return [name for name, data in blobs.items() if any(n in data for n in needles)]


def one_run(
    rng: random.Random, index: int, root: Path, upstream: HostileUpstream, inv: Invariants
) -> dict[str, str]:
    scenario = rng.choices(list(SCENARIOS), weights=[s[0] for s in SCENARIOS.values()])[0]
    _, make_answer, limits = SCENARIOS[scenario]
    upstream.answer = make_answer(rng)
    planted = rng.choice(["none", "none", *HOSTILE_FILES])
    if planted != "none":
        key, data = HOSTILE_FILES[planted]
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    key_form = rng.choice(list(KEY_FORMS))
    # A run takes 1-5 s (interpreter start included): kills land anywhere from start-up to
    # publish, whatever the machine's load.
    kill_after = rng.uniform(0.3, 2.5) if rng.random() < 0.3 else None

    config = root.parent / "chaos.yaml"
    lines = ["openrouter:", f"  url: {upstream.url!r}", "  max_attempts: 1"]
    lines += [f"  {k}: {v!r}" for k, v in limits.items()]
    # A short lease: a killed run blocks the next ones for seconds, not 15 minutes.
    lines += ["jobs:", "  lease_ttl_seconds: 3", "  lease_renew_seconds: 1"]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    if KEY_FORMS[key_form] is not None:
        env["OPENROUTER_API_KEY"] = KEY_FORMS[key_form]  # type: ignore[assignment]
    day = 1 + index // 24
    now = f"2026-09-{min(day, 28):02d}T{index % 24:02d}:00:00Z"
    args = ["sync", "openrouter", "--store", str(root), "--config", str(config), "--now", now]
    source, from_file = chaos_surfaces.file_input_args(rng, root.parent)
    args += from_file

    had_catalog = (root / "models/openrouter/current.json").exists()
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", hostile.CLI_WRAPPER, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    killed = False
    try:
        out, err = process.communicate(timeout=kill_after or RUN_SECONDS_LIMIT)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        out, err = process.communicate()
        killed = True
    seconds = time.monotonic() - began
    code = process.returncode

    files = hostile.store_bytes(root)
    stderr = err.decode("utf-8", "replace")
    leaks = _leaks({**files, "stdout": out, "stderr": err})
    inv.check("no secret in store, stdout or stderr", not leaks, f"run {index}: {leaks}")
    if killed and kill_after is None:
        inv.check(f"run finishes within {RUN_SECONDS_LIMIT}s", False, f"run {index} {scenario}")
    if not killed:
        inv.check(f"run finishes within {RUN_SECONDS_LIMIT}s", seconds < RUN_SECONDS_LIMIT)
        inv.check("exit code is 0, 1, 2 or 3", code in (0, 1, 2, 3), f"run {index}: {code}")
        inv.check("no traceback on stderr", "Traceback" not in stderr, stderr[-500:])
        peak = next(
            (int(x.split()[1]) / 1024 for x in stderr.splitlines() if x.startswith("PEAK_RSS")),
            0.0,
        )
        PEAKS.append(peak)
        inv.check(f"peak RSS < {MEMORY_LIMIT_MB} MB", 0 < peak < MEMORY_LIMIT_MB, f"{peak:.0f}")
        if code != 3:  # 3: a killed run's lease had not lapsed yet, and is left to lapse
            inv.check("lease released", keys.LOCK not in files, f"run {index} {scenario}")
        store = LocalStore(root)
        if code != 3:  # a run that got the lease repaired any kill before it
            inv.check(
                "well-known files match the manifest",
                publish.well_known_mismatches(store) == [],
                str(publish.well_known_mismatches(store)),
            )
        if (root / keys.MANIFEST).exists():
            try:
                load_set(store)
                loadable = True
            except Exception as exc:
                loadable = False
                stderr = f"{type(exc).__name__}: {exc}"
            inv.check("published set loads and validates", loadable, stderr[:300])
        inv.check(
            "a catalog, once published, is never lost",
            not had_catalog or (root / "models/openrouter/current.json").exists(),
        )
        try:
            status = json.loads(files.get(keys.STATUS, b"{}") or b"{}")
        except ValueError:
            status = {}
        inv.check(
            "status records the run",
            "openrouter" in status.get("jobs", {}),
            f"run {index} {scenario}",
        )
        # A locked run never reads the key; nor does one that replays a file.
        if key_form == "control" and code != 3 and source == "network":
            entry = status.get("jobs", {}).get("openrouter", {})
            inv.check(
                "a key with a control character is named, not shown",
                "OPENROUTER_API_KEY" in json.dumps(entry),
                f"run {index} {scenario} exit {code}: {json.dumps(entry)[:300]}",
            )
    return {
        "scenario": scenario,
        "planted": planted,
        "key": key_form,
        "input": source,
        "end": "killed" if killed else f"exit {code}",
        **chaos_surfaces.after_sync(rng, index, root, now, inv),
    }


def insider_phase(rng: random.Random, runs: int, inv: Invariants, root: Path) -> Counter[str]:
    """``runs`` random insider floods against one `catalog serve`; returns floods by name."""
    from bench import insiders

    drawn: Counter[str] = Counter()
    if runs <= 0:
        return drawn
    store = root / "insiders-store"
    insiders.publish_catalog(store)
    server = insiders.Server(store, root / "insiders-serve.log").start()
    try:
        models = insiders.catalog_ids(server)
        for _ in range(runs):
            name = rng.choice(list(insiders.FLOODS))
            drawn[name] += 1
            bad = insiders.run_flood(server, name, rng, models)
            inv.check("insiders: every limit holds, no 5xx, serve alive", not bad, f"{name}: {bad}")
        peak = server.peak_mb()
        inv.check(
            f"insiders: catalog serve under {insiders.SERVE_LIMIT_MB} MB",
            peak < insiders.SERVE_LIMIT_MB,
            f"{peak:.0f} MB",
        )
        PEAKS.append(peak)
    finally:
        server.stop()
    if drawn["vote flood (one identity)"]:
        votes = insiders.check_votes(store)
        inv.check("insiders: one identity never flips a published flag", not votes, str(votes))
    return drawn


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--store", help="store directory (default: a temporary one)")
    parser.add_argument("--insiders", type=int, default=30, help="insider floods after the runs")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    inv = Invariants()
    tallies: dict[str, Counter[str]] = {
        k: Counter()
        for k in ("scenario", "planted", "key", "input", "end", "export", "rebuild", "insider")
    }
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp, HostileUpstream() as upstream:
        root = Path(args.store) if args.store else Path(tmp) / "store"
        root.mkdir(parents=True, exist_ok=True)
        for index in range(args.runs):
            outcome = one_run(rng, index, root, upstream, inv)
            for name, value in outcome.items():
                tallies[name][value] += 1
            if (index + 1) % 20 == 0:
                print(f"  {index + 1} runs, {sum(inv.violated.values())} violations", flush=True)
        tallies["insider"] = insider_phase(rng, args.insiders, inv, Path(tmp))
    print(f"\nchaos: {args.runs} runs (seed {args.seed}) in {time.monotonic() - began:.0f}s")
    for name, counts in tallies.items():
        print(f"  {name:<9} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print("invariants (checked / violated):")
    for name in sorted(inv.checked):
        print(f"  {inv.checked[name]:>5} / {inv.violated[name]:<3} {name}")
    for example in inv.examples:
        print(f"  VIOLATION {example}")
    print(f"largest peak RSS of a finished run or catalog serve: {max(PEAKS, default=0):.0f} MB")
    sys.exit(1 if inv.violated else 0)


if __name__ == "__main__":
    main()
