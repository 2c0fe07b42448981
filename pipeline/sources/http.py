"""One careful GET, shared by every source adapter.

Explicit timeouts, a User-Agent naming the project, and bounded retries with exponential
backoff on connection errors, timeouts, 429 and 5xx (honouring ``Retry-After``). Anything
else (4xx) fails at once: retrying a 401 only hides a missing key.
"""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from pipeline import __version__

USER_AGENT = f"model-catalog-sync/{__version__} (+https://github.com/model-catalog-sync)"
# Retried: every 5xx, plus request timeout, too early and rate limited.
RETRY_STATUSES = frozenset({408, 425, 429})


class FetchError(Exception):
    """A source could not be fetched; the message names the source and what went wrong."""


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


def get_with_retries(
    client: httpx.Client,
    url: str,
    *,
    source: str,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    policy: RetryPolicy | None = None,
    on_retry: Callable[[int, str, float], None] | None = None,
) -> httpx.Response:
    """GET ``url``; return the successful response or raise FetchError naming ``source``.

    Error messages carry the URL without its query string and never a header value, so an API
    key can never leak into a log or a status file.
    """
    policy = policy or RetryPolicy()
    safe_url = url.split("?", 1)[0]
    last_problem = ""
    for attempt in range(1, policy.max_attempts + 1):
        retry_after: str | None = None
        try:
            response = client.get(url, headers=headers, params=params)
        except httpx.TimeoutException as exc:
            last_problem = f"timed out ({type(exc).__name__})"
        except httpx.TransportError as exc:
            last_problem = f"could not connect ({_short(exc)})"
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
        if on_retry is not None:
            on_retry(attempt, last_problem, wait)
        policy.sleep(wait)
    raise FetchError(
        f"{source}: GET {safe_url} failed after {policy.max_attempts} attempts: {last_problem}"
    )


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:197] + "..."
