"""The run lease ``models/lock.json``: one job at a time across every scheduler and trigger.

Taken with a create-only conditional write (S3 ``If-None-Match: *``, an exclusive create on
local disk), so two runs racing for a free lease cannot both win. The holder renews it from a
background thread while it works; a lease whose expiry has passed (its holder crashed or was
killed) is taken over with a conditional write on its etag, so two runs racing for an expired
lease cannot both win either. Expiry is wall-clock time, not the run's ``--now``: a replay of
an old date still holds the lease for real.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import ValidationError

from pipeline.publishing import jsonio, keys
from pipeline.publishing.store import PreconditionFailed, Store, StoreError
from pipeline.records.base import Record
from pipeline.timeutil import iso, parse_iso, utcnow

log = logging.getLogger("pipeline.publishing.lease")

Clock = Callable[[], datetime]


class LeaseRecord(Record):
    """`models/lock.json`: who holds the run lease and until when."""

    run_id: str
    """Id of the run holding the lease."""
    job: str
    """Job it runs."""
    host: str
    """Host name of the holder."""
    pid: int
    """Process id of the holder on that host."""
    started_at: str
    """When the holder took the lease, ISO-8601 UTC (wall clock)."""
    expires_at: str
    """When the lease lapses unless renewed, ISO-8601 UTC (wall clock)."""


class LeaseHeld(Exception):
    """Another run holds the lease; the message names it (exit non-zero, or ``--wait``)."""

    def __init__(self, holder: LeaseRecord, store_uri: str) -> None:
        self.holder = holder
        super().__init__(
            f"sync {holder.run_id} ({holder.job}, {holder.host}) holds the lease until "
            f"{holder.expires_at} ({keys.LOCK} in {store_uri})"
        )


class LeaseLost(StoreError):
    """The lease was taken over while this run held it (it was not renewed in time)."""


def new_run_id(job: str, now: datetime) -> str:
    """A unique id for one job run: its wall-clock start, the job and a random suffix."""
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{job}-{secrets.token_hex(3)}"


class Lease:
    """A held lease. Use as a context manager, or call ``release`` when done."""

    def __init__(
        self, store: Store, record: LeaseRecord, etag: str, ttl: timedelta, clock: Clock
    ) -> None:
        self.store = store
        self.record = record
        self.etag = etag
        self.ttl = ttl
        self.clock = clock
        self.lost: str | None = None
        """Why the lease was lost while held, or None."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def renew(self) -> None:
        """Push the expiry ``ttl`` from now. Raises LeaseLost if someone else took it."""
        with self._lock:
            if self.lost is not None:
                raise LeaseLost(self.lost)
            record = self.record.model_copy(update={"expires_at": iso(self.clock() + self.ttl)})
            try:
                self.etag = self.store.put(keys.LOCK, jsonio.dump_model(record), if_match=self.etag)
            except PreconditionFailed as exc:
                self.lost = (
                    f"run {self.record.run_id} lost the lease {keys.LOCK} in {self.store.uri}: "
                    "another run took it over after it expired"
                )
                raise LeaseLost(self.lost) from exc
            self.record = record

    def start_renewing(self, every: float, *, until: float | None = None) -> None:
        """Renew every ``every`` seconds from a daemon thread until ``release``, and never
        past ``until`` (``time.monotonic()``): a run stuck beyond its deadline must not hold
        the lease forever."""

        def loop() -> None:
            while not self._stop.wait(every):
                if until is not None and time.monotonic() > until:
                    log.error(
                        "run passed its deadline; the lease is no longer renewed",
                        extra={"run_id": self.record.run_id, "expires_at": self.record.expires_at},
                    )
                    return
                try:
                    self.renew()
                except LeaseLost as exc:
                    log.error("lease lost", extra={"run_id": self.record.run_id, "error": str(exc)})
                    return
                except StoreError as exc:  # transient: try again at the next tick
                    log.warning(
                        "lease renewal failed",
                        extra={"run_id": self.record.run_id, "error": str(exc)},
                    )

        self._thread = threading.Thread(
            target=loop, name=f"lease-{self.record.run_id}", daemon=True
        )
        self._thread.start()

    def release(self) -> None:
        """Stop renewing and remove the lease if it is still ours (never raises StoreError)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self.lost is not None:
                return
            try:
                self.store.delete(keys.LOCK, if_match=self.etag)
            except PreconditionFailed:
                log.warning("lease already taken over", extra={"run_id": self.record.run_id})
            except StoreError as exc:
                log.error(
                    "could not release the lease; it lapses at its expiry",
                    extra={
                        "run_id": self.record.run_id,
                        "expires_at": self.record.expires_at,
                        "error": str(exc),
                    },
                )

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


MAX_LOCK_BYTES = 64 * 1024
"""A lease record is ~250 bytes; anything far bigger is garbage, not a holder."""


def read_holder(store: Store) -> tuple[LeaseRecord | None, str] | None:
    """The current lease record and its etag (record None when unreadable), or None if free.

    Unreadable covers garbage, wrong types, deep nesting, a huge file and times that do not
    parse: all of them count as an expired lease (with a warning), never as a held one."""
    blob = store.get(keys.LOCK)
    if blob is None:
        return None
    if len(blob.data) > MAX_LOCK_BYTES:
        log.warning("lease file unreadable", extra={"key": keys.LOCK, "problem": "too big"})
        return None, blob.etag
    try:
        record = LeaseRecord.model_validate_json(blob.data)
        parse_iso(record.expires_at)
    except (ValidationError, ValueError) as exc:
        problem = str(exc).splitlines()[0][:200]
        log.warning("lease file unreadable", extra={"key": keys.LOCK, "problem": problem})
        return None, blob.etag
    return record, blob.etag


def acquire(
    store: Store,
    *,
    run_id: str,
    job: str,
    ttl: timedelta,
    clock: Clock = utcnow,
    wait: bool = False,
    poll_seconds: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Lease:
    """Take the lease for ``run_id``, taking over an expired one.

    Raises LeaseHeld at once when a live lease is held, unless ``wait``: then polls every
    ``poll_seconds`` until it is free or expired.
    """
    while True:
        now = clock()
        record = LeaseRecord(
            run_id=run_id,
            job=job,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=iso(now),
            expires_at=iso(now + ttl),
        )
        data = jsonio.dump_model(record)
        try:
            etag = store.put(keys.LOCK, data, if_none_match=True)
            return Lease(store, record, etag, ttl, clock)
        except PreconditionFailed:
            pass
        held = read_holder(store)
        if held is None:
            continue  # released between our write and our read: try again
        holder, etag = held
        # An unreadable lock file is treated as expired: a garbled file must not block forever.
        if holder is None or parse_iso(holder.expires_at) <= now:
            try:
                new_etag = store.put(keys.LOCK, data, if_match=etag)
            except PreconditionFailed:
                continue  # another run took it over first
            log.warning(
                "took over an expired lease",
                extra={
                    "run_id": run_id,
                    "previous_run_id": holder.run_id if holder else None,
                    "previous_host": holder.host if holder else None,
                    "expired_at": holder.expires_at if holder else None,
                },
            )
            return Lease(store, record, new_etag, ttl, clock)
        if not wait:
            raise LeaseHeld(holder, store.uri)
        log.info(
            "waiting for the lease",
            extra={"run_id": run_id, "holder": holder.run_id, "until": holder.expires_at},
        )
        sleep(poll_seconds)
