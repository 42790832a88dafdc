"""Write-back claims and running jobs have an owner and a lease: another process settles a
claim (or takes over a clinic day) only when the owner is dead or its lease has expired."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from healthprep_desktop.store import Store
from healthprep_desktop.store.repos.jobs import JobBusyError
from healthprep_desktop.store.repos.ledger import ClaimOwner, _process_started

DAY = date(2026, 12, 1)


@pytest.fixture
def live_process() -> Iterator[ClaimOwner]:
    """Another real process that is running: the owner of someone else's claim."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield ClaimOwner(proc.pid, "other", ClaimOwner.new().host, _process_started(proc.pid))
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def dead_process() -> ClaimOwner:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return ClaimOwner(int(proc.stdout), "gone", ClaimOwner.new().host, None)


def test_only_claims_of_dead_owners_or_expired_leases_are_settleable(
    store: Store, live_process: ClaimOwner, dead_process: ClaimOwner
) -> None:
    scope = store.tenant(store.create_tenant("Clinic").id)
    ledger = scope.ledger
    ledger.claim("live", "p1", owner=live_process)
    ledger.claim("dead", "p2", owner=dead_process)
    ledger.claim("expired", "p3", owner=live_process, lease=timedelta(seconds=-1))
    ledger.claim("posted", "p4", owner=dead_process)
    ledger.complete("posted", "DocumentReference-9")
    entries = {e.idempotency_key: e for e in ledger.all()}
    assert entries["live"].owner == live_process and entries["live"].resource_id is None
    assert not entries["live"].settleable()
    assert entries["dead"].settleable()
    assert entries["expired"].settleable()
    assert not entries["posted"].settleable()
    assert entries["posted"].resource_id == "DocumentReference-9"


def test_a_second_owner_cannot_run_the_same_connection_and_day(
    store: Store, live_process: ClaimOwner, dead_process: ClaimOwner
) -> None:
    scope = store.tenant(store.create_tenant("Clinic").id)
    jobs = scope.jobs
    first = jobs.create(DAY, connection_id=1, patient_ids=["a"])
    jobs.acquire(first.id, live_process)
    me = ClaimOwner.new()
    second = jobs.create(DAY, connection_id=1, patient_ids=["a"])
    with pytest.raises(JobBusyError) as refused:
        jobs.acquire(second.id, me)
    assert f"job {first.id}" in str(refused.value) and "already running" in str(refused.value)
    with pytest.raises(JobBusyError):
        jobs.acquire(first.id, me)  # resuming it elsewhere is refused too
    # Another day or connection is free; a dead owner's job is taken over.
    jobs.acquire(jobs.create(DAY, connection_id=2).id, me)
    jobs.acquire(jobs.create(DAY + timedelta(days=1), connection_id=1).id, me)
    stale = jobs.create(DAY, connection_id=3)
    jobs.acquire(stale.id, dead_process)
    jobs.acquire(stale.id, me)
    # An expired lease frees the day even while the owner lives.
    leased = jobs.create(DAY, connection_id=4)
    jobs.acquire(leased.id, live_process, lease=timedelta(seconds=-1))
    jobs.acquire(leased.id, me)
    # Letting go frees it at once.
    jobs.let_go(leased.id, me)
    other = ClaimOwner.new()
    jobs.acquire(leased.id, other)
