"""HTTP hygiene for the reader service, as one pure ASGI middleware: ``HEAD`` on every ``GET``
route, trailing slashes, CORS for the read-only routes, gzip for bodies the routes did not
compress themselves, and ``X-Content-Type-Options``/``Referrer-Policy`` on every answer.

Why one middleware and not Starlette's CORS/GZip ones: the catalog routes already answer from
bytes compressed once per catalog version (``bodies.Body``), so compressing again per request
(GZipMiddleware) would throw away most of the throughput; this layer only compresses what comes
through uncompressed (admin, metrics, other routers' answers), and costs one header scan on the
hot path. What it compresses under a strong ETag (the explorer's cached pages and their JSON,
built once per catalog version) it keeps, bounded (``GzipCache``), so the same bytes are not
compressed again for every browser that asks.
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MIN_COMPRESS_BYTES = 1024
"""Smaller bodies gain too little to pay for the gzip header and the work."""
GZIP_LEVEL = 6
MAX_BUFFERED_BYTES = 64 * 1024 * 1024
"""A body announced larger than this passes uncompressed (never buffered whole)."""
COMPRESSIBLE = (b"application/json", b"text/", b"application/problem+json")
PRIVATE_PREFIXES = ("/api/admin",)
"""Routes that never get CORS headers: a browser page on another origin must not drive them."""
CORS_METHODS = b"GET, HEAD, OPTIONS"
CORS_MAX_AGE = b"600"
EXPOSED = b"ETag, Content-Encoding, Content-Length"
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
"""On every answer (issue 27): a browser never guesses a type the answer did not state (a
JSON body holding markup is not a page), and no URL of the reader (filters, ids) is sent on
to another site in a Referer header."""


KEPT_MIN_BYTES = 16 * 1024
"""Compressed answers kept only from this size up: below it compressing costs little."""
KEPT_BYTES = 16 * 1024 * 1024
"""What the kept compressed answers may hold in all (the oldest are dropped first)."""
KEPT_ENTRIES = 256


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (no timestamp in the header): same bytes in, same bytes out."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


_ACCEPTS: dict[bytes, bool] = {}


def accepts_gzip(header: bytes) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (``q=0`` refuses it). Memoized: clients
    send a handful of distinct values."""
    known = _ACCEPTS.get(header)
    if known is not None:
        return known
    allowed = False
    for item in header.decode("latin-1").lower().split(","):
        name, _, params = item.strip().partition(";")
        if name.strip() not in ("gzip", "*"):
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        allowed = quality > 0
        if name.strip() == "gzip":
            break
    if len(_ACCEPTS) < 256:
        _ACCEPTS[header] = allowed
    return allowed


class GzipCache:
    """Compressed bodies by their strong ETag, bounded in bytes and entries (least recently
    used dropped first). A strong ETag names one exact representation (RFC 9110 §8.8.1): every
    ETag this service sends is a hash of the body's bytes, so the same tag and length are the
    same body. Used from the event loop only, so it takes no lock."""

    def __init__(self, max_bytes: int = KEPT_BYTES, max_entries: int = KEPT_ENTRIES) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.bytes = 0
        self._kept: OrderedDict[tuple[bytes, int], bytes] = OrderedDict()

    def compressed(self, etag: bytes | None, body: bytes) -> bytes:
        """``gzip_bytes(body)``, compressed once per strong ETag for bodies worth keeping."""
        if etag is None or etag.startswith(b"W/") or len(body) < KEPT_MIN_BYTES:
            return gzip_bytes(body)
        key = (etag, len(body))
        data = self._kept.get(key)
        if data is not None:
            self._kept.move_to_end(key)
            return data
        data = gzip_bytes(body)
        if len(data) <= self.max_bytes:
            self._kept[key] = data
            self.bytes += len(data)
            while self.bytes > self.max_bytes or len(self._kept) > self.max_entries:
                _, dropped = self._kept.popitem(last=False)
                self.bytes -= len(dropped)
        return data


def _header(headers: Iterable[tuple[bytes, bytes]], wanted: bytes) -> bytes | None:
    for name, value in headers:
        if name == wanted:
            return value
    return None


