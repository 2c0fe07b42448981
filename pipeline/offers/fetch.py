"""Fetch many models' endpoints at once, within a wall-time budget.

One shared httpx client, ``concurrency`` requests in flight, each with the per-request timeout
and the retry rules every source uses (connect errors, timeouts, 429 and 5xx are retried with
backoff, honouring ``Retry-After``; other 4xx are not; 404 means "no endpoints page"). Two
things bound the whole stage, because it must never hold up the catalog's publish:

- the **budget**: when it is spent the caller gets what arrived and the rest is abandoned
  (requests in flight finish on their own within the per-request timeout; their answers are
  ignored, retries stop at once);
- the **breaker**: after ``breaker_failures`` models in a row failed, nobody else is asked (an
  API that is down, or answers something else, is not hammered once per model).

Bodies are read as a stream and cut at ``max_response_bytes``. The API key goes in the
Authorization header only; error messages carry the URL without its query string.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx

from pipeline.config import OffersConfig
from pipeline.records.payloads import PayloadError
from pipeline.sources.http import RETRY_STATUSES, RetryPolicy, make_client

SOURCE = "openrouter-endpoints"

Outcome = Literal["ok", "missing", "failed", "abandoned"]


class Abandoned(Exception):
    """The stage's budget ran out (or the breaker tripped) while this model waited."""


@dataclass
class Fetched:
    """What one model's request gave."""

    model_id: str
    outcome: Outcome
    body: bytes | None = None
    error: str | None = None
    attempts: int = 0
    parsed: Any = None
    """What ``parse`` made of the body (outcome `ok` only)."""


@dataclass
class FetchReport:
    """The stage's fetch, for the run report."""

    results: dict[str, Fetched] = field(default_factory=dict)
    elapsed_s: float = 0.0
    over_budget: bool = False
    breaker: str | None = None
    """Why the breaker tripped, if it did."""

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results.values() if r.outcome == outcome)


def endpoints_template(config: OffersConfig, catalog_url: str) -> str:
    """The endpoints URL with an ``{id}`` placeholder.

    Unless configured, it is derived from the catalog URL so a mirror or a test server serves
    both: same origin, the path up to and including ``/api/v1`` (or whatever precedes
    ``/models``), then ``/models/{id}/endpoints``.
    """
    if config.url:
        if "{id}" not in config.url:
            raise ValueError(f"offers.url must contain {{id}}: {config.url}")
        return config.url
    parts = urlsplit(catalog_url)
    path = parts.path.rstrip("/")
    if "/api/v1" in path:
        prefix = path[: path.index("/api/v1") + len("/api/v1")]
    elif path.endswith("/models"):
        prefix = path[: -len("/models")]
    else:
        prefix = "/api/v1"
    return f"{parts.scheme}://{parts.netloc}{prefix}/models/{{id}}/endpoints"


def endpoint_url(template: str, model_id: str) -> str:
    # Ids are `author/slug[:variant]`; anything else is escaped so an odd id cannot reach
    # another path or add a query.
    return template.replace("{id}", quote(model_id, safe="/:._-~"))


