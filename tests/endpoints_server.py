"""A real HTTP server on 127.0.0.1 playing OpenRouter: the model list from a recorded payload
at ``/api/v1/models`` and, for each model, ``/api/v1/models/{id}/endpoints`` built from the
documented shape (no recording of that API exists in ../shared). It can also serve one
provider-native list (Cerebras) and be told per model to answer 404, 429 once, stall, or 500.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from provider_server import LocalHTTP

KEY = "sk-test-0123456789abcdef"
# (provider_name, tag, quantization) hosts the generated offers are drawn from.
HOSTS = [
    ("DeepInfra", "deepinfra/fp8", "fp8"),
    ("Together", "together", "fp16"),
    ("Fireworks", "fireworks", None),
    ("Novita", "novita/bf16", "bf16"),
    ("Groq", "groq", None),
]


def _digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def per_token(per_million: float) -> str:
    """A per-1M price as the API's per-token decimal string."""
    return f"{per_million / 1_000_000:.12f}".rstrip("0").rstrip(".") or "0"


def endpoint(
    provider: str, tag: str, quant: str | None, *, seed: int, base_price: float
) -> dict[str, Any]:
    """One endpoint in the documented shape, with figures derived from ``seed``."""
    price = base_price * (1 + (seed % 5) / 10)
    return {
        "name": f"{provider}: model",
        "model_name": "model",
        "context_length": 32768 * (1 + seed % 4),
        "pricing": {
            "prompt": per_token(price),
            "completion": per_token(price * 4),
            "request": "0",
            "image": "0",
            "discount": 0,
        },
        "provider_name": provider,
        "tag": tag,
        "quantization": quant,
        "max_completion_tokens": 8192 * (1 + seed % 3),
        "max_prompt_tokens": None,
        "supported_parameters": ["temperature", "tools", "max_tokens"],
        "status": 0,
        "uptime_last_5m": 100,
        "uptime_last_30m": round(95 + (seed % 50) / 10, 1),
        "uptime_last_1d": round(90 + (seed % 100) / 10, 1),
        "supports_implicit_caching": bool(seed % 2),
        "latency_last_30m": {
            "p50": 150 + seed % 900,
            "p75": 400,
            "p90": 300 + seed % 2000,
            "p99": 5000,
        },
        "throughput_last_30m": {"p50": 20 + seed % 180, "p75": 30, "p90": 15, "p99": 5},
        "some_future_key": {"nested": [1, 2]},
    }


def endpoints_for(model_id: str, listed_price: float) -> dict[str, Any]:
    seed = _digest(model_id)
    count = 1 + seed % 3
    chosen = [HOSTS[(seed + i) % len(HOSTS)] for i in range(count)]
    return {
        "data": {
            "id": model_id,
            "name": model_id,
            "created": 1692901234,
            "description": "",
            "architecture": {"modality": "text->text"},
            "endpoints": [
                endpoint(p, t, q, seed=seed + 7 * i, base_price=listed_price or 0.1)
                for i, (p, t, q) in enumerate(chosen)
            ],
        }
    }


class EndpointsServer(LocalHTTP):
    """``with EndpointsServer(catalog_bytes) as server``; ``server.catalog_url`` to configure."""

    def __init__(self, catalog: bytes, cerebras: bytes | None = None) -> None:
        super().__init__()
        self.catalog_url = f"{self.url}/api/v1/models?output_modalities=all"
        self.catalog = catalog
        self.cerebras = cerebras
        document = json.loads(catalog)
        items = document["data"] if isinstance(document, dict) else document
        self.prices = {
            m["id"]: float((m.get("pricing") or {}).get("prompt") or 0) * 1_000_000 for m in items
        }
        self.bodies: dict[str, bytes] = {}
        """Model id → body to serve instead of the generated one."""
        self.modes: dict[str, str] = {}
        """Model id → `404`, `429-once`, `500`, `slow`."""
        self.all_mode: str | None = None
        self.stall_seconds = 30.0
        self.counts: Counter[str] = Counter()
        self.auth: list[str | None] = []
        self._lock = threading.Lock()

    def endpoint_requests(self) -> int:
        return sum(n for k, n in self.counts.items() if k not in ("catalog", "cerebras"))

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        path = unquote(urlsplit(req.path).path)
        if path == "/api/v1/models":
            self.counts["catalog"] += 1
            self._send(req, 200, self.catalog)
            return
        if path == "/cerebras/v1/models" and self.cerebras is not None:
            self.counts["cerebras"] += 1
            ok = req.headers.get("Authorization") == f"Bearer {KEY}"
            self._send(req, 200 if ok else 401, self.cerebras if ok else b'{"error": "key"}')
            return
        prefix, suffix = "/api/v1/models/", "/endpoints"
        if not (path.startswith(prefix) and path.endswith(suffix)):
            self._send(req, 404, b'{"error": {"code": 404, "message": "Not Found"}}')
            return
        model_id = path[len(prefix) : -len(suffix)]
        with self._lock:
            self.counts[model_id] += 1
            seen = self.counts[model_id]
            self.auth.append(req.headers.get("Authorization"))
        mode = self.all_mode or self.modes.get(model_id)
        if mode == "slow":
            time.sleep(self.stall_seconds)
        if mode == "500":
            self._send(req, 500, b'{"error": {"code": 500, "message": "Internal"}}')
            return
        if mode == "429-once" and seen == 1:
            self._send(req, 429, b'{"error": {"code": 429}}', {"Retry-After": "1"})
            return
        if mode == "404" or model_id not in self.prices:
            self._send(req, 404, b'{"error": {"code": 404, "message": "Model not found"}}')
            return
        body = self.bodies.get(model_id)
        if body is None:
            body = json.dumps(endpoints_for(model_id, self.prices[model_id])).encode()
        self._send(req, 200, body)

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                req.send_header(name, value)
            req.end_headers()
            req.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (budget or timeout): that is the point of the test
