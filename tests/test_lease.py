"""The run lease: create-only take, takeover of an expired lease, renewal, release, --wait, and
two syncs started together against one store (local disk and moto's S3 server)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import fixture_path
from storewrap import FaultyStore, check_published, moto_server

from pipeline.config import CatalogConfig
from pipeline.publishing import keys
from pipeline.publishing.lease import LeaseHeld, LeaseLost, acquire, read_holder
from pipeline.publishing.store import LocalStore, S3Store, Store
from pipeline.runs.jobs import EXIT_LOCKED, JobResult, run_job
from pipeline.timeutil import parse_iso

T0 = parse_iso("2026-08-19T06:00:00Z")
TTL = timedelta(seconds=60)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_lease_is_create_only_and_names_its_holder(store):
    clock = FakeClock()
    lease = acquire(store, run_id="run-a", job="full_refresh", ttl=TTL, clock=clock)
    holder, _ = read_holder(store)
    assert (holder.run_id, holder.job, holder.expires_at) == (
        "run-a",
        "full_refresh",
        "2026-08-19T06:01:00Z",
    )
    assert holder.host and holder.pid > 0
    with pytest.raises(LeaseHeld) as info:
        acquire(store, run_id="run-b", job="deprecation_sweep", ttl=TTL, clock=clock)
    message = str(info.value)
    assert message.startswith(
        f"sync run-a (full_refresh, {holder.host}) holds the lease until 2026-08-19T06:01:00Z"
    )
    lease.release()
    assert store.get(keys.LOCK) is None
    acquire(store, run_id="run-b", job="deprecation_sweep", ttl=TTL, clock=clock).release()


def test_expired_lease_is_taken_over_and_the_old_holder_cannot_renew_or_release(store):
    clock = FakeClock()
    old = acquire(store, run_id="dead", job="full_refresh", ttl=TTL, clock=clock)
    clock.advance(61)
    new = acquire(store, run_id="alive", job="full_refresh", ttl=TTL, clock=clock)
    assert read_holder(store)[0].run_id == "alive"
    with pytest.raises(LeaseLost, match="lost the lease"):
        old.renew()
    old.release()  # must not remove the new holder's lease
    assert read_holder(store)[0].run_id == "alive"
    new.release()
    assert store.get(keys.LOCK) is None


def test_renewal_pushes_the_expiry(store):
    clock = FakeClock()
    lease = acquire(store, run_id="long", job="full_refresh", ttl=TTL, clock=clock)
    clock.advance(50)
    lease.renew()
    clock.advance(50)  # 100 s after the start, but renewed at 50 s: still held
    with pytest.raises(LeaseHeld):
        acquire(store, run_id="other", job="full_refresh", ttl=TTL, clock=clock)
    lease.release()


def test_background_renewal_writes_the_lease(tmp_path):
    renewed = threading.Event()
    writes: list[str] = []

    def hook(op: str, key: str) -> None:
        writes.append(key)
        if key == keys.LOCK and len(writes) >= 3:
            renewed.set()

    store = FaultyStore(LocalStore(tmp_path), hook=hook)
    lease = acquire(store, run_id="long", job="full_refresh", ttl=TTL, clock=FakeClock())
    lease.start_renewing(0.01)
    assert renewed.wait(30), "the lease was not renewed"
    lease.release()
    assert store.get(keys.LOCK) is None


def test_wait_polls_until_the_holder_expires(store):
    clock = FakeClock()
    acquire(store, run_id="slow", job="full_refresh", ttl=TTL, clock=clock)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    lease = acquire(
        store,
        run_id="patient",
        job="deprecation_sweep",
        ttl=TTL,
        clock=clock,
        wait=True,
        poll_seconds=20,
        sleep=sleep,
    )
    assert read_holder(store)[0].run_id == "patient"
    assert waits == [20, 20, 20]
    lease.release()


def test_garbled_lock_file_does_not_block_forever(store):
    store.put(keys.LOCK, b"{not json")
    acquire(store, run_id="fixer", job="full_refresh", ttl=TTL, clock=FakeClock()).release()


def test_run_job_reports_the_holder_and_records_locked(store, config):
    holder = acquire(store, run_id="manual-1", job="full_refresh", ttl=timedelta(hours=1))
    result = run_job("deprecation_sweep", store, config)
    assert result.outcome == "locked"
    assert result.exit_code == EXIT_LOCKED
    assert "sync manual-1 (full_refresh," in result.error
    assert "holds the lease until" in result.error
    status = check_status(store)
    assert status["jobs"]["deprecation_sweep"]["outcome"] == "locked"
    holder.release()


def check_status(store: Store) -> dict:
    from pipeline.publishing import jsonio

    blob = store.get(keys.STATUS)
    assert blob is not None
    return jsonio.loads(blob.data)


# -- two syncs started together -----------------------------------------------------------------


def _race(stores: list[Store], payload: Path) -> list[JobResult]:
    """Start one full_refresh per store at the same moment. Whoever wins the lease is held at
    its first well-known write until the other has returned, so the two really overlap."""
    loser_done = threading.Event()
    start = threading.Barrier(len(stores))
    results: list[JobResult | None] = [None] * len(stores)
    errors: list[BaseException] = []

    def hold(op: str, key: str) -> None:
        if key == keys.CURRENT:
            assert loser_done.wait(60), "the other sync never returned"

    def go(index: int) -> None:
        try:
            start.wait()
            results[index] = run_job(
                "full_refresh",
                FaultyStore(stores[index], hook=hold),
                CatalogConfig(),
                now=T0,
                from_file=payload,
            )
            if results[index].outcome == "locked":
                loser_done.set()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            loser_done.set()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return [r for r in results if r is not None]


def _check_race(results: list[JobResult], store: Store) -> None:
    assert len(results) == 2
    published = [r for r in results if r.published]
    locked = [r for r in results if r.outcome == "locked"]
    assert len(published) == 1 and len(locked) == 1, [(r.outcome, r.error) for r in results]
    assert locked[0].exit_code == EXIT_LOCKED
    assert locked[0].holder is not None
    assert "holds the lease until" in locked[0].error
    assert locked[0].holder.job == "full_refresh"
    check_published(store)
    assert store.get(keys.LOCK) is None


def test_two_syncs_together_on_local_disk(tmp_path):
    payload = fixture_path("openrouter-models-2026-08-19.json")
    stores: list[Store] = [LocalStore(tmp_path / "s"), LocalStore(tmp_path / "s")]
    _check_race(_race(stores, payload), stores[0])


@pytest.mark.slow
@pytest.mark.usefixtures("aws_env")
def test_two_syncs_together_on_moto_server():
    payload = fixture_path("openrouter-models-2026-08-19.json")
    with moto_server() as endpoint:
        stores: list[Store] = [
            S3Store("catalog-test", "race", endpoint_url=endpoint, region="us-east-1")
            for _ in range(2)
        ]
        _check_race(_race(stores, payload), stores[0])
