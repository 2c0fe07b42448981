"""One careful GET, shared by every source adapter.

Explicit timeouts, a User-Agent naming the project, and bounded retries with exponential
backoff on connection errors, timeouts, 429 and 5xx (honouring ``Retry-After``). Anything
else (4xx) fails at once: retrying a 401 only hides a missing key.
"""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from pipeline import __version__
from pipeline.logs.redact import redact

USER_AGENT = f"model-catalog-sync/{__version__} (+https://github.com/model-catalog-sync)"
# Retried: every 5xx, plus request timeout, too early and rate limited.
RETRY_STATUSES = frozenset({408, 425, 429})
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
"""Largest response body read (the largest real payload, OpenRouter's full listing, is ~1 MB;
a synthetic 100k-model catalog ~40 MB). A bigger body is refused, not buffered."""
DEFAULT_DEADLINE_SECONDS = 600.0
"""Longest one fetch may take, retries included: ``read_timeout`` alone never trips on a body
trickling one byte a second."""


class FetchError(Exception):
    """A source could not be fetched; the message names the source and what went wrong.

    The message is scrubbed of secrets when the error is made: it quotes exception texts
    (httpx's "Illegal header value b'Bearer sk-…'") and ends up in status and artifacts."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


@dataclass
class RetryPolicy:
    """How hard to try. Defaults suit a scheduled job: about a minute in the worst case."""

    max_attempts: int = 4
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        hinted = _parse_retry_after(retry_after)
        if hinted is not None:
            return float(min(hinted, self.max_backoff_seconds))
        return float(min(self.backoff_seconds * (2 ** (attempt - 1)), self.max_backoff_seconds))


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def make_client(
    *,
    transport: httpx.BaseTransport | None = None,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """An httpx client with explicit timeouts and the project's User-Agent.

    Pass a shared ``verify`` SSL context when making many clients: building one costs tens of
    milliseconds (it loads the CA bundle), which adds up across concurrent sources.
    """
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
    return httpx.Client(
        transport=transport,
        verify=verify,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=True,
    )


class DeferredSSLContext(ssl.SSLContext):
    """An SSL context for clients made before the CA bundle is loaded.

    Loading the bundle (``httpx.create_ssl_context``) takes 40-100 ms of OpenSSL's time and
    is needed only at a TLS handshake. This context is handed to every client at once; the
    real one, built by ``load`` on another thread, is waited for only where TLS uses it:
    ALPN set before a handshake, and the handshake itself (``wrap_socket``, ``wrap_bio``). So
    a plain-HTTP source (ollama, a local vLLM) sends its request without waiting, and an
    HTTPS one resolves and connects while the bundle loads. Every TLS connection runs on the
    real context, whose trust is exactly httpx's default (certifi, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR``); this object's own settings are those of a fresh client context
    (certificates required, host names checked) and are never used for a connection.
    """

    _load: Callable[[], ssl.SSLContext]

    def __new__(cls, load: Callable[[], ssl.SSLContext]) -> DeferredSSLContext:
        context = super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)
        context._load = load
        return context

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        self._load().set_alpn_protocols(alpn_protocols)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        return self._load().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        return self._load().wrap_bio(*args, **kwargs)


def get_with_retries(
    client: httpx.Client,
    url: str,
    *,
    source: str,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    policy: RetryPolicy | None = None,
    on_retry: Callable[[int, str, float], None] | None = None,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> httpx.Response:
    """GET ``url``; return the successful response or raise FetchError naming ``source``.

    Error messages carry the URL without its query string and never a header value, so an API
    key can never leak into a log or a status file. The body is streamed and refused beyond
    ``max_bytes``; the whole fetch, retries and waits included, ends after
    ``deadline_seconds`` (checked between chunks, so a trickling body cannot hold it open).
    """
    policy = policy or RetryPolicy()
    safe_url = url.split("?", 1)[0]
    deadline = clock() + deadline_seconds
    last_problem = ""
    for attempt in range(1, policy.max_attempts + 1):
        retry_after: str | None = None
        try:
            response = _get_bounded(
                client,
                url,
                headers,
                params,
                max_bytes,
                deadline,
                clock,
                f"{source}: GET {safe_url}",
            )
        except httpx.TimeoutException as exc:
            last_problem = f"timed out ({type(exc).__name__})"
        except httpx.TransportError as exc:
            last_problem = f"could not connect ({_short(exc)})"
        except httpx.HTTPError as exc:
            # Anything else httpx raises (a header it refuses to send, a bad redirect).
            last_problem = f"request failed ({_short(exc)})"
        else:
            if response.is_success:
                return response
            status = response.status_code
            last_problem = f"HTTP {status}"
            if status < 500 and status not in RETRY_STATUSES:
                raise FetchError(f"{source}: GET {safe_url} answered {last_problem}; not retried")
            retry_after = response.headers.get("Retry-After")
        if attempt == policy.max_attempts:
            break
        wait = policy.delay(attempt, retry_after)
        if clock() + wait >= deadline:
            raise FetchError(
                f"{source}: GET {safe_url} gave up at its {deadline_seconds:g}s deadline "
                f"after {attempt} attempt(s): {last_problem}"
            )
        if on_retry is not None:
            on_retry(attempt, last_problem, wait)
        policy.sleep(wait)
    raise FetchError(
        f"{source}: GET {safe_url} failed after {policy.max_attempts} attempts: {last_problem}"
    )


class _TooLarge(FetchError):
    """The body is over the limit or the deadline passed: never retried."""


def _get_bounded(  # noqa: PLR0917 - private helper, called once
    client: httpx.Client,
    url: str,
    headers: Mapping[str, str] | None,
    params: Mapping[str, str] | None,
    max_bytes: int,
    deadline: float,
    clock: Callable[[], float],
    what: str,
) -> httpx.Response:
    """One GET whose body is read in chunks, refused past ``max_bytes`` or ``deadline``."""
    if clock() >= deadline:
        raise _TooLarge(f"{what}: the fetch deadline passed before the request")
    with client.stream("GET", url, headers=headers, params=params) as response:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _TooLarge(
                f"{what}: the body is {int(declared)} bytes, over the {max_bytes}-byte limit"
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise _TooLarge(f"{what}: the body is over the {max_bytes}-byte limit")
            if clock() > deadline:
                raise _TooLarge(f"{what}: the download passed its deadline ({size} bytes read)")
            chunks.append(chunk)
    # The decoded body, detached from the connection; no Content-Encoding so httpx does not
    # decode it a second time.
    kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
    return httpx.Response(
        response.status_code, headers=kept, content=b"".join(chunks), request=response.request
    )


def _short(exc: Exception) -> str:
    text = redact(str(exc)) or type(exc).__name__
    return text if len(text) < 200 else text[:197] + "..."