class HttpHygiene:
    """HEAD → the GET route without its body; ``/path/`` → ``/path``; CORS (any origin, or only
    ``cors_origins``; never on ``/api/admin``); gzip for uncompressed bodies over 1 kB when the
    client accepts it."""

    def __init__(self, app: ASGIApp, cors_origins: Sequence[str] | None = ("*",)) -> None:
        self.app = app
        origins = [o.strip().rstrip("/") for o in cors_origins or () if o.strip()]
        self.any_origin = "*" in origins
        self.origins = frozenset(o.encode() for o in origins if o != "*")
        self.kept = GzipCache()

    def _allow(self, origin: bytes | None, path: str) -> bytes | None:
        """The Access-Control-Allow-Origin value for this request, or None for no CORS."""
        if origin is None or path.startswith(PRIVATE_PREFIXES):
            return None
        if self.any_origin:
            return b"*"
        return origin if origin in self.origins else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        origin = accept = preflight = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"accept-encoding":
                accept = value
            elif name == b"access-control-request-method":
                preflight = value
        gzip_ok = accept is not None and accepts_gzip(accept)
        trailing = len(path) > 1 and path.endswith("/")
        if method == "GET" and origin is None and not gzip_ok and not trailing:
            # The plain fast path: only the security headers to add.
            await self.app(scope, receive, _secured(send))
            return
        if trailing:
            # List routes answer with or without the slash; a redirect would lose clients
            # that do not follow one (several SDKs) and cost a round trip for the rest.
            scope = dict(scope)
            scope["path"] = path = path.rstrip("/") or "/"
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                scope["raw_path"] = raw.rstrip(b"/") or b"/"
        allow = self._allow(origin, path)
        if method == "OPTIONS" and preflight is not None and allow is not None:
            await self._preflight(scope, allow, send)
            return
        head = method == "HEAD"
        if head:
            scope = dict(scope)
            scope["method"] = "GET"
        await self.app(scope, receive, self._sender(send, allow, gzip_ok and not head, head))

    async def _preflight(self, scope: Scope, allow: bytes, send: Send) -> None:
        requested = _header(scope["headers"], b"access-control-request-headers")
        headers = [
            *SECURITY_HEADERS,
            (b"access-control-allow-origin", allow),
            (b"access-control-allow-methods", CORS_METHODS),
            (b"access-control-max-age", CORS_MAX_AGE),
            (b"content-length", b"0"),
        ]
        if requested:
            headers.append((b"access-control-allow-headers", requested))
        if allow != b"*":
            headers.append((b"vary", b"Origin"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _sender(self, send: Send, allow: bytes | None, compress: bool, head: bool) -> Send:
        if allow is None and not compress and not head:
            return _secured(send)  # only the security headers to add
        added: list[tuple[bytes, bytes]] = [*SECURITY_HEADERS]
        if allow is not None:
            added += [
                (b"access-control-allow-origin", allow),
                (b"access-control-expose-headers", EXPOSED),
            ]
            if allow != b"*":
                added.append((b"vary", b"Origin"))
        held: list[Message] = []
        chunks: list[bytes] = []

        async def sender(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *added]}
                if compress and _worth_compressing(message["status"], message.get("headers", ())):
                    held.append(message)
                    return
                await send(message)
                return
            if kind != "http.response.body":
                await send(message)
                return
            if held:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await _send_compressed(send, held[0], b"".join(chunks), self.kept)
                held.clear()
                return
            if head:
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        return sender


def _secured(send: Send) -> Send:
    """``send`` with the security headers added to the response's start."""

    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *SECURITY_HEADERS]}
        await send(message)

    return sender


def _worth_compressing(status: int, headers: Iterable[tuple[bytes, bytes]]) -> bool:
    if status < 200 or status in (204, 304):
        return False
    length = kind = None
    for name, value in headers:
        if name == b"content-encoding":
            return False  # already encoded (the catalog routes' cached gzip bodies)
        if name == b"content-length":
            length = value
        elif name == b"content-type":
            kind = value
    if length is None or kind is None or not kind.startswith(COMPRESSIBLE):
        return False
    try:
        size = int(length)
    except ValueError:
        return False
    return MIN_COMPRESS_BYTES <= size <= MAX_BUFFERED_BYTES


async def _send_compressed(send: Send, start: Message, body: bytes, kept: GzipCache) -> None:
    etag = _header(start["headers"], b"etag")
    data = kept.compressed(etag, body)
    headers = [(k, v) for k, v in start["headers"] if k not in (b"content-length", b"etag")]
    headers += [
        (b"content-length", str(len(data)).encode()),
        (b"content-encoding", b"gzip"),
        (b"vary", b"Accept-Encoding"),
    ]
    if etag is not None:
        # A different representation needs a different strong ETag (RFC 9110 §8.8.3).
        headers.append((b"etag", etag[:-1] + b'-gz"' if etag.endswith(b'"') else etag))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})
