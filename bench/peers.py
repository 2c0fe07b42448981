"""Ours against LiteLLM and pydantic's genai-prices, measured in the same run (issue 29's table).

Rows: import time (a whole ``python -c "import X"`` process, median of several), one model lookup
(``Registry.get`` / LiteLLM ``get_model_info`` / genai-prices ``find_provider_model``) and one
cost estimate (``Registry.cost`` / LiteLLM ``cost_per_token`` / genai-prices ``calc_price``),
each in µs per call over the same model (gpt-4o: 1,000 input and 500 output tokens). Ours
reads a store that a real sync of the 549-model payload published. The peers are the optional
``bench`` extra (``make bench`` installs it); a peer that is not installed is said so and its
column skipped. Targets (issue 29, item 3): ``get`` no slower than LiteLLM's, ``cost`` < 5 µs.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import targets

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "real"
PAYLOAD = "openrouter-models-all-2026-08-19.json"
OURS_ID = "openai/gpt-4o"
PEER_MODEL = "gpt-4o"
INPUT, OUTPUT = 1_000, 500
COST_TARGET_US = 5.0
# The peers' packages and the module each imports as.
PEERS = {"LiteLLM": "litellm", "genai-prices": "genai_prices"}


def import_ms(module: str, runs: int) -> float:
    """Median wall ms of ``import module`` in a fresh interpreter (bytecode caches allowed)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # LiteLLM fetches its price map over the network at import unless told to use its copy.
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    times = []
    for _ in range(runs + 1):  # the first run writes the bytecode caches
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]) * 1000)
    return statistics.median(times[1:])


def per_call_us(call: Callable[[], Any], seconds: float = 0.3) -> float:
    """Best of 5 rounds of the mean µs per call, each round about ``seconds / 5`` long."""
    call()
    began = time.perf_counter()
    n = 0
    while time.perf_counter() - began < 0.02:
        call()
        n += 1
    rounds = []
    batch = max(1, int(n * seconds / 5 / 0.02))
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(batch):
            call()
        rounds.append((time.perf_counter() - started) / batch * 1e6)
    return min(rounds)


def ours(scratch: Path) -> dict[str, float]:
    from pipeline.config import CatalogConfig
    from pipeline.publishing.store import LocalStore
    from pipeline.registry import Registry
    from pipeline.runs.sync import SyncRequest, sync_openrouter
    from pipeline.timeutil import parse_iso

    store = LocalStore(scratch / "store")
    request = SyncRequest(now=parse_iso("2026-08-19T00:00:00Z"), from_file=FIXTURES / PAYLOAD)
    result = sync_openrouter(store, CatalogConfig(), request)
    if not result.published:
        raise RuntimeError(f"the sync for the peers bench failed: {result.error}")
    registry = Registry.open(store)
    expected = registry.cost(OURS_ID, INPUT, OUTPUT)
    print(f"  ours: {OURS_ID} {INPUT}+{OUTPUT} tokens costs {expected.usd} USD")
    return {
        "import": import_ms("pipeline.registry", 7),
        "get": per_call_us(lambda: registry.get(OURS_ID)),
        "cost": per_call_us(lambda: registry.cost(OURS_ID, INPUT, OUTPUT)),
    }


def litellm() -> dict[str, float]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm as lib

    prompt, completion = lib.cost_per_token(
        model=PEER_MODEL, prompt_tokens=INPUT, completion_tokens=OUTPUT
    )
    version = importlib.metadata.version("litellm")
    print(f"  LiteLLM {version}: {PEER_MODEL} costs {prompt + completion} USD")
    return {
        "import": import_ms("litellm", 3),
        "get": per_call_us(lambda: lib.get_model_info(PEER_MODEL)),
        "cost": per_call_us(
            lambda: lib.cost_per_token(
                model=PEER_MODEL, prompt_tokens=INPUT, completion_tokens=OUTPUT
            )
        ),
    }


def genai_prices() -> dict[str, float]:
    import genai_prices as lib
    from genai_prices import data_snapshot

    usage = lib.Usage(input_tokens=INPUT, output_tokens=OUTPUT)
    price = lib.calc_price(usage, PEER_MODEL, provider_id="openai")
    print(f"  genai-prices {lib.__version__}: {PEER_MODEL} costs {price.total_price} USD")
    snapshot = data_snapshot.get_snapshot()
    return {
        "import": import_ms("genai_prices", 5),
        "get": per_call_us(lambda: snapshot.find_provider_model(PEER_MODEL, None, "openai", None)),
        "cost": per_call_us(lambda: lib.calc_price(usage, PEER_MODEL, provider_id="openai")),
    }


def main() -> None:
    if not (FIXTURES / PAYLOAD).exists():
        print(f"peers: skipped, no fixtures at {FIXTURES}")
        return
    columns: dict[str, dict[str, float] | str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        columns["ours"] = ours(Path(scratch))
    for name, module in PEERS.items():
        if importlib.util.find_spec(module) is None:
            columns[name] = "not installed (pip install -e '.[bench]')"
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                columns[name] = litellm() if module == "litellm" else genai_prices()
        except Exception as exc:  # a peer's API change must not hide our figures
            columns[name] = f"failed: {type(exc).__name__}: {str(exc)[:120]}"
    rows = [
        ("import, whole process", "import", "ms"),
        ("get / model info", "get", "µs"),
        ("cost of one call", "cost", "µs"),
    ]
    print(f"  {'measure':<22}" + "".join(f"{c:>16}" for c in columns))
    for label, key, unit in rows:
        cells = [
            f"{col[key]:.1f} {unit}" if isinstance(col, dict) else "-" for col in columns.values()
        ]
        print(f"  {label:<22}" + "".join(f"{c:>16}" for c in cells))
    for name, col in columns.items():
        if isinstance(col, str):
            print(f"  {name}: {col}")
    mine = columns["ours"]
    assert isinstance(mine, dict)
    targets.record(
        "peers",
        "import pipeline.registry, whole process",
        f"{mine['import']:.0f} ms",
        True,
        value=mine["import"],
    )
    peer = columns.get("LiteLLM")
    if isinstance(peer, dict):
        ok = mine["get"] <= peer["get"]
        targets.record(
            "peers",
            "Registry.get <= LiteLLM get_model_info",
            f"{mine['get']:.2f} vs {peer['get']:.2f} µs",
            ok,
            value=mine["get"],
        )
    else:
        targets.record("peers", "Registry.get", f"{mine['get']:.2f} µs", True, value=mine["get"])
    ok = mine["cost"] < COST_TARGET_US
    targets.record(
        "peers",
        f"Registry.cost < {COST_TARGET_US:.0f} µs",
        f"{mine['cost']:.1f} µs",
        ok,
        value=mine["cost"],
    )


if __name__ == "__main__":
    main()
