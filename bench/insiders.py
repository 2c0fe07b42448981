"""Hostile insiders against a real ``catalog serve`` (issue 27): floods from holders of a
telemetry or runtime token, and from nobody at all, with the server's memory read after each.

    python -m bench.insiders [--seed 27]

The server runs in its own process on 127.0.0.1 over a catalog synced from a recorded payload,
with three telemetry identities and two gateway identities. Each flood is a function of the
server and a random generator; it returns the violations it saw (an empty list when every
limit held). After each, the harness checks what must hold whatever the flood: the server
answers, no request got a 5xx, another identity is still served, and the server's resident
memory stays under ``SERVE_LIMIT_MB`` — the bound docs/hardening.md documents.

``bench.hardening`` prints one figure line per flood; ``bench.chaos`` runs them at random
after its faulted syncs and counts the invariants with the others.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "real"
PAYLOAD = "openrouter-models-2026-08-19.json"
SERVE_LIMIT_MB = 300
"""Resident memory of `catalog serve` under every flood here (docs/hardening.md: about 80 MB,
plus 20 MB per telemetry identity at its series cap and 50 MB per gateway at its limits)."""
TELEMETRY = {
    "gw-eu": "eu-telemetry-token-0123456789",
    "gw-us": "us-telemetry-token-0123456789",
    "gw-bad": "bad-telemetry-token-012345678",
}
RUNTIME = {
    "gw-eu": "eu-runtime-token-0123456789ab",
    "gw-bad": "bad-runtime-token-0123456789a",
}
TARGET = "openai/gpt-4o"
"""The model whose `supportsTools` the vote flood attacks (true by the API in the payload)."""


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _memory_kb(pid: int, field_name: str) -> int:
    try:
        with Path(f"/proc/{pid}/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field_name}:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    """A `catalog serve` process with the insiders' tokens, and an HTTP client for it."""

    store: Path
    log: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        config = self.store.parent / "insiders.yaml"
        # The rate limit is lifted so floods reach the caps they test (the bucket is tested
        # by the test suite); everything else is the default (20,000 series per identity).
        config.write_text(
            "telemetry:\n  rate_per_second: 1000000\n  burst: 1000000\n  flush_seconds: 10\n"
            "  max_body_bytes: 2000000\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "AWS_"))}
        env["CATALOG_TELEMETRY_TOKENS"] = ",".join(f"{k}={v}" for k, v in TELEMETRY.items())
        env["CATALOG_RUNTIME_TOKENS"] = ",".join(f"{k}={v}" for k, v in RUNTIME.items())
        catalog = Path(sys.executable).with_name("catalog")
        command = [str(catalog)] if catalog.exists() else [sys.executable, "-m", "pipeline.cli"]
        where = ["--host", "127.0.0.1", "--port", str(self.port), "--store", str(self.store)]
        self.process = subprocess.Popen(
            [*command, "serve", *where, "--refresh-seconds", "0", "--config", str(config)],
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.http = httpx.Client(base_url=self.base, timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"catalog serve exited: {self.log.read_text()[-2000:]}")
            try:
                if self.http.get("/healthz").status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("catalog serve did not answer /healthz within 60 s")

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        answer = self.http.request(method, path, **kw)
        self.statuses[answer.status_code] = self.statuses.get(answer.status_code, 0) + 1
        return answer

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_mb(self) -> float:
        assert self.process is not None
        return _memory_kb(self.process.pid, "VmRSS") / 1024

    def peak_mb(self) -> float:
        assert self.process is not None
        return _memory_kb(self.process.pid, "VmHWM") / 1024

    def stop(self) -> None:
        self.http.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: the intake flushes
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def publish_catalog(root: Path) -> None:
    """A catalog synced now from the recorded payload (fresh, so events resolve)."""
    from datetime import UTC, datetime, timedelta

    from pipeline.config import CatalogConfig
    from pipeline.publishing.store import LocalStore
    from pipeline.runs.sync import SyncRequest, sync_openrouter

    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    result = sync_openrouter(
        LocalStore(root), CatalogConfig(), SyncRequest(now=now, from_file=FIXTURES / PAYLOAD)
    )
    if not result.published:
        raise RuntimeError(f"could not publish the catalog: {result.error}")


def _raw_request(port: int, head: bytes, body: bytes = b"") -> tuple[int, float]:
    """Send ``head`` (and ``body``) on a raw socket; (status, seconds to the answer). The
    announced body is never sent in full: a server waiting for it would time out here."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head + body)
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            return 0, time.monotonic() - began
    line = data.split(b"\r\n", 1)[0].split()
    return (int(line[1]) if len(line) > 1 else 0), time.monotonic() - began


def _events(
    models: list[str], count: int, rng: random.Random, **extra: Any
) -> list[dict[str, Any]]:
    capabilities = ["chat", "tools", "structuredOutput", "vision", "reasoning", "streaming"]
    now = time.time()
    return [
        {
            "model": rng.choice(models),
            "capability": rng.choice(capabilities),
            "outcome": "ok",
            "timestamp": now - rng.randrange(0, 23 * 3600),
            **extra,
        }
        for _ in range(count)
    ]


# -- the floods --------------------------------------------------------------------------------
# Each returns the violations it saw; the harness adds the checks every flood shares.

Flood = Callable[[Server, random.Random, list[str]], list[str]]


def unauthenticated_bodies(server: Server, rng: random.Random, models: list[str]) -> list[str]:
    """Announce 100 MB bodies without a token (and with a wrong one): the answer must come
    before the body, because the body is never read."""
    bad = []
    for path, token in (
        ("PUT /api/runtime/clients/x", ""),
        ("POST /api/runtime/clients/x/suspend", "Authorization: Bearer wrong-token-000000\r\n"),
        ("POST /api/telemetry", ""),
        ("POST /v1/traces", "Authorization: Bearer wrong-token-000000\r\n"),
    ):
        head = (
            f"{path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{token}"
            f"Content-Length: {100 << 20}\r\n\r\n"
        ).encode()
        status, seconds = _raw_request(server.port, head, b"[" * rng.randint(0, 65536))
        server.statuses[status] = server.statuses.get(status, 0) + 1
        if status != 401 or seconds > 5:
            bad.append(f"{path} without a valid token: {status} after {seconds:.1f} s")
    return bad


def oversized_bodies(server: Server, rng: random.Random, models: list[str]) -> list[str]:
    """Authenticated, over each route's cap: 413 before (declared) or at (streamed) the cap."""
    bad = []
    head = (
        "PUT /api/runtime/clients/x HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {RUNTIME['gw-bad']}\r\nContent-Length: {100 << 20}\r\n\r\n"
    ).encode()
    status, seconds = _raw_request(server.port, head)
    if status != 413 or seconds > 5:
        bad.append(f"a declared 100 MB registration: {status} after {seconds:.1f} s")
    for path, size in (("/api/runtime/clients/x/quota", 64 << 10), ("/api/telemetry", 4 << 20)):
        token = RUNTIME["gw-bad"] if "runtime" in path else TELEMETRY["gw-bad"]

        def stream(size: int = size) -> Any:
            for _ in range(size >> 16):
                yield b" " * 65536

        answer = server.request("POST", path, content=stream(), headers=auth(token))
        if answer.status_code != 413:
            bad.append(f"a streamed {size >> 10} KB body to {path}: {answer.status_code}")
    return bad


def deep_json(server: Server, rng: random.Random, models: list[str]) -> list[str]:
    """Nesting far past any limit on every door: a 4xx each, never a RecursionError."""
    depth = rng.choice([1_000, 50_000, 400_000])
    body = b"[" * depth + b"]" * depth
    bad = []
    for path, token, extra in (
        ("/api/telemetry", TELEMETRY["gw-bad"], {}),
        ("/api/telemetry", TELEMETRY["gw-bad"], {"Content-Type": "application/x-ndjson"}),
        ("/v1/traces", TELEMETRY["gw-bad"], {}),
        ("/api/runtime/clients/x", RUNTIME["gw-bad"], {}),
    ):
        headers = {"Content-Type": "application/json", **extra, **auth(token)}
        method = "PUT" if "runtime" in path else "POST"
        answer = server.request(method, path, content=body, headers=headers)
        if not 400 <= answer.status_code < 500:
            bad.append(f"{path} nested {depth} deep: {answer.status_code}")
    return bad


def series_flood(server: Server, rng: random.Random, models: list[str]) -> list[str]:
    """One identity opens a new series with every event — every model × capability over the
    last 23 hours, faster than a flush forgets them — until its cap refuses with a time; then
    another identity is still accepted."""
    capabilities = ["chat", "tools", "structuredOutput", "vision", "reasoning", "streaming"]
    now = time.time()
    combos = [
        {"model": model, "capability": cap, "outcome": "ok", "timestamp": now - hours * 3600}
        for hours in range(23)
        for model in models
        for cap in capabilities
    ]
    rng.shuffle(combos)
    bad = []
    refused_until = 0
    for start in range(0, len(combos), 1000):
        answer = server.request(
            "POST",
            "/api/telemetry",
            json=combos[start : start + 1000],
            headers=auth(TELEMETRY["gw-bad"]),
        )
        if answer.status_code == 422:
            details = [r["detail"] for r in answer.json()["rejected"]]
            refused_until += sum(1 for d in details if "until 20" in d)
            if refused_until:
                break
        elif answer.status_code != 202:
            bad.append(f"series flood batch: {answer.status_code}")
    if refused_until == 0:
        bad.append("the series flood never reached its cap (or the answer named no time)")
    other = server.request(
        "POST", "/api/telemetry", json=_events(models, 10, rng), headers=auth(TELEMETRY["gw-eu"])
    )
    if other.status_code != 202:
        bad.append(f"another identity after the series flood: {other.status_code}")
    return bad


def memo_flood(server: Server, rng: random.Random, models: list[str]) -> list[str]:
    """Events for models nobody has, each with a long provider: all rejected, none kept."""
    bad = []
    for batch in range(rng.randint(5, 20)):
        events = [
            {"model": f"nobody/m-{batch}-{i}-{rng.random()}", "provider": "p" * 64, "outcome": "ok"}
            for i in range(1000)
        ]
        answer = server.request(
            "POST", "/api/telemetry", json=events, headers=auth(TELEMETRY["gw-bad"])
        )
        if answer.status_code != 422 or answer.json()["accepted"] != 0:
            bad.append(f"memo flood: {answer.status_code}")
    return bad


def runtime_clients_flood(server: Server, rng: random.Random, models: list[str]) -> list[str]:
    """A gateway registers clients full of refs nobody knows until its limits refuse; the
    other gateway can still register."""
    bad = []
    refused = False
    for index in range(rng.randint(30, 80)):
        refs = [f"local-{index}-{i}:latest" for i in range(1000)] + rng.sample(models, 50)
        answer = server.request(
            "PUT",
            f"/api/runtime/clients/flood-{index}",
            json={"provider": "ollama", "models": refs},
            headers=auth(RUNTIME["gw-bad"]),
        )
        if answer.status_code == 422 and "MAX_UNKNOWN_PER_OWNER" in answer.text:
            refused = True
            break
        if answer.status_code != 200:
            bad.append(f"runtime registration {index}: {answer.status_code} {answer.text[:200]}")
            break
    if not refused:
        bad.append("the gateway's unknown-ref limit never refused a registration")
    # Then clients of catalog refs only, until the gateway's client or ref limit refuses.
    refused = False
    for index in range(1100):
        answer = server.request(
            "PUT",
            f"/api/runtime/clients/known-{index}",
            json={"provider": "openai", "models": rng.sample(models, min(len(models), 300))},
            headers=auth(RUNTIME["gw-bad"]),
        )
        if answer.status_code == 422 and "_PER_OWNER" in answer.text:
            refused = True
            break
        if answer.status_code != 200:
            bad.append(f"runtime registration known-{index}: {answer.status_code}")
            break
    if not refused:
        bad.append("the gateway's client and ref limits never refused a registration")
    mine = server.request(
        "PUT",
        "/api/runtime/clients/team",
        json={"provider": "openai", "models": models[:20]},
        headers=auth(RUNTIME["gw-eu"]),
    )
    if mine.status_code != 200:
        bad.append(f"the other gateway's registration: {mine.status_code}")
    return bad


def otlp_attributes(server: Server, rng: random.Random, models: list[str]) -> list[str]:
    """Spans whose operation name is 1 MB: ignored, counted, never kept whole."""
    bad = []
    for index in range(rng.randint(20, 100)):
        name = f"{index}-" + "x" * 1_000_000
        span = {
            "traceId": f"{index + 1:032x}",
            "spanId": f"{index + 1:016x}",
            "name": "x",
            "startTimeUnixNano": "1",
            "endTimeUnixNano": "2",
            "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": name}}],
        }
        body = gzip.compress(
            json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()
        )
        answer = server.request(
            "POST",
            "/v1/traces",
            content=body,
            headers={
                **auth(TELEMETRY["gw-bad"]),
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
        )
        if answer.status_code != 200:
            bad.append(f"OTLP span {index}: {answer.status_code}")
            break
    stats = server.request("GET", "/api/telemetry/stats", headers=auth(TELEMETRY["gw-eu"])).json()
    if any(len(key) > 64 for key in stats["ignoredSpans"]):
        bad.append("an ignored-span label longer than 64 characters was kept")
    return bad


def churn(server: Server, rng: random.Random, models: list[str]) -> list[str]:
    """Suspend and resume one client × model many times: one incident in the telemetry."""
    name = f"flappy-{rng.randrange(10**6)}"
    model = rng.choice(models)
    server.request(
        "PUT",
        f"/api/runtime/clients/{name}",
        json={"provider": "openai", "models": [model]},
        headers=auth(RUNTIME["gw-eu"]),
    )
    before = server.request("GET", "/api/telemetry/stats", headers=auth(TELEMETRY["gw-eu"])).json()
    for _ in range(60):
        server.request(
            "POST",
            f"/api/runtime/clients/{name}/suspend",
            json={"reason": "provider 5xx"},
            headers=auth(RUNTIME["gw-eu"]),
        )
        server.request(
            "POST", f"/api/runtime/clients/{name}/resume", headers=auth(RUNTIME["gw-eu"])
        )
    after = server.request("GET", "/api/telemetry/stats", headers=auth(TELEMETRY["gw-eu"])).json()
    gained = after["byConsumer"].get("gw-eu", 0) - before["byConsumer"].get("gw-eu", 0)
    return [] if gained == 1 else [f"60 suspend/resume pairs recorded {gained} incidents"]


def vote_flood(server: Server, rng: random.Random, models: list[str]) -> list[str]:
    """One identity floods tool failures for TARGET (claiming the others' names) while two
    report tools working: the verdict is checked by ``check_votes`` after the server stops."""
    bad = []
    for identity, outcome, count in (
        ("gw-eu", "ok", 25),
        ("gw-us", "ok", 25),
        ("gw-bad", "capability_error", rng.randint(100, 2000)),
    ):
        claims = ["gw-eu", "gw-us", None]
        events = []
        for _ in range(count):
            event = {"model": TARGET, "capability": "tools", "outcome": outcome}
            claim = rng.choice(claims)
            if claim:
                event["consumer"] = claim
            events.append(event)
        for start in range(0, len(events), 1000):
            answer = server.request(
                "POST",
                "/api/telemetry",
                json=events[start : start + 1000],
                headers=auth(TELEMETRY[identity]),
            )
            if answer.status_code != 202 or answer.json()["consumer"] != identity:
                bad.append(f"vote flood from {identity}: {answer.status_code}")
    return bad


FLOODS: dict[str, Flood] = {
    "unauthenticated 100 MB bodies": unauthenticated_bodies,
    "bodies over their caps": oversized_bodies,
    "deep JSON on every door": deep_json,
    "series flood (one identity)": series_flood,
    "memo flood (unknown models)": memo_flood,
    "runtime clients flood": runtime_clients_flood,
    "OTLP 1 MB attributes": otlp_attributes,
    "suspend/resume churn": churn,
    "vote flood (one identity)": vote_flood,
}


def run_flood(server: Server, name: str, rng: random.Random, models: list[str]) -> list[str]:
    """One flood and the checks every flood shares."""
    before = dict(server.statuses)
    try:
        bad = FLOODS[name](server, rng, models)
    except httpx.HTTPError as exc:
        bad = [f"the flood's requests failed: {type(exc).__name__}: {exc}"]
    errors = sum(n for status, n in server.statuses.items() if status >= 500) - sum(
        n for status, n in before.items() if status >= 500
    )
    if errors:
        bad.append(f"{errors} answer(s) with a 5xx")
    if not server.alive:
        return [*bad, "catalog serve died"]
    healthy = server.request("GET", "/healthz")
    if healthy.status_code != 200:
        bad.append(f"/healthz after the flood: {healthy.status_code}")
    rss = server.rss_mb()
    if rss > SERVE_LIMIT_MB:
        bad.append(f"resident memory {rss:.0f} MB > {SERVE_LIMIT_MB} MB")
    return bad


def check_votes(store: Path) -> list[str]:
    """After a vote flood and the server's last flush: the curated refresh keeps TARGET's
    supportsTools (two identities out of three see tools work)."""
    import contextlib
    import io
    from datetime import UTC, datetime, timedelta

    from pipeline import cli
    from pipeline.publishing import keys
    from pipeline.publishing.store import LocalStore

    when = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["sync", "curated", "--store", str(store), "--now", when, "-q"])
    if code != 0:
        return [f"the curated refresh after the floods exited {code}"]
    blob = LocalStore(store).get(keys.CURRENT)
    current = json.loads(blob.data) if blob is not None else {"models": []}
    record = next((m for m in current["models"] if m["id"] == TARGET), None)
    if record is None or record.get("supportsTools") is not True:
        return [f"{TARGET} supportsTools flipped by one identity's flood"]
    return []