def fetch_all(
    model_ids: Sequence[str],
    *,
    template: str,
    config: OffersConfig,
    api_key: str | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    parse: Callable[[bytes, str], Any] | None = None,
) -> FetchReport:
    """GET every model's endpoints; never raises for network or upstream problems.

    ``parse(body, model_id)`` runs in the worker as each answer arrives, so decoding overlaps
    the other requests' network waits; a PayloadError from it makes the model `failed` (and
    counts towards the breaker: an API answering something else is as unusable as a down one).
    """
    began = clock()
    deadline = began + config.budget_seconds
    report = FetchReport()
    if not model_ids:
        return report
    stop = threading.Event()
    finished = threading.Event()
    """Set when every model is done or the breaker tripped: the main thread waits on it."""
    lock = threading.Lock()
    failures_in_row = 0
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    client = make_client(
        transport=transport,
        connect_timeout=config.timeout_seconds,
        read_timeout=config.timeout_seconds,
    )

    def wait_for(seconds: float) -> None:
        # Retries wait inside the budget or not at all; the stage's end interrupts them.
        if stop.is_set() or clock() + seconds > deadline:
            raise Abandoned
        if sleep is not None:
            sleep(seconds)
        elif stop.wait(seconds):
            raise Abandoned

    policy = RetryPolicy(
        max_attempts=config.max_attempts, backoff_seconds=0.5, max_backoff_seconds=10.0
    )
    policy.sleep = wait_for

    def one(model_id: str) -> Fetched:
        nonlocal failures_in_row
        if stop.is_set() or clock() >= deadline:
            return Fetched(model_id, "abandoned")
        try:
            url = endpoint_url(template, model_id)
            result = _get(client, url, model_id, headers=headers, policy=policy, config=config)
        except Abandoned:
            return Fetched(model_id, "abandoned")
        except httpx.HTTPError as exc:  # a broken stream, a bad encoding: this model only
            result = Fetched(model_id, "failed", error=f"{SOURCE}: {model_id}: {_short(exc)}")
        if result.outcome == "ok" and parse is not None and result.body is not None:
            try:
                result.parsed = parse(result.body, model_id)
            except PayloadError as exc:
                result = Fetched(model_id, "failed", error=str(exc), attempts=result.attempts)
            except Exception as exc:  # one odd answer never sinks the others
                problem = f"{SOURCE}: {model_id}: internal error {type(exc).__name__}: {exc}"
                result = Fetched(model_id, "failed", error=problem, attempts=result.attempts)
        with lock:
            if result.outcome == "failed":
                failures_in_row += 1
                if failures_in_row >= config.breaker_failures and not stop.is_set():
                    report.breaker = (
                        f"{failures_in_row} models in a row failed (last: {result.error})"
                    )
                    stop.set()
                    finished.set()
            else:
                failures_in_row = 0
        return result

    pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="offers")
    futures: dict[Future[Fetched], str] = {pool.submit(one, i): i for i in model_ids}
    remaining = len(futures)

    def close_when_idle(_: Future[Fetched]) -> None:
        # The client lives until the last request in flight is done, even past the budget.
        nonlocal remaining
        with lock:
            remaining -= 1
            last = remaining == 0
        if last:
            finished.set()
            client.close()

    for future in futures:
        future.add_done_callback(close_when_idle)
    # One event instead of concurrent.futures.wait(): that re-registers a waiter on every
    # pending future per wake-up, quadratic in the number of models.
    if not finished.wait(timeout=max(0.0, deadline - clock())):
        report.over_budget = True
    stop.set()
    pool.shutdown(wait=False, cancel_futures=True)
    for future, model_id in futures.items():
        if future.done() and not future.cancelled():
            report.results[model_id] = future.result()
        else:
            report.results[model_id] = Fetched(model_id, "abandoned")
    report.elapsed_s = clock() - began
    return report


def _get(
    client: httpx.Client,
    url: str,
    model_id: str,
    *,
    headers: dict[str, str] | None,
    policy: RetryPolicy,
    config: OffersConfig,
) -> Fetched:
    safe_url = url.split("?", 1)[0]
    problem = ""
    for attempt in range(1, policy.max_attempts + 1):
        retry_after: str | None = None
        try:
            with client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if response.is_success:
                    body = _read_capped(response, config.max_response_bytes)
                    if body is None:
                        return Fetched(
                            model_id,
                            "failed",
                            error=f"{SOURCE}: GET {safe_url}: response larger than "
                            f"{config.max_response_bytes} bytes",
                            attempts=attempt,
                        )
                    return Fetched(model_id, "ok", body=body, attempts=attempt)
                if status == 404:
                    return Fetched(model_id, "missing", attempts=attempt)
                problem = f"HTTP {status}"
                if status < 500 and status not in RETRY_STATUSES:
                    return Fetched(
                        model_id,
                        "failed",
                        error=f"{SOURCE}: GET {safe_url} answered {problem}; not retried",
                        attempts=attempt,
                    )
                retry_after = response.headers.get("Retry-After")
        except httpx.TimeoutException as exc:
            problem = f"timed out ({type(exc).__name__})"
        except httpx.TransportError as exc:
            problem = f"could not connect ({type(exc).__name__})"
        if attempt == policy.max_attempts:
            break
        policy.sleep(policy.delay(attempt, retry_after))
    return Fetched(
        model_id,
        "failed",
        error=f"{SOURCE}: GET {safe_url} failed after {policy.max_attempts} attempts: {problem}",
        attempts=policy.max_attempts,
    )


def _short(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) < 200 else text[:197] + "..."


def _read_capped(response: httpx.Response, limit: int) -> bytes | None:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
