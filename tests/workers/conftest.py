"""Batch fixtures: the real demo clinic (embedded sandbox over loopback HTTP), the real
encrypted store, and one shared process pool (spawning workers costs about a second)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from workers_support import CLINIC_DAY, Setup

from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.sandbox.config import FaultConfig
from healthprep_desktop.store import Store
from healthprep_desktop.workers.connections import open_connection
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.demo import DemoClinic


@pytest.fixture(scope="session")
def cpu_pool() -> Iterator[CpuPool]:
    pool = CpuPool(workers=2)
    try:
        yield pool
    finally:
        pool.shutdown()


@pytest.fixture
def demo() -> Iterator[DemoClinic]:
    clinic = DemoClinic(patients=40, seed=7, clinic_day=CLINIC_DAY, faults=FaultConfig())
    with clinic:
        yield clinic


@pytest.fixture
def setup(demo: DemoClinic) -> Iterator[Setup]:
    store = Store.open()
    tenant = store.create_tenant("Test clinic")
    connection_id = demo.ensure_connection(store, tenant.id)
    try:
        yield Setup(store, store.tenant(tenant.id), connection_id, demo)
    finally:
        store.close()


@pytest.fixture
async def connection(setup: Setup) -> AsyncIterator[FhirConnection]:
    conn = open_connection(setup.store, setup.scope.id, setup.connection_id, keep_invalid=True)
    await setup.demo.login(conn)
    try:
        yield conn
    finally:
        await conn.aclose()
