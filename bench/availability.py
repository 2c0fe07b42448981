"""Runtime availability benchmark (issue 18): 1k clients over synthetic 1k- and 10k-model
catalogs (real records copied under new ids), each client serving 200 models.

Measures the latency of a state change (quota mark / clear, suspend / resume), of per-model
queries (state, count, providers), of ``first_available`` (plain and filtered), of the
available list (a cached hit, and a rebuild after a change), and the throughput of mixed
operations from 1 and 8 threads. Targets: state changes and per-model queries do not grow with
the number of models (10k/1k ratio under 2); ``first_available`` under 100 µs. Prints; never
asserts.
"""

from __future__ import annotations

import json
import random
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import targets
from bench.reader import real_catalog, synthetic

SIZES = [1_000, 10_000]
CLIENTS = 1_000
MODELS_PER_CLIENT = 200
PROVIDERS = ["openai", "anthropic", "azure", "bedrock", "vertex", "openrouter"]
THREADS = 8
MIXED_SECONDS = 2.0
FIRST_AVAILABLE_TARGET_US = 100.0
GROWTH_LIMIT = 2.0


def per_call_us(fn: Callable[[int], Any], n: int, rounds: int = 3) -> float:
    """Best-of-rounds mean µs per call of ``fn(i)`` over ``n`` calls (best: the machine is
    shared, the minimum is the least disturbed)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for i in range(n):
            fn(i)
        best = min(best, (time.perf_counter() - started) / n * 1e6)
    return best


def build(size: int, base: dict[str, Any], scratch: Path) -> tuple[Any, list[str], float]:
    from pipeline.publishing.store import LocalStore
    from pipeline.registry import Availability, Registry

    store = LocalStore(scratch / f"syn-{size}")
    document = synthetic(base, size)
    store.put("models/openrouter/current.json", json.dumps(document).encode())
    registry = Registry.open(store)
    live = Availability(registry)
    ids = [m["id"] for m in document["models"]]
    rng = random.Random(size)
    started = time.perf_counter()
    for c in range(CLIENTS):
        live.register(
            f"client-{c}", PROVIDERS[c % len(PROVIDERS)], rng.sample(ids, MODELS_PER_CLIENT)
        )
    register_ms = (time.perf_counter() - started) / CLIENTS * 1e3
    return live, ids, register_ms


def measure(live: Any, ids: list[str]) -> dict[str, float]:
    rng = random.Random(1)
    figures: dict[str, float] = {}
    pairs = []
    for _ in range(2_000):
        client = f"client-{rng.randrange(CLIENTS)}"
        model = live.client_models(client)[rng.randrange(MODELS_PER_CLIENT)].model_id
        pairs.append((client, model))
    n = len(pairs)

    def quota(i: int) -> None:
        client, model = pairs[i]
        live.mark_quota(client, model, retry_after=60)

    def clear(i: int) -> None:
        client, model = pairs[i]
        live.clear_quota(client, model)

    figures["mark_quota"] = per_call_us(lambda i: (quota(i), clear(i)), n) / 2
    figures["suspend+resume"] = (
        per_call_us(
            lambda i: (live.suspend(pairs[i][0], pairs[i][1], "down"), live.resume(*pairs[i])), n
        )
        / 2
    )
    probes = [rng.choice(ids) for _ in range(5_000)]
    figures["state"] = per_call_us(lambda i: live.state(probes[i]), len(probes))
    figures["count"] = per_call_us(lambda i: live.count(probes[i]), len(probes))
    figures["providers"] = per_call_us(lambda i: live.providers(probes[i]), len(probes))
    figures["first_available"] = per_call_us(lambda i: live.first_available(), 5_000)
    figures["first_available(vision,tools)"] = per_call_us(
        lambda i: live.first_available(capability="vision,tools"), 5_000
    )
    figures["first_available(anthropic)"] = per_call_us(
        lambda i: live.first_available("anthropic"), 5_000
    )
    live.available_models("openai")
    figures["available list, cached"] = per_call_us(
        lambda i: live.available_models("openai"), 5_000
    )

    live.suspend(pairs[0][0], None, "down")  # make sure the list changes on every call below
    flip = pairs[0]

    def changed(i: int) -> None:
        if i % 2:
            live.resume(flip[0])
        else:
            live.suspend(flip[0], None, "down")
        live.available_models("openai")

    figures["available list, rebuilt after a change"] = per_call_us(changed, 20, rounds=3)
    live.resume(flip[0])

    # A catalog refresh: the next call re-resolves every client's refs (1k clients × 200).
    from pipeline.registry.core import Snapshot

    # Another thread keeps querying meanwhile: its worst latency is what the refresh costs the
    # gateway (the refreshing thread resolves outside the lock; only applying the differences
    # holds it, and request threads keep the previous catalog until then).
    registry = live.registry
    stop = threading.Event()
    worst = [0.0]

    def probe() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            live.state(ids[0])
            worst[0] = max(worst[0], time.perf_counter() - began)

    prober = threading.Thread(target=probe)
    prober.start()
    time.sleep(0.05)
    worst[0] = 0.0
    started = time.perf_counter()
    with registry._refresh_lock:  # what Registry.refresh does after loading a new set
        registry._snapshot = snapshot = Snapshot(registry.snapshot.set, time.time())
        for listener in list(registry.listeners):
            listener(snapshot)
    figures["catalog refresh (re-resolve 200k refs)"] = (time.perf_counter() - started) * 1e6
    time.sleep(0.05)
    stop.set()
    prober.join()
    figures["worst query latency during that refresh"] = worst[0] * 1e6
    return figures


def mixed(live: Any, ids: list[str], threads: int) -> float:
    """Operations per second from ``threads`` threads: 70% queries, 30% state changes."""
    stop = threading.Event()
    counts = [0] * threads

    def work(t: int) -> None:
        rng = random.Random(t)
        mine = [f"client-{c}" for c in range(t, CLIENTS, threads)]
        models = {c: [m.model_id for m in live.client_models(c)] for c in mine[:20]}
        done = 0
        while not stop.is_set():
            for _ in range(100):
                roll = rng.random()
                client = rng.choice(mine[:20])
                model = rng.choice(models[client])
                if roll < 0.4:
                    live.state(rng.choice(ids))
                elif roll < 0.6:
                    live.first_available()
                elif roll < 0.7:
                    live.providers(model)
                elif roll < 0.8:
                    live.mark_quota(client, model, retry_after=rng.randint(1, 60))
                elif roll < 0.9:
                    live.clear_quota(client, model)
                elif roll < 0.95:
                    live.suspend(client, model, "quota")
                else:
                    live.resume(client, model)
                done += 1
            counts[t] = done

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    time.sleep(MIXED_SECONDS)
    stop.set()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


def _round(live: Any, probes: list[str], pairs: list[tuple[str, str]]) -> dict[str, float]:
    """One short round of each operation that must not grow with the number of models."""
    out: dict[str, float] = {}
    started = time.perf_counter()
    for ref in probes:
        live.state(ref)
    out["state"] = (time.perf_counter() - started) / len(probes) * 1e6
    started = time.perf_counter()
    for ref in probes:
        live.count(ref)
    out["count"] = (time.perf_counter() - started) / len(probes) * 1e6
    started = time.perf_counter()
    for ref in probes:
        live.providers(ref)
    out["providers"] = (time.perf_counter() - started) / len(probes) * 1e6
    started = time.perf_counter()
    for client, model in pairs:
        live.mark_quota(client, model, retry_after=60)
        live.clear_quota(client, model)
    out["mark_quota / clear"] = (time.perf_counter() - started) / (2 * len(pairs)) * 1e6
    started = time.perf_counter()
    for client, model in pairs:
        live.suspend(client, model, "down")
        live.resume(client, model)
    out["suspend / resume"] = (time.perf_counter() - started) / (2 * len(pairs)) * 1e6
    return out


def growth(built: dict[int, tuple[Any, list[str], float]]) -> tuple[dict[str, float], ...]:
    """Per-call µs of the operations that must not grow with the number of models, measured
    in short rounds alternating between the catalog sizes (best of 15 each), so both sizes see
    the same load on a shared machine."""
    best: dict[int, dict[str, float]] = {size: {} for size in SIZES}
    for round_ in range(15):
        for size in SIZES:
            live, ids, _ = built[size]
            rng = random.Random(round_)
            probes = [rng.choice(ids) for _ in range(1_000)]
            pairs = []
            for ref in probes[:300]:
                clients = live.available_clients(ref)
                if clients:
                    pairs.append((clients[0], ref))
            for name, value in _round(live, probes, pairs).items():
                best[size][name] = min(value, best[size].get(name, value))
    return tuple(best[size] for size in SIZES)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        base = real_catalog(scratch)
        built = {size: build(size, base, scratch) for size in SIZES}
        # Two passes, sizes alternating, best of both: the machine is shared, and measuring
        # one size a minute after the other would compare the load, not the code.
        results: dict[int, dict[str, float]] = {}
        for _ in range(2):
            for size in SIZES:
                live, ids, _ms = built[size]
                for name, value in measure(live, ids).items():
                    results.setdefault(size, {})[name] = min(
                        value, results.get(size, {}).get(name, value)
                    )
        for size in SIZES:
            live, ids, register_ms = built[size]
            figures = results[size]
            figures["register (200 models, new client)"] = register_ms * 1000
            print(
                f"{size:>6} models × {CLIENTS} clients × {MODELS_PER_CLIENT} models each "
                f"({live.summary()['models']})",
                flush=True,
            )
            for name, value in figures.items():
                print(f"    {name:<42} {value:10.1f} µs")
            if size == SIZES[-1]:
                for threads in (1, THREADS):
                    rate = mixed(live, ids, threads)
                    print(f"    mixed ops, {threads} thread(s){'':<24} {rate:10.0f} ops/s")
        small, large = growth(built)
        missed = []
        for name in small:
            ratio = large[name] / small[name]
            verdict = "ok" if ratio < GROWTH_LIMIT else "MISSED"
            targets.record(
                "availability",
                f"{name} growth < x{GROWTH_LIMIT:g}",
                f"x{ratio:.2f}",
                verdict == "ok",
                value=ratio,
            )
            if verdict != "ok":
                missed.append(name)
            print(
                f"  growth {SIZES[0]}→{SIZES[-1]} models: {name:<18} "
                f"{small[name]:6.1f} → {large[name]:6.1f} µs  ×{ratio:4.2f}  {verdict}"
            )
        for name in [k for k in results[SIZES[-1]] if k.startswith("first_available")]:
            value = results[SIZES[-1]][name]
            verdict = "ok" if value < FIRST_AVAILABLE_TARGET_US else "MISSED"
            targets.record(
                "availability",
                f"{name} < {FIRST_AVAILABLE_TARGET_US:.0f} µs",
                f"{value:.1f} µs",
                verdict == "ok",
                value=value,
            )
            if verdict != "ok":
                missed.append(name)
            print(
                f"  target {name:<34} {value:6.1f} µs < {FIRST_AVAILABLE_TARGET_US:.0f}  {verdict}"
            )
        print(f"  targets missed: {', '.join(missed) if missed else 'none'}")


if __name__ == "__main__":
    main()
