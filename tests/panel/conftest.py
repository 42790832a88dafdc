"""Panel fixtures: the real demo clinic over loopback HTTP, a real encrypted store and one
shared process pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from panel_support import PanelSetup

from healthprep_desktop.sandbox.config import FaultConfig
from healthprep_desktop.store import Store
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
    clinic = DemoClinic(patients=30, seed=11, faults=FaultConfig())
    with clinic:
        yield clinic


@pytest.fixture
def setup(demo: DemoClinic) -> Iterator[PanelSetup]:
    store = Store.open()
    tenant = store.create_tenant("Panel clinic")
    connection_id = demo.ensure_connection(store, tenant.id)
    try:
        yield PanelSetup(store, store.tenant(tenant.id), connection_id, demo)
    finally:
        store.close()
