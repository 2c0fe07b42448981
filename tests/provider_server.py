"""A real HTTP server on 127.0.0.1 that plays the provider APIs from recorded payloads.

Each source is mounted under ``/<source>`` at the path its real API uses (``/openai/v1/models``,
``/gemini/v1beta/models``, ``/ollama/api/tags``, ...), checks the auth header that API
requires (401 otherwise, like the real ones), and paginates the way the real API does by
splitting the recorded list into pages. It counts requests per source and can be told to
answer 500 or to stall, so cache and fallback behaviour is observable from outside.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


class LocalServer(ThreadingHTTPServer):
    # The stdlib listens with a backlog of 5: eight concurrent clients on a loaded machine
    # then see refused connections, which would read as upstream failures in the tests.
    request_queue_size = 128
    daemon_threads = True


class LocalHTTP:
    """A :class:`LocalServer` on 127.0.0.1 (port 0) in a daemon thread whose GET requests go
    to ``self.handle(req)``; ``with`` starts and stops it. ``self.url`` is its base URL."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = LocalServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


KEY = "sk-test-0123456789abcdef"

# source type → (path under the base URL, default fixture, auth style, pagination style)
API_PATHS = {
    "openai": "/v1/models",
    "anthropic": "/v1/models",
    "gemini": "/v1beta/models",
    "mistral": "/v1/models",
    "groq": "/openai/v1/models",
    "cohere": "/v1/models",
    "together": "/v1/models",
    "cerebras": "/v1/models",
    "deepseek": "/models",
    "dashscope": "/compatible-mode/v1/models",
    "moonshot": "/v1/models",
    "ollama": "/api/tags",
    "lmstudio": "/v1/models",
    "openai-compatible": "/v1/models",
    # Independent catalogs: one file each, at the path their real hosts serve it under.
    "modelsdev": "/api.json",
    "litellm": "/model_prices_and_context_window.json",
    "genai-prices": "/prices/data.json",
}
CATALOG_TYPES = frozenset({"modelsdev", "litellm", "genai-prices"})
PAGE_SIZES = {"anthropic": 4, "gemini": 20, "cohere": 10}


def base_path(source_type: str) -> str:
    """The part of the real base URL after the host (``/openai/v1`` for Groq, ...); for an
    independent catalog, the path of its file (its ``url`` is the full URL)."""
    if source_type == "ollama":
        return ""
    if source_type in CATALOG_TYPES:
        return API_PATHS[source_type]
    return API_PATHS[source_type].removesuffix("/models")


@dataclass
class Mount:
    source: str
    source_type: str
    payload: bytes
    mode: str = "ok"  # ok | 500 | slow
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


class ProviderServer(LocalHTTP):
    """Start with ``with ProviderServer() as server``; mount sources with ``mount()``."""

    def __init__(self) -> None:
        super().__init__()
        self.mounts: dict[str, Mount] = {}
        self.counts: Counter[str] = Counter()
        self.barrier: threading.Barrier | None = None
        self._lock = threading.Lock()

    def mount(self, source: str, source_type: str, payload: Path | bytes) -> str:
        """Serve ``payload`` as ``source``'s list; returns the base URL to configure."""
        data = payload.read_bytes() if isinstance(payload, Path) else payload
        self.mounts[source] = Mount(source, source_type, data)
        return f"{self.url}/{source}{base_path(source_type)}"

    def requests(self, source: str) -> int:
        return self.counts[source]

    # -- request handling -----------------------------------------------------------------

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        source = parts.path.split("/", 2)[1]
        mount = self.mounts.get(source)
        if mount is None or parts.path != f"/{source}{API_PATHS[mount.source_type]}":
            self._send(req, 404, b'{"error": "not found"}')
            return
        with self._lock:
            self.counts[source] += 1
            mount.requests.append({"query": parse_qs(parts.query), "headers": dict(req.headers)})
        if self.barrier is not None:
            # Every source must be in flight at once for the barrier to open.
            self.barrier.wait(timeout=10)
        if mount.delay:
            time.sleep(mount.delay)
        if mount.mode == "500":
            self._send(req, 500, b'{"error": "internal"}')
            return
        if mount.mode == "slow":
            time.sleep(1.0)
        problem = self._auth_problem(mount, req)
        if problem:
            self._send(req, 401, json.dumps({"error": problem}).encode())
            return
        self._send(req, 200, self._page(mount, parse_qs(parts.query)))

    @staticmethod
    def _auth_problem(mount: Mount, req: BaseHTTPRequestHandler) -> str | None:
        kind = mount.source_type
        if kind in ("ollama", "lmstudio", "openai-compatible") or kind in CATALOG_TYPES:
            return None
        if kind == "anthropic":
            if req.headers.get("x-api-key") != KEY:
                return "x-api-key missing or wrong"
            if not req.headers.get("anthropic-version"):
                return "anthropic-version header is required"
            return None
        if kind == "gemini":
            return None if req.headers.get("x-goog-api-key") == KEY else "x-goog-api-key wrong"
        if req.headers.get("Authorization") != f"Bearer {KEY}":
            return "Bearer token missing or wrong"
        return None

    @staticmethod
    def _page(mount: Mount, query: dict[str, list[str]]) -> bytes:
        kind = mount.source_type
        if kind not in PAGE_SIZES:
            return mount.payload
        size = PAGE_SIZES[kind]
        document = json.loads(mount.payload)
        if kind == "anthropic":
            items = document["data"]
            after = query.get("after_id", [None])[0]
            start = 0 if after is None else [m["id"] for m in items].index(after) + 1
            chunk = items[start : start + size]
            return json.dumps(
                {
                    "data": chunk,
                    "has_more": start + size < len(items),
                    "first_id": chunk[0]["id"] if chunk else None,
                    "last_id": chunk[-1]["id"] if chunk else None,
                }
            ).encode()
        items = document["models"]
        token_key = "pageToken" if kind == "gemini" else "page_token"
        next_key = "nextPageToken" if kind == "gemini" else "next_page_token"
        start = int(query.get(token_key, ["0"])[0].removeprefix("p") or 0)
        page: dict[str, Any] = {"models": items[start : start + size]}
        if start + size < len(items):
            page[next_key] = f"p{start + size}"
        return json.dumps(page).encode()

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)


def expected_pages(source_type: str, payload: bytes) -> int:
    """How many requests a full listing takes against this server."""
    if source_type not in PAGE_SIZES:
        return 1
    document = json.loads(payload)
    items = document["data" if source_type == "anthropic" else "models"]
    size = PAGE_SIZES[source_type]
    return max(1, -(-len(items) // size))


def items_of(payload: bytes) -> list[Any]:
    document = json.loads(payload)
    if isinstance(document, list):
        return document
    return document["data"] if "data" in document else document["models"]
