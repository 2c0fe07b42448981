"""Answers serialized once, shared by the service and every router mounted on it.

A ``Body`` is one answer's bytes with their ETag and, built on first use, the gzip variant;
``encode`` makes one from a JSON document (secrets scrubbed), ``respond`` answers a request
with it: the gzip variant when the client accepts gzip, a 304 on a matching ``If-None-Match``.
``cached`` keeps a catalog answer in the snapshot's memo, so it is serialized and compressed at
most once per catalog version. The cache policies the routes answer with are defined here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import Response

from pipeline.logs import redact
from pipeline.registry.core import CatalogUnavailable, Registry, Snapshot
from pipeline.service.http import MIN_COMPRESS_BYTES, accepts_gzip, gzip_bytes

CATALOG_CACHE = "public, max-age=30"
"""Catalog answers change at most once per poll; clients revalidate with the ETag after that."""
LIVE_CACHE = "no-cache"
ADMIN_CACHE = "private, no-cache"

SCRUB_LIMIT = 256 * 1024
"""Bytes: answers up to this size are scrubbed of secrets when encoded (see ``encode``)."""


@dataclass(frozen=True)
class Body:
    """Serialized once: the bytes, their ETag, (built on first use) the raw headers and the
    gzip variant, so a body is compressed at most once per catalog version."""

    data: bytes
    etag: str
    status: int = 200
    encoding: str | None = None
    """`gzip` for the compressed variant."""
    raw: dict[tuple[str, str], list[tuple[bytes, bytes]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    variants: dict[str, Body] = field(default_factory=dict, compare=False, repr=False)

    @property
    def compressible(self) -> bool:
        return self.encoding is None and len(self.data) >= MIN_COMPRESS_BYTES

    def gzipped(self) -> Body:
        """The gzip variant (built once; racing builders produce the same bytes)."""
        variant = self.variants.get("gzip")
        if variant is None:
            etag = self.etag[:-1] + '-gz"'
            variant = Body(gzip_bytes(self.data), etag, self.status, "gzip")
            self.variants["gzip"] = variant
        return variant

    def raw_headers(self, cache: str, media_type: str) -> list[tuple[bytes, bytes]]:
        key = (cache, media_type)
        headers = self.raw.get(key)
        if headers is None:
            headers = [
                (b"content-length", str(len(self.data)).encode()),
                (b"content-type", media_type.encode()),
                (b"etag", self.etag.encode()),
                (b"cache-control", cache.encode()),
            ]
            if self.encoding is not None:
                headers.append((b"content-encoding", self.encoding.encode()))
            if self.encoding is not None or self.compressible:
                # Either variant may be served for this URL: caches must key on the header.
                headers.append((b"vary", b"Accept-Encoding"))
            self.raw[key] = headers
        return headers


class Prebuilt(Response):
    """A response from a cached Body: no per-request header encoding."""

    def __init__(self, body: Body, cache: str, media_type: str) -> None:
        self.status_code = body.status
        self.body = body.data
        self.background = None
        self.raw_headers = list(body.raw_headers(cache, media_type))


def etag_of(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()[:24]}"'


def encode(document: Any, status: int = 200) -> Body:
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # Admin answers and errors carry run errors: no secret leaves (docs/hardening.md). Large
    # bodies are catalog pages built from published artifacts, scrubbed when they were
    # written; scanning each again would cost more than building it.
    if len(data) <= SCRUB_LIMIT:
        data = redact.redact_bytes(data)
    return Body(data, etag_of(data), status)


def _matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    # Either representation's tag (identity or `-gz`) names the same content.
    return any(
        tag.strip().removeprefix("W/").replace('-gz"', '"') == etag for tag in header.split(",")
    )


def respond(
    request: Request, body: Body, cache: str, media_type: str = "application/json"
) -> Response:
    """``body`` (or its gzip variant when the client accepts gzip), or 304 on a matching ETag."""
    condition = accept = None
    for name, value in request.scope["headers"]:
        if name == b"if-none-match":
            condition = value
        elif name == b"accept-encoding":
            accept = value
    chosen = body.gzipped() if accept and body.compressible and accepts_gzip(accept) else body
    if (
        condition is not None
        and body.status == 200
        and _matches(condition.decode("latin-1"), body.etag)
    ):
        headers = {"ETag": chosen.etag, "Cache-Control": cache}
        if chosen is not body or body.compressible:
            headers["Vary"] = "Accept-Encoding"
        return Response(status_code=304, headers=headers)
    return Prebuilt(chosen, cache, media_type)


def current_snapshot(registry: Registry) -> Snapshot:
    """The catalog ``registry`` serves now; a 503 when none is loaded (yet)."""
    try:
        return registry.snapshot
    except CatalogUnavailable as exc:
        raise HTTPException(503, f"catalog not loaded: {exc}") from exc


def cached(registry: Registry, key: tuple[Any, ...], build: Callable[[Snapshot], Any]) -> Body:
    """The encoded ``build(snapshot)``, kept in the current snapshot's memo under ``key``."""
    snap = current_snapshot(registry)
    return snap.memo(("body", *key), lambda: encode(build(snap)))


__all__ = [
    "ADMIN_CACHE",
    "CATALOG_CACHE",
    "LIVE_CACHE",
    "Body",
    "Prebuilt",
    "cached",
    "current_snapshot",
    "encode",
    "etag_of",
    "respond",
]
