"""Run by tests/test_hardening.py in a subprocess: the reader service under a flood of
requests with random cursors and filters (or, ``feed-hosts``, the Atom feed and explorer
pages asked for under a new ``Host`` header each time); prints its own peak RSS.

    python tests/reader_flood.py STORE_DIR REQUESTS SEED [filters|feed-hosts]
"""

from __future__ import annotations

import base64
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from pipeline.publishing.store import LocalStore
from pipeline.registry import Registry
from pipeline.service.app import create_app

CAPABILITIES = ["vision", "tools", "reasoning", "structured-output", "image-gen", "free"]
TIERS = ["free", "budget", "standard", "pro", "premium", "variable", "unknown"]


def _peak_kb() -> int:
    """VmHWM of this process: ru_maxrss inherits the parent's peak across fork/exec."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


Flood = Callable[[TestClient, list[str], int, random.Random], dict[int, int]]


def filters(client: TestClient, ids: list[str], count: int, rng: random.Random) -> dict[int, int]:
    """Issue 12: /api/models with random cursors and filters."""
    statuses: dict[int, int] = {}
    for _ in range(count):
        params: dict[str, str] = {
            "limit": str(rng.choice([1, 10, 100, 1000, rng.randint(1, 1000)]))
        }
        roll = rng.random()
        if roll < 0.5:  # a cursor nobody handed out
            after = rng.choice(ids) + "".join(rng.choices("abcxyz/-:.", k=rng.randint(1, 12)))
            params["cursor"] = base64.urlsafe_b64encode(after.encode()).decode().rstrip("=")
        elif roll < 0.7:
            params["cursor"] = (
                base64.urlsafe_b64encode(rng.choice(ids).encode()).decode().rstrip("=")
            )
        if rng.random() < 0.5:
            params["capability"] = ",".join(rng.sample(CAPABILITIES, rng.randint(1, 2)))
        if rng.random() < 0.3:
            params["tier"] = rng.choice(TIERS)
        if rng.random() < 0.4:
            params["q"] = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz-", k=rng.randint(1, 6)))
        answer = client.get("/api/models", params=params)
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        if rng.random() < 0.05:
            client.get(f"/v1/models/{rng.choice(ids)}{rng.randint(0, 10**9)}")
    return statuses


def feed_hosts(
    client: TestClient, ids: list[str], count: int, rng: random.Random
) -> dict[int, int]:
    """Issue 27: the feed (and a model page now and then) under a new Host every request."""
    statuses: dict[int, int] = {}
    for number in range(count):
        host = {"Host": f"h{number}-{rng.randint(0, 10**9)}.example"}
        path = f"/models/{rng.choice(ids)}" if rng.random() < 0.1 else "/feeds/changes.atom"
        answer = client.get(path, headers=host)
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
    return statuses


FLOODS: dict[str, Flood] = {"filters": filters, "feed-hosts": feed_hosts}


def main() -> None:
    root, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    flood = FLOODS[sys.argv[4] if len(sys.argv) > 4 else "filters"]
    rng = random.Random(seed)
    app = create_app(Registry(LocalStore(Path(root))), refresh_seconds=0)
    began = time.monotonic()
    with TestClient(app) as client:
        ids = [m["id"] for m in client.get("/api/models?limit=1000").json()["data"]]
        statuses = flood(client, ids, count, rng)
    peak = _peak_kb() / 1024
    codes = ",".join(f"{code}:{n}" for code, n in sorted(statuses.items()))
    seconds = time.monotonic() - began
    print(f"requests={count} statuses={codes} seconds={seconds:.1f} peak_rss_mb={peak:.1f}")


if __name__ == "__main__":
    main()
