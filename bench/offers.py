"""Offers stage wall time and memory: 500 models, each endpoints request answered after 50 ms,
at the default concurrency (target: under 5 s).

A local server (in its own process, so its allocations do not count) plays OpenRouter's
endpoints API with a 3-endpoint body of the documented shape per model. The stage fetches,
parses, attaches offers and builds the raw snapshot for 500 active chat records; a second,
traced pass measures the peak Python memory the stage allocates.
"""

from __future__ import annotations

import json
import multiprocessing
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import targets
from pipeline.config import OffersConfig
from pipeline.offers.stage import run_stage
from pipeline.records.model import ModelRecord
from pipeline.runs import fallback
from pipeline.timeutil import utcnow

MODELS = 500
DELAY_S = 0.05
TARGET_S = 5.0


def _body(model_id: str) -> bytes:
    endpoints = []
    for i, (name, tag) in enumerate((("DeepInfra", "deepinfra/fp8"), ("Together", "together"))):
        endpoints.append(
            {
                "provider_name": name,
                "tag": tag,
                "quantization": "fp8",
                "context_length": 131072,
                "max_completion_tokens": 16384,
                "pricing": {"prompt": f"0.000000{i + 2}", "completion": f"0.00000{i + 1}"},
                "supported_parameters": ["temperature", "tools", "max_tokens", "top_p"],
                "status": 0,
                "uptime_last_5m": 100,
                "uptime_last_30m": 99.5,
                "uptime_last_1d": 99.1 + i / 10,
                "latency_last_30m": {"p50": 300 + i, "p75": 400, "p90": 700, "p99": 2000},
                "throughput_last_30m": {"p50": 80 + i, "p75": 70, "p90": 50, "p99": 20},
                "supports_implicit_caching": True,
            }
        )
    return json.dumps({"data": {"id": model_id, "endpoints": endpoints}}).encode()


def _serve(port: Any) -> None:
    """The fake endpoints API: an asyncio server (uvicorn, already a dependency), so 8
    concurrent 50 ms answers cost the fixture almost nothing — a threaded http.server spent
    more CPU than the stage it measures on a 2-core machine."""
    import socket

    import uvicorn

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        import asyncio

        model_id = scope["path"].removeprefix("/api/v1/models/").removesuffix("/endpoints")
        await asyncio.sleep(DELAY_S)
        data = _body(model_id)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port.value = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


def _records() -> list[ModelRecord]:
    template = next(
        m
        for m in fallback.load_embedded().models
        if m.kind == "chat" and m.lifecycle.state == "active"
    )
    return [template.model_copy(update={"id": f"bench/model-{i:04d}"}) for i in range(MODELS)]


def _plain_baseline(url: str, concurrency: int) -> float:
    """The same 500 GETs with nothing of ours around them: on a loaded machine the stage can
    only be as fast as this."""
    import httpx

    with httpx.Client() as client, ThreadPoolExecutor(concurrency) as pool:
        began = time.perf_counter()
        list(
            pool.map(
                lambda i: client.get(f"{url}/bench/model-{i:04d}/endpoints").content, range(MODELS)
            )
        )
        return time.perf_counter() - began


def main() -> int:
    port = multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    server.start()
    try:
        while not port.value:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port.value}/api/v1/models"
        config = OffersConfig()
        now = utcnow()
        records = _records()
        began, cpu_began = time.perf_counter(), time.process_time()
        result = run_stage(records, {}, now, config, fetch=True, catalog_url=url)
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        with_offers = sum(1 for r in records if r.offers)
        baseline = _plain_baseline(url, config.concurrency)
        records = _records()
        tracemalloc.start()
        run_stage(records, {}, now, config, fetch=True, catalog_url=url)
        _size, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        server.terminate()
        server.join(timeout=5)
    verdict = "ok" if wall < TARGET_S and with_offers == MODELS else "MISSED"
    targets.record(
        "offers",
        f"{MODELS} models x {DELAY_S * 1000:.0f} ms < {TARGET_S:.0f} s",
        f"{wall:.2f} s",
        verdict == "ok",
        value=wall,
    )
    floor = MODELS * DELAY_S / config.concurrency
    print(
        f"offers stage: {MODELS} models x {DELAY_S * 1000:.0f} ms at concurrency "
        f"{config.concurrency} -> wall {wall:.2f}s (target < {TARGET_S:.0f}s; "
        f"floor {floor:.2f}s), {with_offers}/{MODELS} with offers [{verdict}]"
    )
    print(f"  CPU time of the stage (this process, all threads): {cpu:.2f}s")
    print(
        f"  same requests with a bare httpx client and thread pool (no retries, parsing or "
        f"records): {baseline:.2f}s — the machine's share of the wall time"
    )
    raw = len(result.raw or b"")
    print(
        f"  memory: peak {peak / 1e6:.1f} MB traced during the stage; "
        f"raw snapshot {raw / 1e3:.0f} KB"
    )
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