def catalog_ids(server: Server) -> list[str]:
    listed = server.request("GET", "/api/models?limit=1000").json()["data"]
    return [str(model["id"]) for model in listed]


def measure(seed: int = 27) -> tuple[list[tuple[str, float, float, list[str]]], float, list[str]]:
    """Every flood once against a fresh server: (flood, resident MB after it, seconds,
    violations) each, the peak resident memory, and the vote check's violations."""
    rng = random.Random(seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="insiders-") as tmp:
        store = Path(tmp) / "store"
        publish_catalog(store)
        server = Server(store, Path(tmp) / "serve.log").start()
        try:
            models = [
                m["id"] for m in server.request("GET", "/api/models?limit=1000").json()["data"]
            ]
            rows.append(("at start", server.rss_mb(), 0.0, []))
            for name in FLOODS:
                began = time.monotonic()
                bad = run_flood(server, name, rng, models)
                rows.append((name, server.rss_mb(), time.monotonic() - began, bad))
            peak = server.peak_mb()
        finally:
            server.stop()
        votes = check_votes(store)
    return rows, peak, votes


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.insiders")
    parser.add_argument("--seed", type=int, default=27)
    args = parser.parse_args()
    rows, peak, votes = measure(args.seed)
    print(f"catalog serve under insider floods (target < {SERVE_LIMIT_MB} MB resident):")
    for name, rss, seconds, bad in rows:
        mark = "ok" if not bad else "MISSED: " + "; ".join(bad)
        print(f"  {name:<34} {rss:7.1f} MB  {seconds:6.1f} s  {mark}")
    print(f"  peak resident memory over every flood: {peak:.0f} MB")
    print(f"  supportsTools of {TARGET} after the vote flood: " + ("; ".join(votes) or "kept"))
    failed = peak > SERVE_LIMIT_MB or bool(votes) or any(bad for *_, bad in rows)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
